"""Typed values the client sends and returns (frozen dataclasses), and their JSON forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar, overload

ExpectedVersion = int | Literal["any", "exists"]
T = TypeVar("T")


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from the server's ISO 8601 text (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


@overload
def aware(value: datetime | str) -> datetime: ...
@overload
def aware(value: None) -> None: ...
@overload
def aware(value: datetime | str | None) -> datetime | None: ...
def aware(value: datetime | str | None) -> datetime | None:
    """A timezone-aware UTC datetime; naive ones are taken as UTC (as the server does)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | str | None) -> str | None:
    """ISO 8601 text of a time for a request."""
    value = aware(value)
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. ``id`` (a UUID) makes re-sends idempotent; ``version`` is an
    explicit version (give it on every event of an append or on none)."""

    name: str
    payload: Any = None
    metadata: dict[str, Any] | None = None
    timestamp: datetime | str | None = None
    id: str | None = None
    version: int | None = None

    @classmethod
    def of(cls, value: NewEvent | Mapping[str, Any]) -> NewEvent:
        """A NewEvent from itself or from a dict with the same keys."""
        if isinstance(value, NewEvent):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"an event must be a NewEvent or a dict, not {type(value).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise TypeError(f"unknown event field(s): {', '.join(sorted(unknown))}")
        return cls(**value)

    def as_json(self) -> dict[str, Any]:
        """The event as the REST API takes it."""
        body: dict[str, Any] = {"name": self.name, "payload": self.payload}
        if self.metadata is not None:
            body["metadata"] = self.metadata
        if self.timestamp is not None:
            body["timestamp"] = iso(self.timestamp)
        if self.id is not None:
            body["id"] = str(self.id)
        if self.version is not None:
            body["version"] = self.version
        return body


@dataclass(frozen=True, slots=True)
class Append:
    """The events for one stream of a commit, with the check to make before storing them."""

    stream_id: str
    events: Sequence[NewEvent | Mapping[str, Any]]
    expected_version: ExpectedVersion = "any"
    category: str | None = None
    kind: Literal["versioned", "neutral"] | None = None

    @classmethod
    def of(cls, value: Append | Mapping[str, Any]) -> Append:
        if isinstance(value, Append):
            return value
        return cls(**value)

    def new_events(self) -> list[NewEvent]:
        return [NewEvent.of(e) for e in self.events]

    def as_json(self) -> dict[str, Any]:
        """The append as the REST API takes it (one stream of ``POST commits``)."""
        body: dict[str, Any] = {
            "stream_id": self.stream_id,
            "expected_version": self.expected_version,
            "events": [e.as_json() for e in self.new_events()],
        }
        if self.category is not None:
            body["category"] = self.category
        if self.kind is not None:
            body["kind"] = self.kind
        return body


@dataclass(frozen=True, slots=True)
class Event:
    """An event as stored. ``version`` is None on version-neutral streams, ``timestamp`` on
    time-neutral events. Events recorded by an Aggregate but not yet saved have position 0,
    no id and no ``recorded_at``."""

    stream_id: str
    version: int | None
    name: str
    payload: Any
    metadata: dict[str, Any]
    id: str
    position: int
    timestamp: datetime | None = None
    recorded_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        return cls(
            stream_id=data["stream_id"],
            version=data.get("version"),
            name=data["name"],
            payload=data.get("payload"),
            metadata=data.get("metadata") or {},
            id=data["id"],
            position=data["position"],
            timestamp=parse_time(data.get("timestamp")),
            recorded_at=parse_time(data.get("recorded_at")),
        )


@dataclass(frozen=True, slots=True)
class AppendedEvent:
    """Where one appended event was stored: its id (the client's own or one the store made),
    version (None on version-neutral streams), position and store time. The server does not
    send the name, payload, metadata or timestamp back: the caller has them already."""

    id: str
    version: int | None
    position: int
    recorded_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AppendedEvent:
        return cls(
            id=data["id"],
            version=data.get("version"),
            position=data["position"],
            recorded_at=parse_time(data.get("recorded_at")),
        )


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one stream of an append or commit stored; ``duplicate`` for an identical re-send.
    ``events`` are slim (AppendedEvent: ids, versions, positions, store times), in the order
    sent; pair them with the events you sent when you need their payloads."""

    stream_id: str
    version: int | None
    events: list[AppendedEvent]
    duplicate: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AppendResult:
        return cls(
            stream_id=data["stream_id"],
            version=data.get("version"),
            events=[AppendedEvent.from_json(e) for e in data.get("events", [])],
            duplicate=bool(data.get("duplicate")),
        )

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events]

    @property
    def positions(self) -> list[int]:
        return [e.position for e in self.events]


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What a commit stored, per stream in request order."""

    streams: list[AppendResult]
    duplicate: bool
    last_position: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CommitResult:
        return cls(
            streams=[AppendResult.from_json(s) for s in data.get("streams", [])],
            duplicate=bool(data.get("duplicate")),
            last_position=data["last_position"],
        )

    @property
    def events(self) -> list[AppendedEvent]:
        return [e for s in self.streams for e in s.events]


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """The head of a stream ("version 0")."""

    stream_id: str
    kind: str
    category: str | None
    version: int | None
    event_count: int
    first_recorded_at: datetime | None
    last_recorded_at: datetime | None
    last_position: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StreamInfo:
        return cls(
            stream_id=data["stream_id"],
            kind=data["kind"],
            category=data.get("category"),
            version=data.get("version"),
            event_count=data["event_count"],
            first_recorded_at=parse_time(data.get("first_recorded_at")),
            last_recorded_at=parse_time(data.get("last_recorded_at")),
            last_position=data["last_position"],
            metadata=data.get("metadata") or {},
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page; pass ``next_cursor`` back to continue (None: nothing more now)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of the all-feed; continue after ``next_after``."""

    events: list[Event]
    next_after: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A stored state of a stream at ``version`` made by ``revision`` (``payload`` is None
    where the server leaves it out: lists, and the snapshot a State started from)."""

    stream_id: str
    version: int
    revision: str
    payload: Any = None
    timestamp: datetime | None = None
    label: str = ""
    recorded_at: datetime | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(
            stream_id=data["stream_id"],
            version=data["version"],
            revision=data["revision"],
            payload=data.get("payload"),
            timestamp=parse_time(data.get("timestamp")),
            label=data.get("label") or "",
            recorded_at=parse_time(data.get("recorded_at")),
            created_at=parse_time(data.get("created_at")),
            expires_at=parse_time(data.get("expires_at")),
        )


@dataclass(frozen=True, slots=True)
class State:
    """A stream's reduced state (``state``) as the server folded it, and how: from
    ``snapshot`` (None: from the first event), reading ``events_read`` events after it."""

    stream_id: str
    version: int | None
    state: Any
    category: str | None
    reducer: str
    revision: str
    snapshot: Snapshot | None
    events_read: int
    events_applied: int
    timestamp: datetime | None = None
    recorded_at: datetime | None = None
    at: datetime | None = None
    known_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        snapshot = data.get("snapshot")
        return cls(
            stream_id=data["stream_id"],
            version=data.get("version"),
            state=data.get("state"),
            category=data.get("category"),
            reducer=data.get("reducer", ""),
            revision=data.get("revision", ""),
            snapshot=Snapshot.from_json(snapshot) if snapshot else None,
            events_read=data.get("events_read", 0),
            events_applied=data.get("events_applied", 0),
            timestamp=parse_time(data.get("timestamp")),
            recorded_at=parse_time(data.get("recorded_at")),
            at=parse_time(data.get("at")),
            known_at=parse_time(data.get("known_at")),
        )


@dataclass(frozen=True, slots=True)
class Subscription:
    """A durable subscription as the server reports it. ``extra`` keeps fields this client
    version does not know yet."""

    name: str
    filter: dict[str, Any]
    checkpoint: int
    head_position: int | None = None
    lag: int | None = None
    status: str | None = None
    last_heartbeat: datetime | None = None
    parked: int = 0
    max_attempts: int | None = None
    push: dict[str, Any] | None = None
    created_at: datetime | None = None
    # An operator paused it: nothing is delivered until it is resumed.
    paused: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            name=data["name"],
            filter=data.get("filter") or {},
            checkpoint=data.get("checkpoint") or 0,
            head_position=data.get("head_position"),
            lag=data.get("lag"),
            status=data.get("status"),
            last_heartbeat=parse_time(data.get("last_heartbeat")),
            parked=data.get("parked") or 0,
            max_attempts=data.get("max_attempts"),
            push=data.get("push"),
            created_at=parse_time(data.get("created_at")),
            paused=bool(data.get("paused")),
            extra={k: v for k, v in data.items() if k not in known},
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """Events a subscription delivers (position order) and its checkpoint when sent."""

    events: list[Event]
    checkpoint: int


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """Sent once by a subscription stream when it has delivered every event that existed
    when it started (``position``: the feed's head then); live events follow."""

    position: int


@dataclass(frozen=True, slots=True)
class NackResult:
    """The outcome of a nack: the event's failed ``attempts``, whether it is now ``parked``."""

    position: int
    attempts: int
    parked: bool
    checkpoint: int


@dataclass(frozen=True, slots=True)
class Parked:
    """An event a subscription gave up on after its max_attempts (or whose retry was asked
    for: ``status`` "retry")."""

    position: int
    stream_id: str
    version: int | None
    name: str
    event_id: str
    error: str
    attempts: int
    parked_at: datetime | None = None
    status: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Parked:
        return cls(
            position=data["position"],
            stream_id=data["stream_id"],
            version=data.get("version"),
            name=data["name"],
            event_id=data.get("event_id", ""),
            error=data.get("error", ""),
            attempts=data.get("attempts", 0),
            parked_at=parse_time(data.get("parked_at")),
            status=data.get("status"),
        )


def new_events(events: Iterable[NewEvent | Mapping[str, Any]]) -> list[NewEvent]:
    """NewEvents from NewEvents or dicts; a single dict or NewEvent is refused (wrap it)."""
    if isinstance(events, (Mapping, NewEvent)):
        raise TypeError("events must be a list of events")
    return [NewEvent.of(e) for e in events]


@dataclass(frozen=True, slots=True)
class Retention:
    """The retention policy a scavenge applies to a stream: its own (``source`` "stream"),
    else its category's ("category"), else none ("none")."""

    stream_id: str
    source: str
    max_age: int | None = None
    max_count: int | None = None
    category: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Retention:
        return cls(
            stream_id=data["stream_id"],
            source=data["source"],
            max_age=data.get("max_age"),
            max_count=data.get("max_count"),
            category=data.get("category"),
            updated_at=parse_time(data.get("updated_at")),
        )


@dataclass(frozen=True, slots=True)
class ScavengeReport:
    """What one scavenge request did; ``complete`` False: it stopped at its limit."""

    truncated_streams: int
    scavenged_streams: int
    removed_events: int
    complete: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScavengeReport:
        return cls(
            truncated_streams=data["truncated_streams"],
            scavenged_streams=data["scavenged_streams"],
            removed_events=data["removed_events"],
            complete=bool(data["complete"]),
        )


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure of a subject's personal data did; ``audit_id``: its audit record."""

    subject: str
    keys_destroyed: int
    streams: int
    snapshots_dropped: int
    erased_at: datetime | None
    erased_by: str
    audit_id: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Erasure:
        return cls(
            subject=data["subject"],
            keys_destroyed=data["keys_destroyed"],
            streams=data["streams"],
            snapshots_dropped=data["snapshots_dropped"],
            erased_at=parse_time(data.get("erased_at")),
            erased_by=data["erased_by"],
            audit_id=data["audit_id"],
        )
