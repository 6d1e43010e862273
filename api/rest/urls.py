"""Routes of REST v1 (mounted at /api/v1/), its OpenAPI schema and its offline docs."""

from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authentication import SessionAuthentication

from api.rest import erasure, retention, state_views, stream_route, subscriptions, views
from api.rest.routing import StreamIdConverter

app_name = "v1"
register_converter(StreamIdConverter, "stream_id")

urlpatterns = [
    path("streams/", views.StreamListView.as_view(), name="stream-list"),
    # Every path under streams/<id> has this one route: a stream id may hold "/", so the id
    # and the operation are read from the raw path (api/rest/routing.py), not by patterns.
    path("streams/<stream_id:path>", stream_route.stream_route_view, name="stream-route"),
    # What the OpenAPI schema documents, one path per operation. The route above takes every
    # request first, so these never route; they exist for the schema generator and reverse().
    path(
        "streams/<stream_id:stream_id>/events/latest",
        views.LatestEventView.as_view(),
        name="stream-latest",
    ),
    path(
        "streams/<stream_id:stream_id>/events",
        views.StreamEventsView.as_view(),
        name="stream-events",
    ),
    path(
        "streams/<stream_id:stream_id>/state",
        state_views.StreamStateView.as_view(),
        name="stream-state",
    ),
    path(
        "streams/<stream_id:stream_id>/snapshots/latest",
        state_views.LatestSnapshotView.as_view(),
        name="stream-snapshot-latest",
    ),
    path(
        "streams/<stream_id:stream_id>/snapshots",
        state_views.SnapshotsView.as_view(),
        name="stream-snapshots",
    ),
    path(
        "streams/<stream_id:stream_id>/retention",
        retention.StreamRetentionView.as_view(),
        name="stream-retention",
    ),
    path("streams/<stream_id:stream_id>", views.StreamView.as_view(), name="stream-detail"),
    path("commits", views.CommitView.as_view(), name="commit"),
    path("events", views.AllEventsView.as_view(), name="all-events"),
    path("erasures", erasure.ErasureView.as_view(), name="erasures"),
    path("scavenges", retention.ScavengeView.as_view(), name="scavenges"),
    path(
        "subscriptions/",
        subscriptions.SubscriptionListView.as_view(),
        name="subscription-list",
    ),
    path(
        "subscriptions/<str:name>",
        subscriptions.SubscriptionDetailView.as_view(),
        name="subscription-detail",
    ),
    path("subscriptions/<str:name>/next", subscriptions.next_view, name="subscription-next"),
    path(
        "subscriptions/<str:name>/ack",
        subscriptions.SubscriptionAckView.as_view(),
        name="subscription-ack",
    ),
    path(
        "subscriptions/<str:name>/nack",
        subscriptions.SubscriptionNackView.as_view(),
        name="subscription-nack",
    ),
    path(
        "subscriptions/<str:name>/reset",
        subscriptions.SubscriptionResetView.as_view(),
        name="subscription-reset",
    ),
    path(
        "subscriptions/<str:name>/pause",
        subscriptions.SubscriptionPauseView.as_view(),
        name="subscription-pause",
    ),
    path(
        "subscriptions/<str:name>/resume",
        subscriptions.SubscriptionResumeView.as_view(),
        name="subscription-resume",
    ),
    path(
        "subscriptions/<str:name>/parked",
        subscriptions.ParkedListView.as_view(),
        name="subscription-parked",
    ),
    path(
        "subscriptions/<str:name>/parked/<int:position>/retry",
        subscriptions.ParkedRetryView.as_view(),
        name="subscription-parked-retry",
    ),
    path(
        "subscriptions/<str:name>/parked/<int:position>/skip",
        subscriptions.ParkedSkipView.as_view(),
        name="subscription-parked-skip",
    ),
    path(
        "subscriptions/<str:name>/parked/<int:position>/replay",
        subscriptions.ParkedReplayView.as_view(),
        name="subscription-parked-replay",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        # Its own template: under the console's bar, in its theme, with its favicon; the
        # console's session (not an API key) says who reads it, for the health strip.
        SpectacularSwaggerView.as_view(
            url_name="api:v1:schema",
            template_name="rest/swagger_ui.html",
            authentication_classes=[SessionAuthentication],
        ),
        name="docs",
    ),
    path(
        "redoc/",
        # Its own template: drf-spectacular's links Google Fonts, and the docs work offline.
        SpectacularRedocView.as_view(
            url_name="api:v1:schema",
            template_name="rest/redoc.html",
            authentication_classes=[SessionAuthentication],
        ),
        name="redoc",
    ),
]
