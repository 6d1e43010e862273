"""Routes of the browser console. Streams are named by ``?stream=<id>`` (ids hold slashes)."""

from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from console.throttle import ThrottledAuthenticationForm
from console.views import audit, dashboard, explorer, feed, lifecycle, subscriptions, timeline
from console.views import replay as replay_views
from console.views import snapshots as snapshot_views

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("subscriptions/", subscriptions.subscriptions_page, name="subscriptions"),
    path("subscriptions/parked/", subscriptions.parked_triage, name="parked-triage"),
    path("data/subscriptions", subscriptions.subscriptions_fragment, name="subscriptions-data"),
    path("data/health", dashboard.health_data, name="health-data"),
    path("audit/", audit.audit, name="audit"),
    path("", dashboard.dashboard, name="dashboard"),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("data/dashboard", dashboard.dashboard_data, name="dashboard-data"),
    path("streams/", explorer.explorer, name="explorer"),
    path("data/streams", explorer.streams_data, name="streams-data"),
    path("feed/", feed.feed, name="feed"),
    path("data/feed", feed.feed_data, name="feed-data"),
    path("data/event", feed.event_data, name="event-data"),
    path("feed/export", feed.export, name="feed-export"),
    path("timeline/", timeline.timeline, name="timeline"),
    path("streams/delete", lifecycle.delete_stream, name="stream-delete"),
    path("data/events", timeline.events_data, name="events-data"),
    path("replay/", replay_views.replay, name="replay"),
    path("data/replay", replay_views.replay_data, name="replay-data"),
    path("data/replay/state-at", replay_views.state_at_data, name="replay-state-at"),
    path("snapshots/", snapshot_views.snapshots, name="snapshots"),
    path("data/snapshots/drift", snapshot_views.drift, name="snapshots-drift"),
]
