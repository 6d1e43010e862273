"""What each SQL dialect of the database event store can do, declared once (as Django's
database backends declare theirs), so shared code asks a flag instead of a vendor name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

    from streams.backends.database.sql import Refused
    from streams.records import CommitResult, ImportedEvent, PreparedAppend, PreparedEvent

#: Parameters of a statement: positional (%s) or named (%(name)s).
Params = Sequence[Any] | Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class DatabaseFeatures:
    vendor: str
    # One-stream appends check the head and insert the events in one statement.
    one_statement_append: bool
    # Several writers commit at once, so positions may become visible out of order and the
    # all-feed reads only up to a settled horizon.
    concurrent_writers: bool
    # Timestamps and UUIDs are bound as such (else as naive UTC text and hex).
    native_time: bool
    native_uuid: bool
    # Statements are prepared on the server once per session.
    prepared_statements: bool
    # Stream counts above a size are the planner's estimates (exact counts scan the table).
    estimated_totals: bool


class DatabaseOperations(Protocol):
    """The statements each dialect implements (``sqlite.SQLiteOperations``,
    ``postgresql.PostgreSQLOperations``) for the shared code of ``store.py``."""

    features: DatabaseFeatures
    # SQL of the UTC minute (seconds since the epoch / 60) of e.recorded_at.
    minute_bucket: str

    def cursor(self) -> CursorWrapper: ...

    def execute(self, cursor: CursorWrapper, sql: str, params: Params = None) -> None: ...

    def append_one_statement(
        self, conn: BaseDatabaseWrapper, a: PreparedAppend, now: datetime
    ) -> CommitResult | Refused:
        """Only where ``features.one_statement_append``."""
        ...

    def insert_events(
        self,
        cursor: CursorWrapper,
        pks: list[int],
        versions: list[int | None],
        events: Sequence[PreparedEvent],
        now: datetime,
    ) -> list[tuple[int, int | None]]: ...

    def prefix_filter(self, prefix: str) -> tuple[str, list[Any]]: ...

    def categories(self, cursor: CursorWrapper) -> list[str]: ...

    def totals(self, cursor: CursorWrapper) -> dict[str, Any]: ...

    def settled_position(self, cursor: CursorWrapper, after: int) -> int: ...

    def import_events(
        self, cursor: CursorWrapper, pks: list[int], events: Sequence[ImportedEvent]
    ) -> None:
        """Insert imported events (each with its stream's pk) at their own positions."""
        ...

    def advance_positions(self, cursor: CursorWrapper, last: int) -> None:
        """Make the next position drawn follow ``last`` (after an import wrote positions)."""
        ...

    def db_time(self, value: datetime | None) -> datetime | str | None: ...

    def db_uuid(self, value: UUID) -> UUID | str: ...
