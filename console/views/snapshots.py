"""The snapshots of a stream: the list, the drift check and the rebuild (streamed progress)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from api import roles
from api.audit import record_user_action
from api.errors import error_body, status_for
from console.views.common import console_page, logged_out, stream_id_param
from snapshots import policy
from snapshots import services as snapshot_services
from snapshots.categories import reducer_for_category
from snapshots.records import Snapshot
from streams import services
from streams.exceptions import FlipbookError, NotFound, PermissionDenied, ValidationError
from streams.records import NEUTRAL

SHOWN = 200  # snapshots listed on the page, newest first
HEARTBEAT_SECONDS = 1.0


def source_of(snapshot: Snapshot) -> str:
    """Who made a snapshot: the category policy, a rebuild, a client through the API (no
    store time: it was not folded here), or a take (the API's or the admin's)."""
    if snapshot.recorded_at is None:
        return "client"
    if snapshot.label == policy.POLICY_LABEL:
        return "policy"
    if snapshot.label == "rebuilt":
        return "rebuild"
    return "taken"


@console_page
def snapshots(request: HttpRequest) -> HttpResponse:
    """The list of a stream's snapshots (newest first), its policy, and the drift panel."""
    stream_id = request.GET.get("stream", "")
    context: dict[str, Any] = {"nav": "streams", "stream_id": stream_id, "head": None}
    status = 200
    if not stream_id:
        context["problem"] = "missing"
        return render(request, "console/snapshots.html", context)
    try:
        head = services.stream_head(stream_id)
        context["head"] = head
        if head.kind == NEUTRAL:
            context["problem"] = "neutral"
        else:
            reducer = reducer_for_category(head.category)
            found = snapshot_services.list_snapshots(stream_id)
            rows = [
                {
                    "version": s.version,
                    "revision": s.revision,
                    "current": s.revision == reducer.revision,
                    "label": s.label,
                    "created_at": s.created_at,
                    "timestamp": s.timestamp,
                    "expires_at": s.expires_at,
                    "size": len(json.dumps(s.payload, separators=(",", ":")).encode()),
                    "source": source_of(s),
                }
                for s in reversed(found[-SHOWN:])
            ]
            context.update(
                {
                    "rows": rows,
                    "total": len(found),
                    "shown": len(rows),
                    "reducer": reducer,
                    "every": policy.snapshot_every(head.category),
                }
            )
    except NotFound as exc:
        context["problem"], context["message"], status = "not_found", exc.message, 404
    except ValidationError as exc:
        context["problem"], context["message"], status = "invalid", exc.message, 400
    except FlipbookError as exc:
        context["problem"], context["message"] = "error", exc.message
        status = status_for(exc)[0]
    context["can_rebuild"] = roles.may(request.user, roles.REBUILD)
    return render(request, "console/snapshots.html", context, status=status)


@require_http_methods(["GET", "POST"])
def drift(request: HttpRequest) -> HttpResponseBase:
    """GET checks the stream's snapshots against its events, POST (CSRF) rebuilds the
    drifted ones, through the snapshot service. The answer is NDJSON, one line at a time:
    ``{"type": "progress", ...}`` (at least every second), then ``{"type": "result", ...}``
    or ``{"type": "error", "error": {...}}``. Errors before the work starts are plain JSON
    with the API's status."""
    if not request.user.is_authenticated:
        return logged_out()
    if request.method == "POST":
        try:
            roles.require(request.user, roles.REBUILD)
        except PermissionDenied as denied:
            return JsonResponse(error_body(denied), status=status_for(denied)[0])
    try:
        stream_id = stream_id_param(request)
        head = services.stream_head(stream_id)
        if head.kind == NEUTRAL:
            raise ValidationError(
                "stream", f"stream {stream_id!r} is version-neutral and has no snapshots"
            )
    except FlipbookError as exc:
        return JsonResponse(error_body(exc), status=status_for(exc)[0])
    assert head.version is not None  # a versioned stream has one
    rebuild = request.method == "POST"
    if rebuild:
        record_user_action(request, "console", "snapshot.rebuild", stream_id)
    response = StreamingHttpResponse(
        _drift_lines(stream_id, rebuild, head.version), content_type="application/x-ndjson"
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # a proxy must pass progress lines on at once
    return response


# Its response streams from an async iterator: served on the event loop, not a worker thread
# (flipbook_site/http.py).
drift.serve_on_event_loop = True  # type: ignore[attr-defined]


async def _drift_lines(stream_id: str, rebuild: bool, head_version: int) -> AsyncIterator[bytes]:
    """Run the check in a worker thread (it may read a long stream) and pass its progress
    on as lines, with a heartbeat so the page can show the time spent."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def put(item: tuple) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def work() -> None:
        try:
            report = snapshot_services.check_snapshots(
                [stream_id], rebuild=rebuild, progress=lambda p: put(("progress", p))
            )
            put(("done", report))
        except Exception as exc:  # reported in the stream; the status line is already sent
            put(("error", exc))
        finally:
            connections.close_all()  # this worker thread's own connections

    started = time.monotonic()
    task = asyncio.ensure_future(sync_to_async(work, thread_sensitive=False)())
    yield _line(
        {"type": "started", "action": "rebuild" if rebuild else "check", "total": head_version}
    )
    events_read = 0
    while True:
        try:
            kind, value = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
        except TimeoutError:
            yield _line(_progress(events_read, head_version, started))
            continue
        if kind == "progress":
            events_read = value.events_read
            yield _line(_progress(events_read, head_version, started))
        elif kind == "done":
            yield _line({"type": "result", **_report(value, rebuild)})
            break
        else:
            yield _line({"type": "error", **error_body(value)})
            break
    await task


def _progress(events_read: int, total: int, started: float) -> dict[str, Any]:
    return {
        "type": "progress",
        "events_read": events_read,
        "total": total,
        "seconds": round(time.monotonic() - started, 1),
    }


def _report(report: snapshot_services.DriftReport, rebuild: bool) -> dict[str, Any]:
    return {
        "action": "rebuild" if rebuild else "check",
        "ok": report.ok,
        "snapshots_checked": report.snapshots_checked,
        "events_read": report.events_read,
        "seconds": round(report.seconds, 3),
        "rebuilt": report.rebuilt,
        "deleted": report.deleted,
        "findings": [f.as_dict() for f in report.findings[:100]],
        "more_findings": max(0, len(report.findings) - 100),
    }


def _line(data: dict[str, Any]) -> bytes:
    return (json.dumps(data) + "\n").encode()
