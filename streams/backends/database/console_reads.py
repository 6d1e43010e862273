"""The reads of the console's explorer and dashboard on the database event store: streams by
their last event, stream filters, totals, categories and events per minute."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from streams.backends.database.sql import STREAM_COLUMNS
from streams.records import StreamInfo

if TYPE_CHECKING:
    from streams.backends.database.features import DatabaseOperations

T = TypeVar("T")
Args = TypeVarTuple("Args")


class ConsoleReads:
    """Mixed into DatabaseEventStore (it provides ``ops``, ``_translate`` and ``_stream``)."""

    ops: DatabaseOperations
    _db_time: Callable[[datetime | None], datetime | str | None]

    if TYPE_CHECKING:

        def _translate(self, func: Callable[[*Args], T], *args: *Args) -> T: ...

        def _stream(self, row: Sequence[Any]) -> StreamInfo: ...

    # With a filter, at most this many matching streams are sorted by their last event
    # directly; a filter matching more is served by the walk down the events (it finds a
    # page quickly because matches are common).
    RECENT_SORT_MAX = 2000

    def recent_streams(
        self, *, prefix: str | None, category: str | None, before: int | None, limit: int
    ) -> list[StreamInfo]:
        return self._translate(self._recent_streams, prefix, category, before, limit)

    def _recent_streams(
        self, prefix: str | None, category: str | None, before: int | None, limit: int
    ) -> list[StreamInfo]:
        # No index on the head's update time: every append updates the head row, and an
        # index on a changing column would cost each append its HOT update. Instead walk the
        # events down the primary key (position) and keep each stream's last event only: its
        # version is the head's version (versioned), or no later neutral event exists.
        where, params = self._stream_filters(prefix, category)
        with self.ops.cursor() as cursor:
            if where:
                self.ops.execute(
                    cursor,
                    f"SELECT count(*) FROM (SELECT 1 FROM flipbook_stream s "
                    f"WHERE {' AND '.join(where)} LIMIT %s) m",
                    [*params, self.RECENT_SORT_MAX + 1],
                )
                if cursor.fetchone()[0] <= self.RECENT_SORT_MAX:
                    self.ops.execute(
                        cursor,
                        f"SELECT {STREAM_COLUMNS} FROM flipbook_stream s "
                        f"WHERE {' AND '.join(where)}",
                        params,
                    )
                    heads = [self._stream(row) for row in cursor.fetchall()]
                    heads = [
                        h
                        for h in heads
                        if (before is None or h.last_position < before) and h.deleted is None
                    ]
                    heads.sort(key=lambda h: h.last_position, reverse=True)
                    return heads[:limit]
            walk = [
                "(e.version = s.version OR (e.version IS NULL AND NOT EXISTS (SELECT 1 FROM "
                "flipbook_event x WHERE x.stream_pk = e.stream_pk AND x.version IS NULL "
                "AND x.position > e.position)))",
                "s.deleted = 0",  # deleted streams leave the explorer (docs: lifecycle)
                *where,
            ]
            if before is not None:
                walk.insert(0, "e.position < %s")
                params = [before, *params]
            self.ops.execute(
                cursor,
                "SELECT s.stream_id, s.kind, s.category, s.version, s.event_count, "
                "s.created_at, s.updated_at, CAST(s.metadata AS text), e.position, s.deleted, "
                "s.truncate_before "
                "FROM flipbook_event e JOIN flipbook_stream s ON s.id = e.stream_pk "
                f"WHERE {' AND '.join(walk)} ORDER BY e.position DESC LIMIT %s",
                [*params, limit],
            )
            return [self._stream(row) for row in cursor.fetchall()]

    def _stream_filters(
        self, prefix: str | None, category: str | None
    ) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if category is not None:
            where.append("s.category = %s")
            params.append(category)
        if prefix:
            condition, values = self.ops.prefix_filter(prefix)
            where.append(condition)
            params += values
        return where, params

    def totals(self) -> dict[str, int]:
        return self._translate(self._totals)

    def categories(self) -> list[str]:
        return self._translate(self._categories)

    def _categories(self) -> list[str]:
        with self.ops.cursor() as cursor:
            return sorted(self.ops.categories(cursor))

    def _totals(self) -> dict[str, Any]:
        with self.ops.cursor() as cursor:
            return self.ops.totals(cursor)

    def events_per_minute(self, since: datetime) -> dict[datetime, int]:
        return self._translate(self._events_per_minute, since)

    def _events_per_minute(self, since: datetime) -> dict[datetime, int]:
        # No index on recorded_at (each would cost every append): positions follow commit
        # order, so the window's events are the top of the primary key, found by walking it
        # down to the first older event; counting them costs the same walk anyway.
        minute = self.ops.minute_bucket
        since_db = self._db_time(since)
        with self.ops.cursor() as cursor:
            self.ops.execute(
                cursor,
                f"SELECT {minute}, count(*) FROM flipbook_event e WHERE e.position > "
                "coalesce((SELECT o.position FROM flipbook_event o WHERE o.recorded_at < %s "
                "ORDER BY o.position DESC LIMIT 1), 0) AND e.recorded_at >= %s GROUP BY 1",
                [since_db, since_db],
            )
            rows = cursor.fetchall()
        return {datetime.fromtimestamp(int(m) * 60, UTC): int(n) for m, n in rows}
