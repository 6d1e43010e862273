"""Frozen values that cross the store layers: requests, stored events, pages.

What every append or read builds per event (PreparedEvent, PreparedAppend, RecordedEvent,
AppendResult, CommitResult) is a NamedTuple: as immutable as a frozen dataclass and about
three times cheaper to build, which a one-event append feels (see the README's benchmark)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, NamedTuple, TypeVar
from uuid import UUID

ExpectedVersion = int | Literal["any", "exists"]
StreamKind = Literal["versioned", "neutral"]
VERSIONED: StreamKind = "versioned"
NEUTRAL: StreamKind = "neutral"
DeletedState = Literal["soft", "hard"]
# Where a read of one stream resumes: (version or position,), or (natural time ISO, ordinal).
CursorKey = tuple[Any, ...]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event as a client proposes it; the store service validates it into a PreparedEvent."""

    name: str
    payload: Any = None
    metadata: dict[str, Any] | None = None
    timestamp: datetime | str | None = None
    id: UUID | str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class StreamAppend:
    """The events for one stream within a commit, with the check to make before storing them."""

    stream_id: str
    events: tuple[NewEvent, ...] | list[NewEvent]
    expected_version: ExpectedVersion = "any"
    category: str | None = None
    kind: StreamKind | None = None


class PreparedEvent(NamedTuple):
    """A validated event, payload and metadata already encoded as JSON text (``payload`` and
    ``metadata`` keep the values as given, for the result of the append)."""

    id: UUID
    name: str
    payload_json: str
    metadata_json: str
    payload: Any
    metadata: dict[str, Any]
    timestamp: datetime | None
    version: int | None  # explicit version sent by the client, else None
    id_given: bool  # the client chose the id, so a re-send may be a duplicate

    def recorded(
        self, stream_id: str, version: int | None, position: int, recorded_at: datetime
    ) -> RecordedEvent:
        """This event as the store recorded it."""
        return RecordedEvent(
            stream_id,
            version,
            self.timestamp,
            self.name,
            self.payload,
            self.metadata,
            self.id,
            position,
            recorded_at,
        )


class PreparedAppend(NamedTuple):
    """A validated StreamAppend. ``expected_version`` is derived from explicit versions too."""

    stream_id: str
    events: tuple[PreparedEvent, ...]
    expected_version: ExpectedVersion
    category: str | None
    kind: StreamKind | None


class RecordedEvent(NamedTuple):
    """An event as stored: immutable, with its version, position and store time."""

    stream_id: str
    version: int | None
    timestamp: datetime | None
    name: str
    payload: Any
    metadata: dict[str, Any]
    id: UUID
    position: int
    recorded_at: datetime

    def as_dict(self, recorded_at: str | None = None) -> dict[str, Any]:
        """The event as JSON-ready values (``recorded_at``: its time's text, if known)."""
        return {
            "stream_id": self.stream_id,
            "version": self.version,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "name": self.name,
            "payload": self.payload,
            "metadata": self.metadata,
            "id": str(self.id),
            "position": self.position,
            "recorded_at": recorded_at or self.recorded_at.isoformat(),
        }


def event_dicts(events: Iterable[RecordedEvent]) -> list[dict[str, Any]]:
    """``as_dict()`` of each event; a store time's text made once for the events that share
    it (a commit's events do), as a datetime's isoformat costs as much as the rest."""
    times: dict[datetime, str] = {}
    dicts = []
    for event in events:
        text = times.get(event.recorded_at)
        if text is None:
            text = times[event.recorded_at] = event.recorded_at.isoformat()
        dicts.append(event.as_dict(text))
    return dicts


class AppendResult(NamedTuple):
    """What one stream of a commit stored. ``version`` is None on version-neutral streams;
    ``category`` rides along so listeners (the event bus) need no query for it."""

    stream_id: str
    version: int | None
    events: tuple[RecordedEvent, ...]
    duplicate: bool = False
    category: str | None = None  # the stream's category after the append


class CommitResult(NamedTuple):
    """What a commit stored, per stream in request order; ``duplicate`` on an identical re-send."""

    streams: tuple[AppendResult, ...]
    duplicate: bool = False

    @property
    def events(self) -> list[RecordedEvent]:
        return [e for s in self.streams for e in s.events]

    @property
    def last_position(self) -> int:
        return max(e.position for e in self.events)


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """The head of a stream ("version 0"): its kind, category, version, counts and metadata."""

    stream_id: str
    kind: StreamKind
    category: str | None
    version: int | None
    event_count: int
    first_recorded_at: datetime
    last_recorded_at: datetime
    last_position: int
    metadata: dict[str, Any] = field(default_factory=dict)
    # Lifecycle (docs/concepts/lifecycle.md): "soft" or "hard" once deleted, and the first
    # ordinal that remains (a version; a position on version-neutral streams), 0 if untruncated.
    deleted: DeletedState | None = None
    truncate_before: int = 0

    def as_dict(self) -> dict[str, Any]:
        lifecycle = {"truncate_before": self.truncate_before} if self.truncate_before else {}
        return {
            "stream_id": self.stream_id,
            "kind": self.kind,
            "category": self.category,
            "version": self.version,
            "event_count": self.event_count,
            "first_recorded_at": self.first_recorded_at.isoformat(),
            "last_recorded_at": self.last_recorded_at.isoformat(),
            "last_position": self.last_position,
            "metadata": self.metadata,
            **lifecycle,
        }


@dataclass(frozen=True, slots=True)
class StreamQuery:
    """A validated read of one stream, ordered by version (by position on neutral streams),
    or by natural time when ``since``/``until`` are set. ``after`` is the keyset cursor."""

    stream_id: str
    from_version: int | None = None
    to_version: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    backwards: bool = False
    limit: int = 100
    after: CursorKey | None = None

    @property
    def by_time(self) -> bool:
        return self.since is not None or self.until is not None


@dataclass(frozen=True, slots=True)
class FeedQuery:
    """A validated read of the all-feed: events with position > ``after``."""

    after: int = 0
    limit: int = 100
    categories: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; pass ``next_cursor`` back to continue (None: nothing more now)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of the all-feed. ``next_after`` is the position to continue after: it moves past
    filtered-out events too, and never past a position that could still be filled."""

    events: list[RecordedEvent]
    next_after: int


@dataclass(frozen=True, slots=True)
class ImportedStream:
    """A stream head of an export (streams/transfer.py): what an import recreates it with."""

    stream_id: str
    kind: StreamKind
    category: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class ImportedEvent(NamedTuple):
    """An event of an export, validated for import: ``event`` carries its id, version, name,
    natural time and JSON; ``position`` and ``recorded_at`` are what its source recorded."""

    stream_id: str
    event: PreparedEvent
    position: int
    recorded_at: datetime
