"""SQLite, the embedded default: one writer at a time, so the highest stored position is
settled; times are stored as Django's naive UTC text and UUIDs as hex."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from streams.backends.database.features import DatabaseFeatures, Params
from streams.records import ImportedEvent, PreparedEvent

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

    from streams.backends.database.sql import Refused
    from streams.backends.database.store import DatabaseEventStore
    from streams.records import CommitResult, PreparedAppend

features = DatabaseFeatures(
    vendor="sqlite",
    one_statement_append=False,
    concurrent_writers=False,
    native_time=False,
    native_uuid=False,
    prepared_statements=False,
    estimated_totals=False,
)

_COLUMNS = "stream_pk, version, timestamp, name, payload, metadata, event_id, recorded_at"


class SQLiteOperations:
    """The statements that are SQLite's own, for one DatabaseEventStore."""

    features = features
    minute_bucket = "CAST(strftime('%%s', e.recorded_at) AS INTEGER) / 60"

    def __init__(self, store: DatabaseEventStore) -> None:
        self.store = store

    def cursor(self) -> CursorWrapper:
        return self.store.connection.cursor()

    def execute(self, cursor: CursorWrapper, sql: str, params: Params = None) -> None:
        cursor.execute(sql, params)

    def append_one_statement(
        self, conn: BaseDatabaseWrapper, a: PreparedAppend, now: datetime
    ) -> CommitResult | Refused:
        raise NotImplementedError("SQLite has no one-statement append (one_statement_append)")

    def insert_events(
        self,
        cursor: CursorWrapper,
        pks: list[int],
        versions: list[int | None],
        events: Sequence[PreparedEvent],
        now: datetime,
    ) -> list[tuple[int, int | None]]:
        """Insert ``events`` (each with its stream's pk and its version) in one statement;
        return their (position, version) rows in position order."""
        db_time, db_uuid = self.db_time, self.db_uuid
        recorded = db_time(now)
        rows = [
            (pk, version, db_time(e.timestamp), e.name, e.payload_json, e.metadata_json,
             db_uuid(e.id), recorded)
            for pk, version, e in zip(pks, versions, events, strict=True)
        ]  # fmt: skip
        placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        cursor.execute(
            f"INSERT INTO flipbook_event ({_COLUMNS}) VALUES {placeholders} "
            "RETURNING position, version",
            [value for row in rows for value in row],
        )
        return sorted(cursor.fetchall())

    def prefix_filter(self, prefix: str) -> tuple[str, list[Any]]:
        # SQLite's LIKE ignores ASCII case; a byte range on BINARY collation does not.
        return "s.stream_id >= %s AND s.stream_id < %s", [prefix, prefix + "\U0010ffff"]

    def categories(self, cursor: CursorWrapper) -> list[str]:
        cursor.execute("SELECT DISTINCT category FROM flipbook_stream WHERE category IS NOT NULL")
        return [row[0] for row in cursor.fetchall()]

    def totals(self, cursor: CursorWrapper) -> dict[str, Any]:
        cursor.execute(
            "SELECT count(*), coalesce(sum(event_count), 0), count(DISTINCT category), "
            "(SELECT coalesce(max(position), 0) FROM flipbook_event) FROM flipbook_stream",
        )
        streams, events, categories, last = cursor.fetchone()
        return {
            "streams": streams,
            "events": int(events),
            "categories": categories,
            "last_position": last,
            "approximate": False,
        }

    def settled_position(self, cursor: CursorWrapper, after: int) -> int:
        """One writer at a time: the highest stored position is settled."""
        cursor.execute("SELECT COALESCE(max(position), 0) FROM flipbook_event")
        position: int = cursor.fetchone()[0]
        return position

    def import_events(
        self, cursor: CursorWrapper, pks: list[int], events: Sequence[ImportedEvent]
    ) -> None:
        """Multi-row INSERTs of 200 rows (9 parameters each, under SQLite's limit)."""
        db_time, db_uuid = self.db_time, self.db_uuid
        for start in range(0, len(events), 200):
            chunk = events[start : start + 200]
            cursor.execute(
                "INSERT INTO flipbook_event (position, stream_pk, version, timestamp, name, "
                "payload, metadata, event_id, recorded_at) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk)),
                [
                    value
                    for pk, i in zip(pks[start : start + 200], chunk, strict=True)
                    for value in (
                        i.position,
                        pk,
                        i.event.version,
                        db_time(i.event.timestamp),
                        i.event.name,
                        i.event.payload_json,
                        i.event.metadata_json,
                        db_uuid(i.event.id),
                        db_time(i.recorded_at),
                    )
                ],
            )

    def advance_positions(self, cursor: CursorWrapper, last: int) -> None:
        """Nothing to do: AUTOINCREMENT follows the highest position inserted."""

    def db_time(self, value: datetime | None) -> str | None:
        if value is None:
            return value
        # Django's SQLite format (naive UTC), always with microseconds so text order is time
        # order. isoformat, not strftime("%Y"): strftime does not zero-pad years before 1000.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def db_uuid(self, value: UUID) -> str:
        return value.hex
