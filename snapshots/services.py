"""The snapshot service: set, read, list, delete, take and check snapshots. REST, gRPC, the
admin, the snapshot policy and ``manage.py flipbook_snapshots`` call these functions; none of
them talks to a snapshot backend directly."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from snapshots.backends import get_snapshot_store
from snapshots.backends.base import BaseSnapshotStore
from snapshots.categories import reducer_for_category
from snapshots.diff import json_diff
from snapshots.records import Snapshot
from snapshots.reducers import Reducer, describe_exception, reducer_error
from snapshots.state import READ_BATCH, fold_at_version
from streams import services
from streams.conf import flipbook_settings
from streams.exceptions import NotFound, ReducerError, ValidationError
from streams.records import NEUTRAL, StreamInfo
from streams.validation import (
    encode_json,
    validate_int,
    validate_stream_id,
    validate_timestamp,
)

CLIENT_REVISION = "client"
MAX_REVISION = 200
MAX_LABEL = 200
MAX_CHANGES = 50  # field changes listed per drifted snapshot


def set_snapshot(
    stream_id: str,
    version: int,
    payload: Any,
    *,
    revision: str = CLIENT_REVISION,
    timestamp: datetime | str | None = None,
    label: str = "",
    ttl: float | None = None,
) -> Snapshot:
    """Store a client's snapshot of a stream at ``version`` (replacing the one of the same
    stream, version and revision) and return it. ``revision`` names what made the state:
    states are served from it only when it equals the stream's reducer revision; the default
    "client" never does. ``ttl`` in seconds (default: the store's).

    Raises NotFound (no such stream), ValidationError (bad argument; a version beyond the
    stream's head or on a version-neutral stream), TooLarge (payload over
    FLIPBOOK_LIMITS["MAX_SNAPSHOT_BYTES"]) or Unavailable."""
    stream_id = validate_stream_id(stream_id)
    version = validate_int(version, "version", minimum=1)
    text = encode_json(payload, "payload", _max_bytes())
    snapshot = Snapshot(
        stream_id=stream_id,
        version=version,
        payload=json.loads(text),
        revision=_validate_text(revision, "revision", MAX_REVISION, required=True),
        timestamp=validate_timestamp(timestamp, "timestamp"),
        label=_validate_text(label, "label", MAX_LABEL),
    )
    ttl = _validate_ttl(ttl)
    head = services.stream_head(stream_id)
    _check_version(head, version)
    return get_snapshot_store().set(snapshot, ttl=ttl)


def latest_snapshot(
    stream_id: str, *, version: int | None = None, revision: str | None = None
) -> Snapshot:
    """Return the stream's snapshot with the highest version, at or before ``version`` when
    given, of ``revision`` when given (else of any revision). Raises NotFound when there is
    none, ValidationError or Unavailable."""
    stream_id = validate_stream_id(stream_id)
    if version is not None:
        version = validate_int(version, "version", minimum=1)
    if revision is not None:
        revision = _validate_text(revision, "revision", MAX_REVISION, required=True)
    found = get_snapshot_store().latest(stream_id, revision=revision, at_or_before=version)
    if found is None:
        where = f" at or before version {version}" if version is not None else ""
        raise NotFound(f"stream {stream_id!r} has no snapshot{where}", stream_id=stream_id)
    return found


def list_snapshots(stream_id: str, *, revision: str | None = None) -> list[Snapshot]:
    """Return the stream's snapshots (of ``revision`` when given), ordered by version then
    revision; empty when there are none. Raises ValidationError or Unavailable."""
    stream_id = validate_stream_id(stream_id)
    if revision is not None:
        revision = _validate_text(revision, "revision", MAX_REVISION, required=True)
    return get_snapshot_store().list(stream_id, revision=revision)


def delete_snapshots(
    stream_id: str, *, version: int | None = None, revision: str | None = None
) -> int:
    """Delete the stream's snapshots (only at ``version`` and/or of ``revision`` when given)
    and return how many were deleted. Raises ValidationError or Unavailable."""
    stream_id = validate_stream_id(stream_id)
    if version is not None:
        version = validate_int(version, "version", minimum=1)
    if revision is not None:
        revision = _validate_text(revision, "revision", MAX_REVISION, required=True)
    return get_snapshot_store().delete(stream_id, version=version, revision=revision)


def take_snapshot(
    stream_id: str,
    version: int | None = None,
    *,
    label: str = "",
    ttl: float | None = None,
) -> Snapshot:
    """Fold the stream to ``version`` (default: its latest) with its reducer and store the
    state as a snapshot of the reducer's revision; return it. The snapshot's version is the
    version of the last event folded, never one whose events were not read.

    Raises NotFound, ValidationError (version-neutral streams have no snapshots),
    ReducerError (nothing is stored then), TooLarge or Unavailable."""
    stream_id = validate_stream_id(stream_id)
    if version is not None:
        version = validate_int(version, "version", minimum=1)
    label = _validate_text(label, "label", MAX_LABEL)
    ttl = _validate_ttl(ttl)
    head = services.stream_head(stream_id)
    if head.kind == NEUTRAL:
        raise ValidationError(
            "stream_id", f"stream {stream_id!r} is version-neutral and has no snapshots"
        )
    reducer = reducer_for_category(head.category)
    state = fold_at_version(head, reducer, version, need_times=True)
    assert state.version is not None  # the stream is versioned
    return store_state(
        state.stream_id,
        state.version,
        state.payload,
        reducer,
        state.timestamp,
        state.recorded_at,
        label=label,
        ttl=ttl,
    )


def store_state(
    stream_id: str,
    version: int,
    payload: Any,
    reducer: Reducer,
    timestamp: datetime | None,
    recorded_at: datetime | None,
    *,
    label: str = "",
    ttl: float | None = None,
) -> Snapshot:
    """Store a state folded from the stream's events as a snapshot of ``reducer``'s
    revision (with its natural and store times, so it may serve time queries)."""
    encode_json(payload, "payload", _max_bytes())
    snapshot = Snapshot(
        stream_id=stream_id,
        version=version,
        payload=payload,
        revision=reducer.revision,
        timestamp=timestamp,
        label=label,
        recorded_at=recorded_at,
    )
    return get_snapshot_store().set(snapshot, ttl=ttl)


# -- drift check ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DriftFinding:
    """A snapshot that does not hold what the stream's reducer makes of the events now.

    ``problem``: "differs" (another state than the events fold to), "other_revision" (made by
    another reducer revision), "beyond_head" (a version the stream does not have),
    "no_stream", or "reducer_error" (the reducer fails, so nothing can be checked).
    ``action``: what a rebuild did ("rebuilt", "deleted") or ""."""

    stream_id: str
    version: int | None
    revision: str
    problem: str
    detail: str = ""
    action: str = ""
    # On "differs": the field-level difference, stored snapshot -> re-folded state (at most
    # MAX_CHANGES; ``more_changes`` counts the rest).
    changes: tuple[dict[str, Any], ...] = ()
    more_changes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "version": self.version,
            "revision": self.revision,
            "problem": self.problem,
            "detail": self.detail,
            "action": self.action,
            "changes": list(self.changes),
            "more_changes": self.more_changes,
        }


@dataclass
class DriftReport:
    """The result of :func:`check_snapshots`."""

    streams_checked: int = 0
    snapshots_checked: int = 0
    events_read: int = 0
    findings: list[DriftFinding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def rebuilt(self) -> int:
        return sum(1 for f in self.findings if f.action == "rebuilt")

    @property
    def deleted(self) -> int:
        return sum(1 for f in self.findings if f.action == "deleted")


@dataclass(frozen=True, slots=True)
class DriftProgress:
    """Where a running check is: streams done of ``streams_total`` (None: unknown yet)."""

    streams_done: int
    streams_total: int | None
    stream_id: str
    events_read: int
    findings: int


def check_snapshots(
    stream_ids: Iterable[str] | None = None,
    *,
    rebuild: bool = False,
    progress: Callable[[DriftProgress], None] | None = None,
) -> DriftReport:
    """Recompute the states of stored snapshots from the events (one pass per stream) and
    report those that differ, were made by another reducer revision, or claim a version the
    stream does not have. With ``rebuild``, store the recomputed states in their place (under
    the current revision) and delete the unusable ones. Checks every stream with snapshots,
    or only ``stream_ids``. Snapshots of another revision that a client set (no
    ``recorded_at``) are left alone. ``progress`` is called after each stream and every
    50,000 events. Raises Unavailable."""
    store = get_snapshot_store()
    report = DriftReport()
    started = time.monotonic()
    if stream_ids is None:
        total: int | None = store.count_streams()
        ids: Iterable[str] = store.iter_stream_ids()
    else:
        ids = [validate_stream_id(s) for s in stream_ids]
        total = len(ids)
    for stream_id in ids:
        _check_stream(stream_id, store, report, rebuild, progress, total)
        report.streams_checked += 1
        if progress is not None:
            progress(
                DriftProgress(
                    report.streams_checked,
                    total,
                    stream_id,
                    report.events_read,
                    len(report.findings),
                )
            )
    report.seconds = time.monotonic() - started
    return report


def _check_stream(
    stream_id: str,
    store: BaseSnapshotStore,
    report: DriftReport,
    rebuild: bool,
    progress: Callable[[DriftProgress], None] | None,
    total: int | None,
) -> None:
    snapshots = store.list(stream_id)
    if not snapshots:
        return
    report.snapshots_checked += len(snapshots)
    add = report.findings.append

    def drop(s: Snapshot, problem: str, detail: str) -> None:
        action = ""
        if rebuild:
            store.delete(stream_id, version=s.version, revision=s.revision)
            action = "deleted"
        add(DriftFinding(stream_id, s.version, s.revision, problem, detail, action))

    try:
        head = services.stream_head(stream_id)
    except NotFound:
        for s in snapshots:
            drop(s, "no_stream", "the stream has no events")
        return
    if head.kind == NEUTRAL:
        for s in snapshots:
            drop(s, "beyond_head", "the stream is version-neutral")
        return
    try:
        reducer = reducer_for_category(head.category)
    except ReducerError as exc:
        add(DriftFinding(stream_id, None, "", "reducer_error", exc.message))
        return
    wanted: dict[int, list[Snapshot]] = {}
    for s in snapshots:
        if s.version > (head.version or 0):
            drop(s, "beyond_head", f"the stream is at version {head.version}")
        elif s.revision == reducer.revision or s.recorded_at is not None:
            wanted.setdefault(s.version, []).append(s)
    if not wanted:
        return
    try:
        states = _fold_checkpoints(stream_id, reducer, sorted(wanted), report, progress, total)
    except ReducerError as exc:
        add(DriftFinding(stream_id, None, reducer.revision, "reducer_error", exc.message))
        return
    for version, found in sorted(wanted.items()):
        payload, natural, recorded = states[version]
        current = [s for s in found if s.revision == reducer.revision]
        for s in found:
            changes: list[dict[str, Any]] = []
            if s.revision != reducer.revision:
                problem, detail = "other_revision", f"made by {s.revision}, not {reducer.revision}"
            elif _canonical(s.payload) != _canonical(payload):
                problem, detail = "differs", "the events fold to another state"
                changes = json_diff(s.payload, payload)
            else:
                continue
            action = ""
            if rebuild:
                if s.revision == reducer.revision or not current:
                    store_state(
                        stream_id,
                        version,
                        payload,
                        reducer,
                        natural,
                        recorded,
                        label=s.label or "rebuilt",
                    )
                    current.append(s)
                if s.revision != reducer.revision:
                    store.delete(stream_id, version=version, revision=s.revision)
                action = "rebuilt"
            add(
                DriftFinding(
                    stream_id,
                    version,
                    s.revision,
                    problem,
                    detail,
                    action,
                    tuple(changes[:MAX_CHANGES]),
                    max(0, len(changes) - MAX_CHANGES),
                )
            )


def _fold_checkpoints(
    stream_id: str,
    reducer: Reducer,
    versions: list[int],
    report: DriftReport,
    progress: Callable[[DriftProgress], None] | None,
    total: int | None,
) -> dict[int, tuple[Any, datetime | None, datetime | None]]:
    """One pass over events 1..max(versions); the state and times at each of ``versions``."""
    states: dict[int, tuple[Any, datetime | None, datetime | None]] = {}
    wanted = set(versions)
    state = reducer.initial()
    natural = recorded = None
    read = 0
    for event in services.iter_stream(
        stream_id, from_version=1, to_version=versions[-1], batch_size=READ_BATCH
    ):
        state = reducer.step(state, event)
        moment = event.timestamp if event.timestamp is not None else event.recorded_at
        natural = moment if natural is None or moment > natural else natural
        recorded = (
            event.recorded_at if recorded is None or event.recorded_at > recorded else recorded
        )
        read += 1
        if event.version in wanted:
            try:
                states[event.version] = (json.loads(_to_json(state)), natural, recorded)
            except (TypeError, ValueError, RecursionError) as exc:
                raise reducer_error(
                    reducer,
                    event,
                    f"it returned a state that is not JSON ({describe_exception(exc)})",
                ) from exc
        if progress is not None and read % 50_000 == 0:
            progress(
                DriftProgress(
                    report.streams_checked,
                    total,
                    stream_id,
                    report.events_read + read,
                    len(report.findings),
                )
            )
    report.events_read += read
    return states


# -- helpers ----------------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _max_bytes() -> int:
    return flipbook_settings.LIMITS["MAX_SNAPSHOT_BYTES"]


def _check_version(head: StreamInfo, version: int) -> None:
    if head.kind == NEUTRAL:
        raise ValidationError(
            "version", f"stream {head.stream_id!r} is version-neutral and has no snapshots"
        )
    if version > (head.version or 0):
        raise ValidationError(
            "version",
            f"stream {head.stream_id!r} is at version {head.version}; a snapshot cannot be "
            f"at version {version}",
            current_version=head.version,
        )


def _validate_text(value: Any, name: str, max_length: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationError(name, "must be a string")
    if required and not value:
        raise ValidationError(name, "must not be empty")
    if len(value) > max_length:
        raise ValidationError(name, f"must be at most {max_length} characters")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise ValidationError(name, "must not contain control characters")
    return value


def _validate_ttl(ttl: Any) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl <= 10**9:
        raise ValidationError("ttl", "must be a number of seconds above 0, or null")
    return ttl


def drop_snapshots_before(stream_id: str, before: int | None) -> int:
    """Delete the stream's snapshots below version ``before`` (all when None): the states
    of events a delete or a truncation took away. Returns how many were deleted."""
    store = get_snapshot_store()
    if before is None:
        return store.delete(stream_id)
    dropped = 0
    for snapshot in store.list(stream_id):
        if snapshot.version < before:
            dropped += store.delete(stream_id, version=snapshot.version)
    return dropped


def on_stream_truncated(
    sender: object, *, stream_id: str, before: int | None, **kwargs: Any
) -> None:
    """Receiver of streams.signals.stream_truncated (connected in snapshots/apps.py)."""
    drop_snapshots_before(stream_id, before)
