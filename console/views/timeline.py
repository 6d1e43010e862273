"""The timeline of one stream: newest events first, live, filtered by name and a time window
(natural time: "as of"; or store time: "as known at"), or from a version (or position) up."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.views.common import (
    console_data,
    console_page,
    event_json,
    int_param,
    stream_id_param,
)
from streams import services
from streams.exceptions import ValidationError
from streams.records import RecordedEvent
from streams.validation import validate_name, validate_timestamp

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
            "time": "recorded" if request.GET.get("time") == "recorded" else "natural",
            "can_delete": request.user.is_staff,
        },
    )


@console_data
def events_data(request: HttpRequest) -> dict[str, Any]:
    """A page of a stream's events: ``stream`` (required), ``name``, ``since`` and ``until``
    (ISO 8601; natural time, or store time with ``time=recorded``), ``limit`` (1–200),
    ``cursor``. Newest first; with ``version`` the page starts at that version (a position on
    a version-neutral stream) and goes up (``order: ascending``). With the stream's head (404
    when it has no events)."""
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
    time_field = request.GET.get("time") or "natural"
    if time_field not in ("natural", "recorded"):
        raise ValidationError("time", "must be natural or recorded")
    since = request.GET.get("since") or None
    until = request.GET.get("until") or None
    if version is not None and (since or until):
        raise ValidationError("version", "pick a version or a time window, not both")
    # "As known at": the store time window is checked here on each event (the store reads
    # by natural time only); recorded times only grow along a stream.
    known_since = validate_timestamp(since, "since") if time_field == "recorded" else None
    known_until = validate_timestamp(until, "until") if time_field == "recorded" else None
    if time_field == "recorded":
        since = until = None
    head = services.stream_head(stream_id)
    cursor = request.GET.get("cursor") or None
    ascending = version is not None

    def wanted(event: RecordedEvent) -> bool:
        if name is not None and event.name != name:
            return False
        if known_since is not None and event.recorded_at < known_since:
            return False
        return known_until is None or event.recorded_at <= known_until

    as_json = event_json(request)
    events: list[dict] = []
    scanned = 0
    while True:
        page = services.read_stream(
            stream_id,
            from_version=version,
            since=since,
            until=until,
            direction="forwards" if ascending else "backwards",
            limit=limit,
            cursor=cursor,
        )
        scanned += len(page.items)
        events += [as_json(e) for e in page.items if wanted(e)]
        cursor = page.next_cursor
        if cursor is None or len(events) >= limit or scanned >= SCAN_MAX:
            break
        if known_since is not None and page.items and page.items[-1].recorded_at < known_since:
            cursor = None  # going back in store time: nothing older can match
            break
    return {
        "stream": head.as_dict(),
        "events": events,
        "next_cursor": cursor,
        "order": "ascending" if ascending else "descending",
    }
