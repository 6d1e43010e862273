"""Delete, truncate and scavenge on the database event store (docs/concepts/lifecycle.md).

Each operation first takes the stream's head row lock with a no-op UPDATE: racing appends
queue on that row (their head statement writes it), so an append lands wholly before the
delete or truncation (whose next statements, each with a fresh snapshot, see its events) or
wholly after it (and then sees the new head)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from django.db import transaction

from streams.backends.base import stream_deleted
from streams.exceptions import NotFound, ValidationError
from streams.records import NEUTRAL, StreamInfo

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

    from streams.backends.database.features import DatabaseOperations

T = TypeVar("T")
Args = TypeVarTuple("Args")
SOFT, HARD = 1, 2


class DatabaseLifecycle:
    """Mixed into DatabaseEventStore (it provides ``using``, ``ops``, ``_translate`` and
    ``_head``)."""

    using: str
    ops: DatabaseOperations

    if TYPE_CHECKING:

        def _translate(self, func: Callable[[*Args], T], *args: *Args) -> T: ...

        def _head(self, stream_id: str) -> StreamInfo | None: ...

    def delete_stream(self, stream_id: str, *, hard: bool) -> StreamInfo:
        return self._translate(self._delete_stream, stream_id, hard)

    def _delete_stream(self, stream_id: str, hard: bool) -> StreamInfo:
        with transaction.atomic(using=self.using), self.ops.cursor() as cursor:
            head = self._locked_head(cursor, stream_id)
            if head.deleted == "hard":
                raise stream_deleted(stream_id)
            if head.deleted == "soft" and not hard:
                raise NotFound(f"stream {stream_id!r} is deleted already", stream_id=stream_id)
            after_last = self._after_last(head)
            self.ops.execute(
                cursor,
                "UPDATE flipbook_stream SET deleted = %s, truncate_before = %s, event_count = 0 "
                "WHERE stream_id = %s",
                [HARD if hard else SOFT, max(after_last, head.truncate_before), stream_id],
            )
        return head

    def truncate_stream(self, stream_id: str, before: int) -> StreamInfo:
        return self._translate(self._truncate_stream, stream_id, before)

    def _truncate_stream(self, stream_id: str, before: int) -> StreamInfo:
        with transaction.atomic(using=self.using), self.ops.cursor() as cursor:
            head = self._locked_head(cursor, stream_id)
            if head.deleted == "hard":
                raise stream_deleted(stream_id)
            if head.deleted == "soft":
                raise NotFound(f"stream {stream_id!r} was deleted", stream_id=stream_id)
            after_last = self._after_last(head)
            if before > after_last:
                what = "position" if head.kind == NEUTRAL else "version"
                raise ValidationError(
                    "before",
                    f"stream {stream_id!r} can be truncated before {what} {after_last} at most "
                    f"(one past its last {what})",
                )
            cut = max(before, head.truncate_before)
            ordinal = "position" if head.kind == NEUTRAL else "version"
            self.ops.execute(
                cursor,
                "UPDATE flipbook_stream SET truncate_before = %s, event_count = (SELECT "
                "count(*) FROM flipbook_event e WHERE e.stream_pk = flipbook_stream.id AND "
                f"e.{ordinal} >= %s{' AND e.version IS NULL' if head.kind == NEUTRAL else ''}) "
                "WHERE stream_id = %s",
                [cut, cut, stream_id],
            )
            return self._head(stream_id) or head

    def scavenge_stream(self, stream_id: str, limit: int) -> int:
        return self._translate(self._scavenge_stream, stream_id, limit)

    def _scavenge_stream(self, stream_id: str, limit: int) -> int:
        # No head lock: what reads no longer show only grows, and a tombstone takes no
        # appends, so this short transaction never waits for (or delays) a writer's head row.
        with transaction.atomic(using=self.using), self.ops.cursor() as cursor:
            self.ops.execute(
                cursor,
                "SELECT id, kind, deleted, truncate_before FROM flipbook_stream "
                "WHERE stream_id = %s",
                [stream_id],
            )
            row = cursor.fetchone()
            if row is None:
                return 0
            pk, kind, deleted, truncate_before = row
            params: list[Any] = [pk]
            if deleted == HARD:
                condition = ""
            elif not truncate_before:
                return 0
            elif kind == NEUTRAL:
                condition = " AND x.version IS NULL AND x.position < %s"
                params.append(truncate_before)
            else:
                condition = " AND x.version < %s"
                params.append(truncate_before)
            params.append(limit)
            self.ops.execute(
                cursor,
                "DELETE FROM flipbook_event WHERE position IN (SELECT x.position FROM "
                f"flipbook_event x WHERE x.stream_pk = %s{condition} LIMIT %s)",
                params,
            )
            return int(cursor.rowcount)

    def scavenge_candidates(self, *, after: str | None, limit: int) -> list[str]:
        return self._translate(self._scavenge_candidates, after, limit)

    def _scavenge_candidates(self, after: str | None, limit: int) -> list[str]:
        where = "(s.deleted > 0 OR s.truncate_before > 0)"
        params: list[Any] = []
        if after is not None:
            where += " AND s.stream_id > %s"
            params.append(after)
        params.append(limit)
        with self.ops.cursor() as cursor:
            self.ops.execute(
                cursor,
                f"SELECT s.stream_id FROM flipbook_stream s WHERE {where} "
                "ORDER BY s.stream_id LIMIT %s",
                params,
            )
            return [row[0] for row in cursor.fetchall()]

    # -- helpers ----------------------------------------------------------------------------

    def _locked_head(self, cursor: CursorWrapper, stream_id: str) -> StreamInfo:
        """Lock the stream's head row (a no-op write) and return the head. Raises NotFound."""
        self.ops.execute(
            cursor,
            "UPDATE flipbook_stream SET deleted = deleted WHERE stream_id = %s RETURNING id",
            [stream_id],
        )
        if cursor.fetchone() is None:
            raise NotFound(f"stream {stream_id!r} does not exist", stream_id=stream_id)
        head = self._head(stream_id)
        assert head is not None  # the row is locked by this transaction
        return head

    def _after_last(self, head: StreamInfo) -> int:
        """One past the stream's last ordinal: its version + 1, or its last position + 1."""
        if head.kind != NEUTRAL:
            return (head.version or 0) + 1
        return max(head.last_position + 1, head.truncate_before)
