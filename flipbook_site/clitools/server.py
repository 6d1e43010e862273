"""A Flipbook server seen as an event store (through the Python SDK), so that the export and
import of streams/transfer.py run against a server as they run against a local backend."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from streams.backends.base import BaseEventStore
from streams.exceptions import ValidationError
from streams.records import (
    CommitResult,
    FeedPage,
    FeedQuery,
    PreparedAppend,
    RecordedEvent,
    StreamInfo,
)

# The server's all-feed is read to its end: its last position is not known in advance.
UNBOUNDED = 2**62


def recorded(event: Any) -> RecordedEvent:
    """An SDK Event as a RecordedEvent."""
    return RecordedEvent(
        event.stream_id,
        event.version,
        event.timestamp,
        event.name,
        event.payload,
        event.metadata or {},
        UUID(str(event.id)),
        event.position,
        event.recorded_at,
    )


def head_of(info: Any) -> StreamInfo:
    """An SDK StreamInfo as a StreamInfo."""
    return StreamInfo(
        stream_id=info.stream_id,
        kind=info.kind,
        category=info.category,
        version=info.version,
        event_count=info.event_count,
        first_recorded_at=info.first_recorded_at,
        last_recorded_at=info.last_recorded_at,
        last_position=info.last_position,
        metadata=info.metadata or {},
    )


class ServerEventStore(BaseEventStore):
    """The reads and appends an export or import needs, over a server's REST API. Positions
    and recorded times are the server's own: an import through it renumbers them."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client

    def append(self, appends: Sequence[PreparedAppend]) -> CommitResult:
        self.client.commit(
            [
                {
                    "stream_id": a.stream_id,
                    "expected_version": a.expected_version,
                    "category": a.category,
                    "kind": a.kind,
                    "events": [
                        {
                            "id": str(e.id),
                            "name": e.name,
                            "payload": e.payload,
                            "metadata": e.metadata,
                            "timestamp": e.timestamp.isoformat() if e.timestamp else None,
                            "version": e.version,
                        }
                        for e in a.events
                    ],
                }
                for a in appends
            ]
        )
        return CommitResult(())

    def read_all(self, query: FeedQuery) -> FeedPage:
        page = self.client.read_all(
            after=query.after, limit=query.limit, categories=list(query.categories)
        )
        return FeedPage([recorded(e) for e in page.events], page.next_after)

    def iter_heads(
        self, *, prefix: str | None = None, category: str | None = None, batch: int = 500
    ) -> Iterator[StreamInfo]:
        cursor = None
        while True:
            page = self.client.list_streams(
                prefix=prefix, category=category, limit=batch, cursor=cursor
            )
            yield from (head_of(i) for i in page.items)
            cursor = page.next_cursor
            if cursor is None:
                return

    def list_streams(
        self, *, prefix: str | None, category: str | None, after: str | None, limit: int
    ) -> list[StreamInfo]:
        page = self.client.list_streams(prefix=prefix, category=category, limit=limit)
        return [head_of(i) for i in page.items]

    def totals(self) -> dict[str, int]:
        return {"streams": -1, "events": -1, "categories": -1, "last_position": UNBOUNDED}

    def find_events(self, ids: Sequence[UUID]) -> dict[UUID, RecordedEvent]:
        raise ValidationError(
            "merge", "a merge needs the store itself: run the import on the server's host"
        )
