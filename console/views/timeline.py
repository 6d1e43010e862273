"""The timeline of one stream: newest events first, live, filtered by name and natural time,
from a version down."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.views.common import console_data, console_page, int_param, stream_id_param
from streams import services
from streams.exceptions import ValidationError
from streams.validation import validate_name

PAGE_SIZE = 50
# With a name filter, at most this many events are read for one answer; the cursor goes on.
SCAN_MAX = 2000


@console_page
def timeline(request: HttpRequest) -> HttpResponse:
    stream_id = request.GET.get("stream", "")
    return render(
        request,
        "console/timeline.html",
        {
            "nav": "streams",
            "stream_id": stream_id,
            "name": request.GET.get("name", ""),
            "since": request.GET.get("since", ""),
            "until": request.GET.get("until", ""),
            "version": request.GET.get("version", ""),
            "can_delete": request.user.is_staff,
        },
    )


@console_data
def events_data(request: HttpRequest) -> dict[str, Any]:
    """A page of a stream's events, newest first: ``stream`` (required), ``name``, ``since``
    and ``until`` (natural time, ISO 8601), ``version`` (start at that version and go down),
    ``limit`` (1–200), ``cursor``. With the stream's head (404 when it has no events)."""
    stream_id = stream_id_param(request)
    name = request.GET.get("name") or None
    if name is not None:
        name = validate_name(name, "name")
    version = int_param(request, "version")
    if version is not None and version < 1:
        raise ValidationError("version", "must be 1 or more")
    limit = int_param(request, "limit", PAGE_SIZE)
    if not 1 <= limit <= 200:
        raise ValidationError("limit", "must be between 1 and 200")
    since = request.GET.get("since") or None
    until = request.GET.get("until") or None
    if version is not None and (since or until):
        raise ValidationError("version", "pick a version or a time window, not both")
    head = services.stream_head(stream_id)
    cursor = request.GET.get("cursor") or None
    events: list[dict] = []
    scanned = 0
    while True:
        page = services.read_stream(
            stream_id,
            to_version=version,
            since=since,
            until=until,
            direction="backwards",
            limit=limit,
            cursor=cursor,
        )
        scanned += len(page.items)
        events += [e.as_dict() for e in page.items if name is None or e.name == name]
        cursor = page.next_cursor
        if cursor is None or len(events) >= limit or scanned >= SCAN_MAX:
            break
    return {"stream": head.as_dict(), "events": events, "next_cursor": cursor}
