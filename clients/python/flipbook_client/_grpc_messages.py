"""Conversions between the SDK's records and the gRPC messages (JSON travels as bytes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client.types import (
    AppendedEvent,
    AppendResult,
    Event,
    ExpectedVersion,
    NewEvent,
    Parked,
    Retention,
    Snapshot,
    State,
    StreamInfo,
    Subscription,
    aware,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
KINDS = {
    None: pb.STREAM_KIND_UNSPECIFIED,
    "versioned": pb.STREAM_KIND_VERSIONED,
    "neutral": pb.STREAM_KIND_NEUTRAL,
}
KIND_NAMES = {1: "versioned", 2: "neutral"}
EXPECTED_STATES = {"any": pb.EXPECTED_STATE_ANY, "exists": pb.EXPECTED_STATE_EXISTS}
DIRECTIONS = {"forwards": pb.DIRECTION_FORWARDS, "backwards": pb.DIRECTION_BACKWARDS}


# -- conversions -------------------------------------------------------------------------------


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_value(data: bytes, empty: Any = None) -> Any:
    return json.loads(data.decode("utf-8")) if data else empty


def set_time(target: Any, value: datetime | str) -> None:
    delta = aware(value) - EPOCH
    target.seconds = delta.days * 86_400 + delta.seconds
    target.nanos = delta.microseconds * 1000


def time_of(message: Any, name: str) -> datetime | None:
    if not message.HasField(name):
        return None
    value = getattr(message, name)
    return EPOCH + timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


def event_of(message: pb.Event) -> Event:
    return Event(
        stream_id=message.stream_id,
        version=message.version if message.HasField("version") else None,
        name=message.name,
        payload=json_value(message.payload),
        metadata=json_value(message.metadata, {}),
        id=message.id,
        position=message.position,
        timestamp=time_of(message, "timestamp"),
        recorded_at=time_of(message, "recorded_at"),
    )


def new_event_message(event: NewEvent) -> pb.NewEvent:
    message = pb.NewEvent(
        name=event.name,
        payload=json_bytes(event.payload),
        metadata=json_bytes(event.metadata) if event.metadata is not None else b"",
        id=str(event.id) if event.id is not None else "",
    )
    if event.timestamp is not None:
        set_time(message.timestamp, event.timestamp)
    if event.version is not None:
        message.version = event.version
    return message


def append_request(
    stream_id: str,
    events: list[NewEvent],
    expected_version: ExpectedVersion,
    category: str | None,
    kind: str | None,
) -> pb.AppendRequest:
    message = pb.AppendRequest(
        stream_id=stream_id,
        events=[new_event_message(e) for e in events],
        category=category or "",
    )
    if kind not in KINDS:
        raise ValueError(f"kind must be 'versioned', 'neutral' or None, not {kind!r}")
    message.kind = KINDS[kind]
    if isinstance(expected_version, bool) or not isinstance(expected_version, (int, str)):
        raise ValueError(f"expected_version must be an int, 'any' or 'exists': {expected_version}")
    if isinstance(expected_version, int):
        message.expected_version = expected_version
    elif expected_version in EXPECTED_STATES:
        message.expected_state = EXPECTED_STATES[expected_version]
    else:
        raise ValueError(f"expected_version must be an int, 'any' or 'exists': {expected_version}")
    return message


def appended_event_of(message: pb.AppendedEvent) -> AppendedEvent:
    return AppendedEvent(
        id=message.id,
        version=message.version if message.HasField("version") else None,
        position=message.position,
        recorded_at=time_of(message, "recorded_at"),
    )


def append_result_of(message: pb.AppendResponse) -> AppendResult:
    return AppendResult(
        stream_id=message.stream_id,
        version=message.version if message.HasField("version") else None,
        events=[appended_event_of(e) for e in message.events],
        duplicate=message.duplicate,
    )


def stream_info_of(message: pb.StreamInfo) -> StreamInfo:
    return StreamInfo(
        stream_id=message.stream_id,
        kind=KIND_NAMES.get(message.kind, "versioned"),
        category=message.category or None,
        version=message.version if message.HasField("version") else None,
        event_count=message.event_count,
        first_recorded_at=time_of(message, "first_recorded_at"),
        last_recorded_at=time_of(message, "last_recorded_at"),
        last_position=message.last_position,
        metadata=json_value(message.metadata, {}),
    )


def retention_of(message: pb.Retention) -> Retention:
    return Retention(
        stream_id=message.stream_id,
        source=message.source,
        max_age=message.max_age if message.HasField("max_age") else None,
        max_count=message.max_count if message.HasField("max_count") else None,
        category=message.category or None,
        updated_at=time_of(message, "updated_at"),
    )


def snapshot_of(message: pb.Snapshot) -> Snapshot:
    return Snapshot(
        stream_id=message.stream_id,
        version=message.version,
        revision=message.revision,
        payload=json_value(message.payload),
        timestamp=time_of(message, "timestamp"),
        label=message.label,
        recorded_at=time_of(message, "recorded_at"),
        created_at=time_of(message, "created_at"),
        expires_at=time_of(message, "expires_at"),
    )


def state_of(message: pb.State) -> State:
    return State(
        stream_id=message.stream_id,
        version=message.version if message.HasField("version") else None,
        state=json_value(message.state),
        category=message.category or None,
        reducer=message.reducer,
        revision=message.revision,
        snapshot=snapshot_of(message.snapshot) if message.HasField("snapshot") else None,
        events_read=message.events_read,
        events_applied=message.events_applied,
        timestamp=time_of(message, "timestamp"),
        recorded_at=time_of(message, "recorded_at"),
        at=time_of(message, "at"),
        known_at=time_of(message, "known_at"),
    )


START = {"beginning": pb.SUBSCRIPTION_START_BEGINNING, "end": pb.SUBSCRIPTION_START_END}


def filter_message(value: dict[str, Any]) -> Any:
    return pb.SubscriptionFilter(
        category=value.get("category") or "",
        stream_id=value.get("stream_id") or "",
        names=list(value.get("names") or ()),
    )


def subscription_of(message: Any) -> Subscription:
    push = None
    if message.HasField("push"):
        push = {"kind": message.push.kind}
        if message.push.url:
            push["url"] = message.push.url
        if message.push.target:
            push["target"] = message.push.target
    return Subscription(
        name=message.name,
        filter={
            "category": message.filter.category or None,
            "stream_id": message.filter.stream_id or None,
            "names": list(message.filter.names),
        },
        checkpoint=message.checkpoint,
        head_position=message.head_position,
        lag=message.lag,
        status=message.status or None,
        last_heartbeat=time_of(message, "last_heartbeat"),
        parked=message.parked,
        max_attempts=message.max_attempts,
        push=push,
        created_at=time_of(message, "created_at"),
        paused=message.paused,
        extra={
            "lag_capped": message.lag_capped,
            "retry_position": message.retry_position or None,
            "retry_attempts": message.retry_attempts,
            "last_error": message.last_error or None,
        },
    )


def parked_of(message: Any) -> Parked:
    return Parked(
        position=message.position,
        stream_id=message.stream_id,
        version=message.version if message.HasField("version") else None,
        name=message.name,
        event_id=message.event_id,
        error=message.error,
        attempts=message.attempts,
        parked_at=time_of(message, "parked_at"),
        status=message.status or None,
    )
