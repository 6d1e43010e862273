"""Conversions between flipbook.v1 protobuf messages and the store's records.

Requests become the store service's arguments (JSON bytes parsed, times converted, enums
named); refusals are ValidationErrors naming the field, as the store service names them.
Records become response messages: read answers carry every event field, append answers
only where each event went (id, version, position, store time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from snapshots.records import Snapshot
from snapshots.services import CLIENT_REVISION
from snapshots.state import State
from streams.exceptions import ValidationError
from streams.records import (
    NEUTRAL,
    VERSIONED,
    AppendResult,
    CommitResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamAppend,
    StreamInfo,
    StreamKind,
)
from streams.speedups import json_loader
from streams.validation import compact_json

if TYPE_CHECKING:
    from streams.lifecycle import RetentionPolicy
    from streams.personal_data.protection import ErasureResult
    from streams.services import Direction

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The range google.protobuf.Timestamp allows: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
MIN_SECONDS = -62_135_596_800
MAX_SECONDS = 253_402_300_799

KINDS: dict[int, StreamKind | None] = {
    pb.STREAM_KIND_UNSPECIFIED: None,
    pb.STREAM_KIND_VERSIONED: VERSIONED,
    pb.STREAM_KIND_NEUTRAL: NEUTRAL,
}
KIND_VALUES = {VERSIONED: pb.STREAM_KIND_VERSIONED, NEUTRAL: pb.STREAM_KIND_NEUTRAL}
EXPECTED_STATES: dict[int, ExpectedVersion] = {
    pb.EXPECTED_STATE_UNSPECIFIED: "any",
    pb.EXPECTED_STATE_ANY: "any",
    pb.EXPECTED_STATE_EXISTS: "exists",
}
DIRECTIONS: dict[int, Direction] = {
    pb.DIRECTION_UNSPECIFIED: "forwards",
    pb.DIRECTION_FORWARDS: "forwards",
    pb.DIRECTION_BACKWARDS: "backwards",
}


# -- requests -----------------------------------------------------------------------------------


def timestamp_of(message: Message, name: str, field: str) -> datetime | None:
    """Return the aware UTC datetime of the Timestamp field ``name``, or None when unset.
    Nanoseconds below a microsecond are dropped (the store keeps microseconds)."""
    if not message.HasField(name):
        return None
    value: Timestamp = getattr(message, name)
    if not MIN_SECONDS <= value.seconds <= MAX_SECONDS or not 0 <= value.nanos < 1_000_000_000:
        raise ValidationError(field, "is not a valid timestamp (years 1 to 9999)")
    return EPOCH + timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


# json.loads on its C scanner: json.loads's Python layers cost as much as the scan of a
# small payload, and a 100-event append parses 100 of them.
_loads = json_loader()


def json_of(data: bytes, field: str, *, empty: Any) -> Any:
    """Parse JSON text sent in a bytes field; ``empty`` when no bytes were sent."""
    if not data:
        return empty
    try:
        return _loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValidationError(field, "must be UTF-8 JSON text") from exc
    except RecursionError as exc:
        raise ValidationError(field, "is nested too deeply") from exc
    except ValueError as exc:
        raise ValidationError(field, f"must be JSON text ({exc})") from exc


def new_event(message: pb.NewEvent, field: str) -> NewEvent:
    """Return the NewEvent a client proposes in ``message``."""
    # The usual event has no metadata and no timestamp: their field names are built only
    # when there is something to check (a 100-event append builds 100 of each otherwise).
    metadata = message.metadata
    return NewEvent(
        name=message.name,
        payload=json_of(message.payload, f"{field}.payload", empty=None),
        metadata=json_of(metadata, f"{field}.metadata", empty={}) if metadata else {},
        timestamp=(
            timestamp_of(message, "timestamp", f"{field}.timestamp")
            if message.HasField("timestamp")
            else None
        ),
        id=message.id or None,
        version=message.version if message.HasField("version") else None,
    )


def stream_append(message: pb.AppendRequest, field: str = "") -> StreamAppend:
    """Return the StreamAppend of an AppendRequest (alone, or one stream of a commit)."""
    prefix = f"{field}." if field else ""
    which = message.WhichOneof("expected")
    expected: ExpectedVersion = "any"
    if which == "expected_version":
        expected = message.expected_version
    elif which == "expected_state":
        expected = _enum(EXPECTED_STATES, message.expected_state, f"{prefix}expected_state")
    return StreamAppend(
        stream_id=message.stream_id,
        events=[new_event(e, f"{prefix}events[{i}]") for i, e in enumerate(message.events)],
        expected_version=expected,
        category=message.category or None,
        kind=_enum(KINDS, message.kind, f"{prefix}kind"),
    )


def read_arguments(message: pb.ReadRequest) -> dict[str, Any]:
    """Return the keyword arguments of ``services.read_stream`` but limit and cursor."""
    return {
        "stream_id": message.stream_id,
        "from_version": message.from_version or None,
        "to_version": message.to_version or None,
        "since": timestamp_of(message, "since", "since"),
        "until": timestamp_of(message, "until", "until"),
        "direction": _enum(DIRECTIONS, message.direction, "direction"),
    }


def set_snapshot_arguments(message: pb.SetSnapshotRequest) -> dict[str, Any]:
    """Return the arguments of ``snapshots.services.set_snapshot`` of a SetSnapshotRequest."""
    return {
        "stream_id": message.stream_id,
        "version": message.version,
        "payload": json_of(message.payload, "payload", empty=None),
        "revision": message.revision or CLIENT_REVISION,
        "timestamp": timestamp_of(message, "timestamp", "timestamp"),
        "label": message.label,
        "ttl": message.ttl if message.HasField("ttl") else None,
    }


def _enum(values: dict[int, Any], number: int, field: str) -> Any:
    try:
        return values[number]
    except KeyError:
        raise ValidationError(field, f"{number} is not a known value") from None


# -- responses ----------------------------------------------------------------------------------


def json_bytes(value: Any) -> bytes:
    return compact_json(value).encode("utf-8")


def set_timestamp(target: Timestamp, value: datetime) -> None:
    delta = value - EPOCH
    target.seconds = delta.days * 86_400 + delta.seconds
    target.nanos = delta.microseconds * 1000


def event_message(event: RecordedEvent) -> pb.Event:
    """Return the Event message of a stored event, every field included."""
    message = pb.Event(
        stream_id=event.stream_id,
        name=event.name,
        payload=json_bytes(event.payload),
        metadata=json_bytes(event.metadata) if event.metadata else b"{}",
        id=str(event.id),
        position=event.position,
    )
    if event.version is not None:
        message.version = event.version
    if event.timestamp is not None:
        set_timestamp(message.timestamp, event.timestamp)
    set_timestamp(message.recorded_at, event.recorded_at)
    return message


def appended_event(event: RecordedEvent, recorded_at: Timestamp) -> pb.AppendedEvent:
    """Return the AppendedEvent of a stored event (``recorded_at`` already converted)."""
    message = pb.AppendedEvent(id=str(event.id), position=event.position)
    if event.version is not None:
        message.version = event.version
    message.recorded_at.CopyFrom(recorded_at)
    return message


def append_response(result: AppendResult) -> pb.AppendResponse:
    """Return the AppendResponse of one stream's result: ids, versions, positions and store
    times, never the payloads (the client sent them)."""
    # One append's events share their store time (a duplicate's may not): convert each
    # distinct time once.
    stamps: dict[datetime, Timestamp] = {}
    events = []
    for event in result.events:
        stamp = stamps.get(event.recorded_at)
        if stamp is None:
            stamp = stamps[event.recorded_at] = Timestamp()
            set_timestamp(stamp, event.recorded_at)
        events.append(appended_event(event, stamp))
    message = pb.AppendResponse(
        stream_id=result.stream_id, events=events, duplicate=result.duplicate
    )
    if result.version is not None:
        message.version = result.version
    return message


def commit_response(result: CommitResult) -> pb.CommitResponse:
    return pb.CommitResponse(
        streams=[append_response(s) for s in result.streams],
        duplicate=result.duplicate,
        last_position=result.last_position,
    )


def stream_info_message(info: StreamInfo) -> pb.StreamInfo:
    """Return the StreamInfo message of a stream head."""
    message = pb.StreamInfo(
        stream_id=info.stream_id,
        kind=KIND_VALUES[info.kind],
        category=info.category or "",
        event_count=info.event_count,
        last_position=info.last_position,
        metadata=json_bytes(info.metadata),
    )
    if info.version is not None:
        message.version = info.version
    set_timestamp(message.first_recorded_at, info.first_recorded_at)
    set_timestamp(message.last_recorded_at, info.last_recorded_at)
    return message


def _set_optional_timestamp(message: Message, name: str, value: datetime | None) -> None:
    if value is not None:
        set_timestamp(getattr(message, name), value)


def fill_snapshot(message: pb.Snapshot, snapshot: Snapshot, *, payload: bool = True) -> None:
    """Fill a Snapshot message (new, or a State's field); ``payload=False`` leaves it empty."""
    message.stream_id = snapshot.stream_id
    message.version = snapshot.version
    message.revision = snapshot.revision
    message.label = snapshot.label
    if payload:
        message.payload = json_bytes(snapshot.payload)
    for name in ("timestamp", "recorded_at", "created_at", "expires_at"):
        _set_optional_timestamp(message, name, getattr(snapshot, name))


def snapshot_message(snapshot: Snapshot) -> pb.Snapshot:
    """Return the Snapshot message of a stored snapshot, payload included."""
    message = pb.Snapshot()
    fill_snapshot(message, snapshot)
    return message


def state_message(state: State) -> pb.State:
    """Return the State message of a reduced state (its snapshot without payload)."""
    message = pb.State(
        stream_id=state.stream_id,
        state=json_bytes(state.payload),
        category=state.category or "",
        reducer=state.reducer,
        revision=state.revision,
        events_read=state.events_read,
        events_applied=state.events_applied,
    )
    if state.version is not None:
        message.version = state.version
    if state.snapshot is not None:
        fill_snapshot(message.snapshot, state.snapshot, payload=False)
    for name in ("timestamp", "recorded_at", "at", "known_at"):
        _set_optional_timestamp(message, name, getattr(state, name))
    return message


def retention_message(policy: RetentionPolicy) -> pb.Retention:
    """Return the Retention message of a stream's retention policy."""
    message = pb.Retention(
        stream_id=policy.stream_id, source=policy.source, category=policy.category or ""
    )
    if policy.max_age is not None:
        message.max_age = policy.max_age
    if policy.max_count is not None:
        message.max_count = policy.max_count
    _set_optional_timestamp(message, "updated_at", policy.updated_at)
    return message


def erasure_message(result: ErasureResult) -> pb.Erasure:
    """Return the Erasure message of an erasure's result."""
    message = pb.Erasure(
        subject=result.subject,
        keys_destroyed=result.keys_destroyed,
        streams=result.streams,
        snapshots_dropped=result.snapshots_dropped,
        erased_by=result.erased_by,
        audit_id=result.audit_id,
    )
    set_timestamp(message.erased_at, datetime.fromisoformat(result.erased_at))
    return message
