"""The feed browser and event search: the global feed with filters (category, event name, id
prefix, natural-time window, metadata key = value), paged by position both ways (the page
keeps the positions it came through), any event opened, and the filtered feed exported as
JSON Lines or CSV, streamed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from api import roles
from api.errors import error_body, status_for
from console.views.common import console_data, console_page, event_json, int_param, logged_out
from snapshots.models import Category
from streams import search, services
from streams.conf import flipbook_settings
from streams.exceptions import FlipbookError, NotFound, PermissionDenied, ValidationError
from streams.personal_data.masking import mask_event
from streams.records import RecordedEvent
from subscriptions.feed import feed_head

PAGE_SIZE = 50
FILTERS = ("category", "name", "id", "since", "until", "metadata")
CSV_COLUMNS = (
    "position",
    "stream_id",
    "version",
    "name",
    "id",
    "timestamp",
    "recorded_at",
    "payload",
    "metadata",
)
EXPORT_CHUNK = 500  # rows per chunk written to the socket


def export_enabled() -> bool:
    """Whether the console may export at all (FLIPBOOK_CONSOLE_EXPORT, an operator's choice);
    each user also needs the export permission (api/roles.py)."""
    return bool(flipbook_settings.CONSOLE_EXPORT)


@console_page
def feed(request: HttpRequest) -> HttpResponse:
    """The feed browser page; its script fetches /data/feed."""
    configured = Category.objects.values_list("name", flat=True)
    return render(
        request,
        "console/feed.html",
        {
            "nav": "feed",
            "categories": sorted({*services.stream_categories(), *configured}),
            "values": {key: request.GET.get(key, "") for key in (*FILTERS, "after")},
            "export": roles.may_export(request.user),
            "masked": not roles.may_see_personal(request.user),
        },
    )


def query_from(request: HttpRequest) -> search.FeedFilter:
    """The validated filters of the query string."""
    get = request.GET.get
    return search.feed_filter(
        category=get("category") or None,
        name=get("name") or None,
        id_prefix=(get("id") or "").strip() or None,
        since=get("since") or None,
        until=get("until") or None,
        metadata=get("metadata") or None,
    )


@console_data
def feed_data(request: HttpRequest) -> dict[str, Any]:
    """A page of the filtered feed after position ``after`` (``limit`` 1–200): its events,
    ``next_after`` (where the next page starts; equal to ``after`` at the feed's end) and,
    with ``head=1``, ``head`` (the feed's settled head, where the page's live updates start:
    a few one-event reads, so asked for once per search, not per page)."""
    query = query_from(request)
    after = int_param(request, "after", 0, minimum=0)
    limit = int_param(request, "limit", PAGE_SIZE, minimum=1, maximum=200)
    page = search.search_feed(query, after=after, limit=limit)
    as_json = event_json(request)
    return {
        "after": after,
        "events": [as_json(e) for e in page.events],
        "next_after": page.next_after,
        "head": feed_head(page.next_after) if request.GET.get("head") == "1" else None,
        "more": page.next_after > after and (len(page.events) == limit or query.checks_events),
    }


@console_data
def event_data(request: HttpRequest) -> dict[str, Any]:
    """One event by its position in the feed (``?position=``)."""
    position = int_param(request, "position", 1, minimum=1)
    page = services.read_all(after=position - 1, limit=1)
    if not page.events or page.events[0].position != position:
        raise NotFound(f"no event at position {position}")
    return event_json(request)(page.events[0])


def export(request: HttpRequest) -> HttpResponseBase:
    """The filtered feed as JSON Lines (``format=jsonl``) or CSV (``format=csv``), streamed a
    chunk at a time: constant memory whatever its size. Session login required; refused
    (403) when FLIPBOOK_CONSOLE_EXPORT is off or the user's role may not export. Personal
    fields are masked unless the user may see them."""
    if not request.user.is_authenticated:
        return logged_out()
    try:
        if not export_enabled():
            raise PermissionDenied("exports are switched off on this server")
        if not roles.may_export(request.user):
            raise PermissionDenied(
                "your role may not export events: ask an admin for the export permission"
            )
        fmt = request.GET.get("format", "jsonl")
        if fmt not in ("jsonl", "csv"):
            raise ValidationError("format", "must be jsonl or csv")
        query = query_from(request)
        after = int_param(request, "after", 0, minimum=0)
    except FlipbookError as exc:
        return JsonResponse(error_body(exc), status=status_for(exc)[0])
    rows = search.iter_feed(query, after=after)
    if not roles.may_see_personal(request.user):
        rows = map(mask_event, rows)
    chunks = _csv_chunks(rows) if fmt == "csv" else _jsonl_chunks(rows)
    response = StreamingHttpResponse(
        _async_chunks(chunks),
        content_type="text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson",
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="flipbook-feed-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


def _jsonl_chunks(rows: Iterator[RecordedEvent]) -> Iterator[bytes]:
    lines: list[str] = []
    for event in rows:
        lines.append(json.dumps(event.as_dict(), ensure_ascii=False))
        if len(lines) == EXPORT_CHUNK:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def _csv_chunks(rows: Iterator[RecordedEvent]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for count, event in enumerate(rows, 1):
        data = event.as_dict()
        data["payload"] = json.dumps(event.payload, ensure_ascii=False)
        data["metadata"] = json.dumps(event.metadata, ensure_ascii=False)
        writer.writerow(["" if data[c] is None else data[c] for c in CSV_COLUMNS])
        if count % EXPORT_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # A sync iterator would be read whole into memory under ASGI: pull one chunk at a time,
    # each in the thread that owns the database connection.
    def pull() -> bytes | None:
        return next(chunks, None)

    while True:
        chunk = await sync_to_async(pull)()
        if chunk is None:
            return
        yield chunk
