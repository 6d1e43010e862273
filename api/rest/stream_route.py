"""The one route of every path under ``streams/<id>``: reads the stream id and operation once
(api/rest/routing.py) and hands the request to that operation's view."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from api.rest.retention import StreamRetentionView
from api.rest.routing import resolve_stream_route
from api.rest.state_views import LatestSnapshotView, SnapshotsView, StreamStateView
from api.rest.views import LatestEventView, StreamEventsView, StreamView


def stream_views() -> dict[str, Any]:
    """The view of each operation under ``streams/<id>``."""
    global _STREAM_VIEWS
    if _STREAM_VIEWS is None:
        _STREAM_VIEWS = {
            "stream": StreamView.as_view(),
            "events": StreamEventsView.as_view(),
            "latest": LatestEventView.as_view(),
            "state": StreamStateView.as_view(),
            "snapshots": SnapshotsView.as_view(),
            "snapshot_latest": LatestSnapshotView.as_view(),
            "retention": StreamRetentionView.as_view(),
        }
    return _STREAM_VIEWS


_STREAM_VIEWS: dict[str, Any] | None = None


@csrf_exempt  # as every DRF view: session-authenticated requests are checked by DRF itself
def stream_route_view(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
    """The one route of every path under ``streams/<id>``: the stream id and operation are
    read once, from the raw path when the server passes it (ids may hold "/"), and the
    request goes to that operation's view."""
    route = resolve_stream_route(request)
    return stream_views()[route.operation](request, route=route)
