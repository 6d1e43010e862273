"""What each SQL dialect of the database event store can do, declared once (as Django's
database backends declare theirs), so shared code asks a flag instead of a vendor name."""

from __future__ import annotations

from dataclasses import dataclass


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
