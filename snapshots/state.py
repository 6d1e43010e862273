"""The state of a stream as of a version or a natural time: its category's reducer folded over
its events, starting from the newest usable snapshot, so the work is proportional to the
events after that snapshot. Part of the store service; REST, gRPC and the console call it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from snapshots.backends import get_snapshot_store
from snapshots.backends.base import BaseSnapshotStore
from snapshots.categories import reducer_for_category
from snapshots.records import Snapshot
from snapshots.reducers import Reducer, describe_exception, reducer_error
from snapshots.rules import copy_json
from streams import services
from streams.exceptions import NotFound, ReducerError, Unavailable, ValidationError
from streams.records import NEUTRAL, RecordedEvent, StreamInfo
from streams.validation import validate_int, validate_stream_id, validate_timestamp

logger = logging.getLogger("flipbook.state")
READ_BATCH = 5000
END_OF_TIME = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class State:
    """A reduced state and how it was made.

    ``version`` is the version of the last event folded in (0: none; None on a
    version-neutral stream). ``snapshot`` is the snapshot the fold started from (None: from
    the first event); ``events_read`` counts the events read from the store after it and
    ``events_applied`` those folded in (fewer on a time query, which skips later ones).
    ``timestamp`` is the newest natural time among the folded events (a time-neutral event
    counts at its recorded time) and ``recorded_at`` the newest store time; both None when
    unknown (no events, or a client's snapshot)."""

    stream_id: str
    version: int | None
    payload: Any
    category: str | None
    reducer: str
    revision: str
    snapshot: Snapshot | None
    events_read: int
    events_applied: int
    timestamp: datetime | None
    recorded_at: datetime | None
    at: datetime | None = None
    known_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "version": self.version,
            "state": self.payload,
            "category": self.category,
            "reducer": self.reducer,
            "revision": self.revision,
            "snapshot": self.snapshot.as_dict(payload=False) if self.snapshot else None,
            "events_read": self.events_read,
            "events_applied": self.events_applied,
            "timestamp": _iso(self.timestamp),
            "recorded_at": _iso(self.recorded_at),
            "at": _iso(self.at),
            "known_at": _iso(self.known_at),
        }


def state_at_version(
    stream_id: str, version: int | None = None, *, use_snapshots: bool = True
) -> State:
    """Return the state of a stream as of ``version`` (None or 0: its latest version): the
    category's reducer folded over events 1..version, from the newest snapshot of the same
    reducer revision at or below it. ``use_snapshots=False`` folds from the first event.

    Raises NotFound (no such stream, or the version is beyond its head: the error names the
    current version), ValidationError (a bad argument; a version on a version-neutral
    stream) or ReducerError (the reducer failed or returned a state that is not JSON)."""
    stream_id = validate_stream_id(stream_id)
    if version is not None:
        version = validate_int(version, "version", minimum=0) or None
    head = services.stream_head(stream_id)
    reducer = reducer_for_category(head.category)
    return fold_at_version(head, reducer, version, use_snapshots=use_snapshots)


def state_at_time(
    stream_id: str,
    at: datetime | str | None,
    known_at: datetime | str | None = None,
    *,
    use_snapshots: bool = True,
) -> State:
    """Return the state of a stream as of natural time ``at``: the reducer folded, in version
    order, over the events whose timestamp is <= ``at`` plus the time-neutral events recorded
    <= ``at``. With ``known_at`` (bitemporal) only events recorded <= ``known_at`` count:
    the state as of ``at`` as the store knew it then. Starts from the newest snapshot that
    holds only such events. A stream with no such events has its reducer's initial state at
    version 0. Raises NotFound, ValidationError (``at`` None too) or ReducerError as
    :func:`state_at_version`."""
    stream_id = validate_stream_id(stream_id)
    moment = validate_timestamp(at, "at")
    if moment is None:
        raise ValidationError("at", "is required: an ISO 8601 date-time")
    known = validate_timestamp(known_at, "known_at")
    head = services.stream_head(stream_id)
    reducer = reducer_for_category(head.category)

    def included(event: RecordedEvent) -> bool:
        natural = event.timestamp if event.timestamp is not None else event.recorded_at
        return natural <= moment and (known is None or event.recorded_at <= known)

    snapshot = None
    if use_snapshots and head.kind != NEUTRAL:
        snapshot = _find_snapshot(
            lambda store: store.latest_for_time(
                stream_id, revision=reducer.revision, at=moment, known_at=known
            )
        )

    def events() -> Iterator[RecordedEvent]:
        if snapshot is None:
            return services.iter_stream(stream_id, batch_size=READ_BATCH)
        return services.iter_stream(
            stream_id, from_version=snapshot.version + 1, batch_size=READ_BATCH
        )

    return _fold(head, reducer, snapshot, events, included, at=moment, known_at=known)


