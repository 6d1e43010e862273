"""The values the subscription service returns: filters, subscription info, batches, nack
results, parked events, push targets and streaming deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.records import RecordedEvent


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """Which events a subscription receives: one category or one stream (or neither: the
    whole feed), and optionally only some event names."""

    category: str | None = None
    stream_id: str | None = None
    names: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "stream_id": self.stream_id, "names": list(self.names)}


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """A subscription as the APIs show it, with its lag and status (see README)."""

    name: str
    filter: SubscriptionFilter
    checkpoint: int
    head_position: int
    lag: int
    lag_capped: bool
    status: str
    last_heartbeat: datetime | None
    parked: int
    max_attempts: int
    push: dict[str, str] | None
    created_at: datetime
    retry_position: int | None
    retry_attempts: int
    last_error: str
    paused: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "filter": self.filter.as_dict(),
            "checkpoint": self.checkpoint,
            "head_position": self.head_position,
            "lag": self.lag,
            "lag_capped": self.lag_capped,
            "status": self.status,
            "last_heartbeat": _iso(self.last_heartbeat),
            "parked": self.parked,
            "max_attempts": self.max_attempts,
            "push": self.push,
            "created_at": _iso(self.created_at),
            "retry_position": self.retry_position,
            "retry_attempts": self.retry_attempts,
            "last_error": self.last_error,
            "paused": self.paused,
        }


@dataclass(frozen=True, slots=True)
class Batch:
    """What ``next_batch`` delivers: events (retries asked for first, then in position
    order) and the subscription's checkpoint."""

    events: list[RecordedEvent]
    checkpoint: int

    def as_dict(self) -> dict[str, Any]:
        return {"events": [e.as_dict() for e in self.events], "checkpoint": self.checkpoint}


@dataclass(frozen=True, slots=True)
class NackResult:
    """The outcome of a nack: the event's failed attempts, whether it is parked now."""

    position: int
    attempts: int
    parked: bool
    checkpoint: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "attempts": self.attempts,
            "parked": self.parked,
            "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True, slots=True)
class ParkedInfo:
    """A parked event of a subscription: the event's identity, the last error, attempts."""

    position: int
    stream_id: str
    version: int | None
    name: str
    event_id: str
    error: str
    attempts: int
    parked_at: datetime
    status: str = "parked"

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "stream_id": self.stream_id,
            "version": self.version,
            "name": self.name,
            "event_id": self.event_id,
            "error": self.error,
            "attempts": self.attempts,
            "parked_at": _iso(self.parked_at),
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class StuckSubscriber:
    """A subscription held up by one event: ``how`` is "parked" (it gave up on it) or
    "retrying" (its checkpoint waits just before it); ``attempts`` failed so far."""

    name: str
    how: str
    attempts: int
    status: str


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True)
class PushTarget:
    """A push subscription a worker holds the lease of."""

    name: str
    kind: str
    target: str
    retry_position: int | None
    retry_attempts: int
    push_failures: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a streaming delivery (gRPC Subscribe) sends next: ``events`` after ``start`` (the
    stream's cursor, moved back once per nack to redeliver the failed event), the retries
    asked for, the checkpoint, ``head`` (the settled position scanned to, when nothing more
    matched) and ``nack_mark`` (pass it back so one nack moves the cursor back only once)."""

    events: list[RecordedEvent]
    retries: list[tuple[RecordedEvent, bool]]  # True: due (asked for or failed again)
    start: int
    checkpoint: int
    head: int | None
    nack_mark: tuple[int, int] | None
