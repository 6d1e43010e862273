"""WebSocket routes of the event bus (mounted by flipbook_site/asgi.py)."""

from django.urls import re_path

from console import consumers

# Channels routes ASGI applications with Django's re_path, whose stubs take only views: hence
# the ignores.
websocket_urlpatterns = [
    re_path(r"^ws/events/?$", consumers.EventFeedConsumer.as_asgi()),  # type: ignore[arg-type]
    re_path(
        r"^ws/categories/(?P<category>[^/]+)/?$",
        consumers.CategoryConsumer.as_asgi(),  # type: ignore[arg-type]
    ),
    # The id is one percent-encoded segment; a decoded path may hold its slashes again.
    re_path(
        r"^ws/streams/(?P<stream_id>.+)$",
        consumers.StreamConsumer.as_asgi(),  # type: ignore[arg-type]
    ),
    # The id in the query string: ?stream_id=
    re_path(r"^ws/streams/?$", consumers.StreamConsumer.as_asgi()),  # type: ignore[arg-type]
]