def state_known_at(
    stream_id: str, known_at: datetime | str | None, *, use_snapshots: bool = True
) -> State:
    """Return the state of a stream as known at store time ``known_at``: the reducer folded,
    in version order, over the events recorded <= ``known_at``, whatever their natural
    times (the other axis of "state as of time T", which counts events by natural time).
    What a reader of the store would have folded at that moment. Raises as
    :func:`state_at_time`."""
    known = validate_timestamp(known_at, "known_at")
    if known is None:
        raise ValidationError("known_at", "is required: an ISO 8601 date-time")
    return state_at_time(stream_id, END_OF_TIME, known, use_snapshots=use_snapshots)


def version_known_at(stream_id: str, known_at: datetime | str) -> int:
    """The highest version of a versioned stream whose events 1..version were all recorded
    by store time ``known_at`` (0: not even the first). Commits store a stream's versions in
    order, so this is the version a reader saw at that moment. Starts from the newest
    snapshot made by then and reads on until the first event recorded after it."""
    stream_id = validate_stream_id(stream_id)
    known = validate_timestamp(known_at, "known_at")
    if known is None:
        raise ValidationError("known_at", "is required: an ISO 8601 date-time")
    head = services.stream_head(stream_id)
    if head.kind == NEUTRAL:
        raise ValidationError("stream", f"stream {stream_id!r} is version-neutral: no versions")
    reducer = reducer_for_category(head.category)
    snapshot = _find_snapshot(
        lambda store: store.latest_for_time(
            stream_id, revision=reducer.revision, at=END_OF_TIME, known_at=known
        )
    )
    version = snapshot.version if snapshot is not None else 0
    for event in services.iter_stream(stream_id, from_version=version + 1, batch_size=500):
        if event.recorded_at > known:
            break
        assert event.version is not None  # a versioned stream's events have one
        version = event.version
    return version


def reducer_for_stream(stream_id: str) -> Reducer:
    """Return the reducer that folds a stream (its category's). Raises NotFound or
    ReducerError (a broken category configuration)."""
    return reducer_for_category(services.stream_head(stream_id).category)


# -- internals shared with the snapshot service -----------------------------------------------


def fold_at_version(
    head: StreamInfo,
    reducer: Reducer,
    version: int | None,
    *,
    use_snapshots: bool = True,
    need_times: bool = False,
) -> State:
    """The state of ``head``'s stream at ``version`` (None: its head) with ``reducer``, for
    the snapshot service. ``need_times`` starts only from snapshots whose natural and store
    times are known, so the result's are too (a snapshot made of it may serve time queries).
    Raises as :func:`state_at_version`."""
    stream_id = head.stream_id
    if head.kind == NEUTRAL:
        if version is not None:
            raise ValidationError(
                "version",
                f"stream {stream_id!r} is version-neutral: its events have no versions; ask "
                "for its latest state (no version) or its state at a time",
            )
        return _fold(
            head, reducer, None, lambda: services.iter_stream(stream_id, batch_size=READ_BATCH)
        )
    assert head.version is not None  # a versioned stream has one
    target = version or head.version
    if target > head.version:
        raise NotFound(
            f"stream {stream_id!r} is at version {head.version}; version {target} does not "
            "exist yet",
            stream_id=stream_id,
            current_version=head.version,
        )
    snapshot = None
    if use_snapshots:
        if need_times:
            snapshot = _find_snapshot(
                lambda store: store.latest_for_time(
                    stream_id, revision=reducer.revision, at=END_OF_TIME, at_or_before=target
                )
            )
        else:
            snapshot = _find_snapshot(
                lambda store: store.latest(
                    stream_id, revision=reducer.revision, at_or_before=target
                )
            )

    def events() -> Iterator[RecordedEvent]:
        if snapshot is not None and snapshot.version == target:
            return iter(())
        start = snapshot.version + 1 if snapshot is not None else 1
        return _contiguous(
            services.iter_stream(
                stream_id, from_version=start, to_version=target, batch_size=READ_BATCH
            ),
            start,
        )

    state = _fold(head, reducer, snapshot, events)
    if state.version != target:
        # The events between the snapshot and the target were not all there: never claim a
        # version whose state was not folded.
        raise Unavailable(
            f"stream {stream_id!r} read ended at version {state.version}, not {target}; retry"
        )
    return state


