"""The replay viewer: a stream's states version by version, what each event changed, and its
snapshot markers; the data answer folds once from the newest usable snapshot per window."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from api import roles
from api.errors import status_for
from console.views.common import console_data, console_page, int_param, stream_id_param
from snapshots import services as snapshot_services
from snapshots.categories import reducer_for_category
from snapshots.diff import json_diff as diff
from snapshots.records import Snapshot
from snapshots.reducers import Reducer, describe_exception, reducer_error
from snapshots.state import (
    READ_BATCH,
    fold_at_version,
    state_at_time,
    state_known_at,
    version_known_at,
)
from streams import services
from streams.exceptions import FlipbookError, NotFound, ReducerError, Unavailable, ValidationError
from streams.personal_data.masking import mask_event_dict
from streams.records import NEUTRAL, RecordedEvent, StreamInfo
from streams.validation import validate_timestamp

BASES = ("natural", "recorded")
DEFAULT_WINDOW = 20
MAX_WINDOW = 100
MAX_MARKERS = 200
TIME_RULE = (
    "The time slider goes to the highest version whose events all happened by that time: "
    "each version counts at its event's natural time, a time-neutral event at its recorded "
    "time, and a version counts at the latest time of the events up to it (so an event dated "
    "in the future holds back every later version)."
)


@console_page
def replay(request: HttpRequest) -> HttpResponse:
    """The replay viewer page; the script fetches /data/replay around the cursor."""
    stream_id = request.GET.get("stream", "")
    context: dict[str, Any] = {"nav": "streams", "stream_id": stream_id, "head": None}
    status = 200
    if not stream_id:
        context["problem"] = "missing"
    else:
        try:
            context["head"] = services.stream_head(stream_id)
        except NotFound:
            context["problem"], status = "not_found", 404
        except ValidationError as exc:
            context["problem"], context["message"], status = "invalid", exc.message, 400
        except FlipbookError as exc:
            context["problem"], context["message"] = "error", exc.message
            status = status_for(exc)[0]
        else:
            if context["head"].kind == NEUTRAL:
                context["problem"] = "neutral"
    return render(request, "console/replay.html", context, status=status)


@console_data
def replay_data(request: HttpRequest) -> dict[str, Any]:
    """The states of versions N-K..N+K (``?stream=&version=N&window=K``; or ``&at=<time>``
    for the version reached by that time, or ``&at_event=<k>`` for the time of event k;
    ``basis=natural`` counts natural times, "as of", ``basis=recorded`` store times, "as
    known at"), their events and diffs, the head, and (unless ``overview=0``) the snapshot
    markers, the stream's time range and the dates of the time slider's axis."""
    stream_id = stream_id_param(request)
    window = int_param(request, "window", DEFAULT_WINDOW, minimum=0, maximum=MAX_WINDOW)
    head = services.stream_head(stream_id)
    if head.kind == NEUTRAL:
        raise ValidationError(
            "stream",
            f"stream {stream_id!r} is version-neutral: its events have no versions to step "
            "through; read it in the timeline, or ask for its latest state",
        )
    assert head.version is not None  # a versioned stream has one
    reducer = reducer_for_category(head.category)
    overview = int_param(request, "overview", 1, minimum=0, maximum=1) == 1
    basis = request.GET.get("basis") or "natural"
    if basis not in BASES:
        raise ValidationError("basis", "must be natural (as of) or recorded (as known at)")
    at_raw = request.GET.get("at", "")
    at_event = int_param(request, "at_event", None, minimum=1, maximum=head.version)
    if at_event is not None:
        # The time slider's stops are the events, evenly spaced: stop k is event k's time.
        picked = services.read_stream(
            stream_id, from_version=at_event, to_version=at_event, limit=1
        ).items
        if picked:
            moment = picked[0].recorded_at if basis == "recorded" else _natural(picked[0])
            at_raw = moment.isoformat()
    # Listing the snapshots costs a read of all of them: only the first load (markers, time
    # span) and time queries need it; the windows fetched while stepping do not.
    snapshots = _usable_snapshots(stream_id, reducer) if overview or at_raw else []
    answer: dict[str, Any] = {}
    if at_raw:
        at = validate_timestamp(at_raw, "at")
        assert at is not None  # not empty
        if basis == "recorded":
            reached = version_known_at(stream_id, at)
        else:
            reached = version_at_time(stream_id, at, snapshots)
        version = max(reached, 1)
        answer["at"] = {"at": at.isoformat(), "version": reached, "basis": basis}
    else:
        version = int_param(request, "version", 0, minimum=0) or head.version
    if version > head.version:
        raise NotFound(
            f"stream {stream_id!r} is at version {head.version}; version {version} does not "
            "exist yet",
            stream_id=stream_id,
            current_version=head.version,
        )
    low, high = max(1, version - window), min(head.version, version + window)
    steps, folded = replay_window(head, reducer, low, high)
    if not roles.may_see_personal(request.user):
        for step in steps:
            step["event"] = mask_event_dict(step["event"])
    answer.update(
        {
            "stream": {
                "id": stream_id,
                "kind": head.kind,
                "category": head.category,
                "head": head.version,
                "event_count": head.event_count,
                "reducer": reducer.kind,
                "revision": reducer.revision,
            },
            "version": version,
            "window": window,
            "from": low,
            "to": high,
            "folded": folded,
            "steps": steps,
        }
    )
    if overview:
        answer["snapshots"] = snapshot_markers(snapshots, head.version)
        # A window that ends at the head already knows when the head was reached.
        last = steps[-1]["reached_at"] if steps and high == head.version else None
        answer["time"] = time_range(stream_id, head, snapshots, last)
        answer["time"]["axis"] = time_axis(stream_id, head.version)
        answer["time"]["recorded_last"] = head.last_recorded_at.isoformat()
    return answer


@console_data
def state_at_data(request: HttpRequest) -> dict[str, Any]:
    """The state of ``stream`` at time ``at`` by its definition (snapshots/state.py):
    ``basis=natural`` folds every event dated by then in version order, skipping later-dated
    ones in between (what ``GET …/state?at=`` answers); ``basis=recorded`` every event
    recorded by then. The replay viewer asks for it after a time stop, beside the version
    prefix it shows: a fold that may read the whole stream stays off the stop's answer."""
    stream_id = stream_id_param(request)
    basis = request.GET.get("basis") or "natural"
    if basis not in BASES:
        raise ValidationError("basis", "must be natural (as of) or recorded (as known at)")
    at = validate_timestamp(request.GET.get("at") or None, "at")
    if at is None:
        raise ValidationError("at", "is required: an ISO 8601 date-time")
    state = state_known_at(stream_id, at) if basis == "recorded" else state_at_time(stream_id, at)
    return {
        "at": at.isoformat(),
        "basis": basis,
        "state": state.payload,
        "events_applied": state.events_applied,
        "events_read": state.events_read,
        "last_version": state.version,
    }


# -- the fold ---------------------------------------------------------------------------------


def replay_window(
    head: StreamInfo, reducer: Reducer, low: int, high: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The steps of versions ``low``..``high``: one fold to ``low - 1`` (from the newest
    usable snapshot), then one read of the window's events, each applied in turn. Returns
    the steps (version, event, state, diff, and ``reached_at``: the latest natural time of
    versions 1..version, which the time slider maps back to it; None when the snapshot the
    fold started from does not know its times) and how the start state was made."""
    reached: datetime | None = None  # the latest natural time of the versions so far
    if low > 1:
        start = fold_at_version(head, reducer, low - 1)
        state = start.payload  # normalised JSON, owned by this fold
        reached = start.timestamp
        folded: dict[str, Any] = {
            "snapshot_version": start.snapshot.version if start.snapshot else None,
            "events_read": start.events_read,
        }
    else:
        state = _as_json(reducer, reducer.initial(), None)
        folded = {"snapshot_version": None, "events_read": 0}
    times_known = low == 1 or reached is not None
    before = state
    steps = []
    expected = low
    # At most 2 * MAX_WINDOW + 1 events: one page, one query (no server-side cursor).
    window = services.read_stream(
        head.stream_id, from_version=low, to_version=high, limit=high - low + 1
    )
    for event in window.items:
        if event.version != expected:
            raise Unavailable(
                f"stream {head.stream_id!r} read returned version {event.version} where "
                f"{expected} was expected; retry"
            )
        expected += 1
        # The reducer may change its state in place: fold a copy, keep ``before`` intact.
        after = _as_json(reducer, reducer.step(json.loads(json.dumps(before)), event), event)
        if times_known:
            moment = _natural(event)
            reached = moment if reached is None or moment > reached else reached
        steps.append(
            {
                "version": event.version,
                "event": event.as_dict(),
                "state": after,
                "diff": diff(before, after),
                "reached_at": reached.isoformat() if times_known and reached else None,
            }
        )
        before = after
    folded["events_read"] += len(steps)
    return steps, folded


def _as_json(reducer: Reducer, state: Any, event: RecordedEvent | None) -> Any:
    try:
        return json.loads(json.dumps(state, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        if event is None:
            raise ReducerError(
                f"{reducer.source} produced an initial state that is not JSON; fix the reducer"
            ) from exc
        raise reducer_error(
            reducer, event, f"it returned a state that is not JSON ({describe_exception(exc)})"
        ) from exc


# -- snapshot markers and natural time --------------------------------------------------------


def _usable_snapshots(stream_id: str, reducer: Reducer) -> list[Snapshot]:
    """The stream's snapshots a fold may start from (its reducer's revision), by version."""
    return snapshot_services.list_snapshots(stream_id, revision=reducer.revision)


def snapshot_markers(snapshots: list[Snapshot], head_version: int) -> dict[str, Any]:
    """Markers for the slider: one per snapshot up to MAX_MARKERS; beyond that the versions
    are cut into MAX_MARKERS equal buckets, each marked at its first snapshot with a count."""
    total = len(snapshots)
    if total <= MAX_MARKERS:
        markers = [{"version": s.version, "count": 1, "label": s.label} for s in snapshots]
        return {"total": total, "aggregated": False, "markers": markers}
    width = max(1, -(-head_version // MAX_MARKERS))  # ceiling division
    buckets: dict[int, dict[str, Any]] = {}
    for s in snapshots:
        bucket = buckets.setdefault(
            (s.version - 1) // width, {"version": s.version, "count": 0, "label": ""}
        )
        bucket["count"] += 1
    return {
        "total": total,
        "aggregated": True,
        "bucket_versions": width,
        "markers": list(buckets.values()),
        "note": f"{total:,} snapshots: one marker per {width:,} versions, with its count",
    }


def _natural(event: RecordedEvent) -> datetime:
    return event.timestamp if event.timestamp is not None else event.recorded_at


def _timed(snapshots: list[Snapshot], at_or_before: int | None = None) -> Snapshot | None:
    for s in reversed(snapshots):
        if (at_or_before is None or s.version <= at_or_before) and (
            s.timestamp is not None and s.recorded_at is not None
        ):
            return s
    return None


def time_range(
    stream_id: str, head: StreamInfo, snapshots: list[Snapshot], last: str | None = None
) -> dict[str, Any]:
    """The natural-time span of the slider: the first version's time and the latest time
    reached at the head (``last`` when the caller knows it; else read from the newest
    snapshot that knows its times, then its later events, so a policy keeps it short)."""
    first = services.read_stream(stream_id, from_version=1, to_version=1, limit=1).items
    if last is None:
        start = _timed(snapshots)
        latest = start.timestamp if start is not None else None
        for event in services.iter_stream(
            stream_id, from_version=start.version + 1 if start else 1, batch_size=READ_BATCH
        ):
            moment = _natural(event)
            latest = moment if latest is None or moment > latest else latest
        last = latest.isoformat() if latest else None
    return {
        "first": _natural(first[0]).isoformat() if first else None,
        "last": last,
        "rule": TIME_RULE,
    }


def time_axis(stream_id: str, head_version: int, stops: int = 7) -> list[dict[str, Any]]:
    """Dates for the time slider's axis, which spaces the events evenly: the natural and
    store times of ``stops`` versions at even steps from 1 to the head (one read each)."""
    count = min(stops, head_version)
    versions = sorted({1 + round(i * (head_version - 1) / max(count - 1, 1)) for i in range(count)})
    axis = []
    for version in versions:
        found = services.read_stream(
            stream_id, from_version=version, to_version=version, limit=1
        ).items
        if found:
            axis.append(
                {
                    "version": version,
                    "natural": _natural(found[0]).isoformat(),
                    "recorded": found[0].recorded_at.isoformat(),
                }
            )
    return axis


def version_at_time(stream_id: str, at: datetime, snapshots: list[Snapshot]) -> int:
    """The highest version whose events all happened by ``at`` (0: not even the first): a
    snapshot's timestamp is the latest time of the events it holds, so start at the newest
    snapshot dated by ``at`` and read on until the first event dated after it (a policy
    keeps that read shorter than its interval)."""
    start = next(
        (
            s
            for s in reversed(snapshots)
            if s.timestamp is not None and s.recorded_at is not None and s.timestamp <= at
        ),
        None,
    )
    version = start.version if start is not None else 0
    for event in services.iter_stream(stream_id, from_version=version + 1, batch_size=500):
        if _natural(event) > at:
            break
        assert event.version is not None  # a versioned stream's events have one
        version = event.version
    return version