def _find_snapshot(lookup: Callable[[BaseSnapshotStore], Snapshot | None]) -> Snapshot | None:
    """A snapshot from the store, or None when the store is unavailable: snapshots only make
    a fold shorter, so the state is still served, from the first event."""
    try:
        return lookup(get_snapshot_store())
    except Unavailable:
        logger.warning("snapshot store unavailable; folding from the first event", exc_info=True)
        return None


def _contiguous(events: Iterable[RecordedEvent], start: int) -> Iterator[RecordedEvent]:
    expected = start
    for event in events:
        if event.version != expected:
            raise Unavailable(
                f"stream {event.stream_id!r} read returned version {event.version} where "
                f"{expected} was expected; retry"
            )
        expected += 1
        yield event


def _fold(
    head: StreamInfo,
    reducer: Reducer,
    snapshot: Snapshot | None,
    events: Callable[[], Iterable[RecordedEvent]],
    included: Callable[[RecordedEvent], bool] | None = None,
    *,
    at: datetime | None = None,
    known_at: datetime | None = None,
) -> State:
    """Fold the events ``events()`` yields onto the snapshot (or the initial state), keeping
    only ``included`` ones; then check the state is JSON and return it normalised (what a
    snapshot of it would read back as)."""
    neutral = head.kind == NEUTRAL
    if snapshot is not None:
        state = copy_json(snapshot.payload)  # the fold may change its state in place
        version: int | None = snapshot.version
        natural, recorded = snapshot.timestamp, snapshot.recorded_at
        times_known = natural is not None and recorded is not None
    else:
        state = reducer.initial()
        version = None if neutral else 0
        natural = recorded = None
        times_known = True
    read = applied = 0
    last_event = None
    for event in events():
        read += 1
        if included is not None and not included(event):
            continue
        state = reducer.step(state, event)
        applied += 1
        last_event = event
        if not neutral:
            version = event.version
        if times_known:
            moment = event.timestamp if event.timestamp is not None else event.recorded_at
            natural = moment if natural is None or moment > natural else natural
            recorded = (
                event.recorded_at if recorded is None or event.recorded_at > recorded else recorded
            )
    payload = _normalise(state, reducer, last_event, snapshot, events, included)
    return State(
        stream_id=head.stream_id,
        version=version,
        payload=payload,
        category=head.category,
        reducer=reducer.kind,
        revision=reducer.revision,
        snapshot=snapshot,
        events_read=read,
        events_applied=applied,
        timestamp=natural if times_known else None,
        recorded_at=recorded if times_known else None,
        at=at,
        known_at=known_at,
    )


def _normalise(
    state: Any,
    reducer: Reducer,
    last_event: RecordedEvent | None,
    snapshot: Snapshot | None,
    events: Callable[[], Iterable[RecordedEvent]],
    included: Callable[[RecordedEvent], bool] | None,
) -> Any:
    """The state as JSON would read it back; a state that is not JSON is a ReducerError
    naming the first event after which it was not (found by folding again, checking each
    step: the slow path runs only on failure)."""
    try:
        return json.loads(_to_json(state))
    except (TypeError, ValueError, RecursionError) as exc:
        if last_event is None:
            raise ReducerError(
                f"{reducer.source} produced an initial state that is not JSON "
                f"({describe_exception(exc)}); fix the reducer",
                reducer=reducer.kind,
                revision=reducer.revision,
            ) from exc
        culprit, reason = last_event, describe_exception(exc)
        retry = copy_json(snapshot.payload) if snapshot is not None else reducer.initial()
        for event in events():
            if included is not None and not included(event):
                continue
            retry = reducer.step(retry, event)
            try:
                _to_json(retry)
            except (TypeError, ValueError, RecursionError) as again:
                culprit, reason = event, describe_exception(again)
                break
        raise reducer_error(
            reducer, culprit, f"it returned a state that is not JSON ({reason})"
        ) from exc


def _to_json(state: Any) -> str:
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
