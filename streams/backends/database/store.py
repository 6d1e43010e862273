"""DatabaseEventStore: the event store on Django's database (SQLite or PostgreSQL).

Appends and reads are set-based SQL on the tables of streams/models.py. Concurrency comes
from the head row of each stream: the version check is a conditional UPDATE/UPSERT of that
row, so racing writers queue on its row lock and exactly one wins each version.

Global positions come from the events table's identity sequence. On PostgreSQL writers stay
concurrent (no table lock), so positions may become visible out of order; the all-feed reader
therefore only returns positions up to a *settled* horizon (see
``PostgreSQLOperations.settled_position``)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, TypeVarTuple, overload
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)

from streams.backends.base import (
    BaseEventStore,
    check_readable,
    effective_kind,
    refusal_error,
)
from streams.backends.database.console_reads import ConsoleReads
from streams.backends.database.features import DatabaseOperations
from streams.backends.database.lifecycle import DatabaseLifecycle
from streams.backends.database.postgresql import PostgreSQLOperations
from streams.backends.database.sql import (
    DELETED_STATES,
    EVENT_COLUMNS,
    STREAM_COLUMNS,
    Refused,
    head_shape,
    head_sql,
    load_json,
)
from streams.backends.database.sqlite import SQLiteOperations
from streams.conf import flipbook_settings
from streams.exceptions import IdConflict, Unavailable, ValidationError, VersionConflict
from streams.records import (
    NEUTRAL,
    AppendResult,
    CommitResult,
    FeedPage,
    FeedQuery,
    ImportedEvent,
    ImportedStream,
    PreparedAppend,
    RecordedEvent,
    StreamInfo,
    StreamQuery,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from streams.backends.database.aio import AsyncAppender

    class _PerThread(Protocol):
        """What a store keeps per thread (on a threading.local)."""

        connection: BaseDatabaseWrapper


DIALECTS: dict[str, Callable[[DatabaseEventStore], DatabaseOperations]] = {
    "sqlite": SQLiteOperations,
    "postgresql": PostgreSQLOperations,
}
MAX_ATTEMPTS = 3
logger = logging.getLogger("flipbook.store")
IMPORT_ROWS = 200  # stream rows per statement of an import (well under SQLite's parameter limit)
T = TypeVar("T")
Args = TypeVarTuple("Args")


class DatabaseEventStore(DatabaseLifecycle, ConsoleReads, BaseEventStore):
    """Event store on a Django database alias. OPTIONS: ``using`` (alias, default
    "default"), ``feed_wait_seconds`` (how long an all-feed read waits for in-flight writers
    before answering "unavailable", default 10)."""

    def __init__(
        self,
        *,
        using: str = "default",
        feed_wait_seconds: float = 10.0,
        prepare: bool = True,
        **options: object,
    ) -> None:
        super().__init__(**options)
        self.using = using
        self.feed_wait_seconds = feed_wait_seconds
        # Server-side prepared statements; turn off behind a pooler that cannot keep them.
        self.prepare = prepare
        vendor = connections[using].vendor
        if vendor not in DIALECTS:
            raise ImproperlyConfigured(
                f"the database event store runs on SQLite or PostgreSQL, not {vendor!r}: set "
                "FLIPBOOK_DATABASE_URL (or FLIPBOOK_EVENT_STORE's 'using') to one of them"
            )
        self._local: _PerThread = threading.local()
        self.ops = DIALECTS[vendor](self)
        self.features = self.ops.features
        self._db_time = self.ops.db_time
        # Per event loop, made on first use (weak: a loop that ends takes its entry along).
        self._appenders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncAppender]
        self._appenders = weakref.WeakKeyDictionary()

    @property
    def connection(self) -> BaseDatabaseWrapper:
        """This thread's Django connection of the alias. Looked up once per thread: a lookup
        through ``connections`` (an asgiref Local) costs more than a one-event append's
        validation of its stream id. The wrapper object is per thread and kept for the
        thread's life (closing it only drops its database session), and a change of
        DATABASES replaces this store (streams.backends._reset)."""
        try:
            return self._local.connection
        except AttributeError:
            conn = self._local.connection = connections[self.using]
            return conn

    # -- append -------------------------------------------------------------------------------

    def append(self, appends: Sequence[PreparedAppend]) -> CommitResult:
        last_refused = 0
        result: CommitResult | Refused | None
        for attempt in range(MAX_ATTEMPTS):
            # A one-statement append outside a transaction returns its refusal rather than
            # raising it: unwinding frames is a measurable share of a refused attempt's CPU.
            try:
                result = self._translate(self._append_once, appends)
            except Refused as raised:
                result = raised
            except IntegrityError:
                # An event id is stored already (or a racing first append created the stream).
                duplicate = self._translate(self.resolve_resend, appends)
                if duplicate is not None:
                    return duplicate
                result = None
            if type(result) is Refused:
                last_refused = result.index
                if any(e.id_given for a in appends for e in a.events):
                    duplicate = self._translate(self.resolve_resend, appends)
                    if duplicate is not None:
                        return duplicate
                append = appends[result.index]
                if result.head is not None:
                    version, kind, category = result.head
                    deleted = "hard" if kind == "tombstone" else None
                    error = refusal_error(append, kind, category, version, deleted)
                else:
                    error = self._translate(self.explain_refusal, append)
                if error is not None:
                    raise error from None
            elif result is not None:
                return result
            if attempt == MAX_ATTEMPTS - 1:
                break
        a = appends[last_refused]
        head = self.head(a.stream_id)
        raise VersionConflict(a.stream_id, a.expected_version, (head.version or 0) if head else 0)

    @property
    def async_appends(self) -> bool:  # type: ignore[override]
        return self.features.vendor == "postgresql"

    async def append_async(self, appends: Sequence[PreparedAppend]) -> CommitResult | None:
        """PostgreSQL: a one-stream append as one statement on an async connection of this
        event loop's pool (streams/backends/database/aio.py). Anything else: None."""
        if len(appends) != 1 or self.features.vendor != "postgresql":
            return None
        loop = asyncio.get_running_loop()
        appender = self._appenders.get(loop)
        if appender is None:
            from streams.backends.database.aio import AsyncAppender

            # A pool belongs to one loop (`serve` runs two: HTTP's and gRPC's).
            appender = AsyncAppender(self, flipbook_settings.ASYNC_CONNECTIONS)
            self._appenders[loop] = appender
        return await appender.append(appends[0])

    async def close_async(self) -> None:
        appender = self._appenders.pop(asyncio.get_running_loop(), None)
        if appender is not None:
            await appender.close()

    def close(self) -> None:
        """Close the pools of ``append_async`` whose loops still run in other threads (the
        store is being replaced); a pool of a closed loop went with it."""
        for loop, appender in list(self._appenders.items()):
            self._appenders.pop(loop, None)
            if loop.is_closed() or not loop.is_running() or _running_loop() is loop:
                continue
            future = asyncio.run_coroutine_threadsafe(appender.close(), loop)
            try:
                future.result(timeout=5)
            except Exception:  # a stuck loop: its connections end with the process
                logger.warning("the async connections of a replaced store were not closed")
        super().close()

    def _append_once(self, appends: Sequence[PreparedAppend]) -> CommitResult | Refused:
        now = datetime.now(UTC)
        conn = self.connection
        if self.features.one_statement_append and len(appends) == 1:
            if conn.in_atomic_block:
                with transaction.atomic(using=self.using):
                    result = self.ops.append_one_statement(conn, appends[0], now)
                    if type(result) is Refused:
                        raise result  # rolls the savepoint back
                return result
            return self.ops.append_one_statement(conn, appends[0], now)
        with transaction.atomic(using=self.using):
            return self._append_in_transaction(appends, now)

    def _head_statement(self, a: PreparedAppend, now: datetime) -> tuple[str, dict[str, Any]]:
        """The conditional write of a stream's head row that checks ``a``'s expectation.
        It returns (id, kind, version after the append), or no row when the check fails."""
        return head_sql(*head_shape(a)), self.head_params(a, now)

    def head_params(self, a: PreparedAppend, now: datetime) -> dict[str, Any]:
        """The parameters of a head statement (see ``head_sql``)."""
        n = len(a.events)
        new_kind = effective_kind(a)
        return {
            "sid": a.stream_id,
            "n": n,
            "new_kind": new_kind,
            "new_version": 0 if new_kind == NEUTRAL else n,
            "cat": a.category,
            "now": self._db_time(now),
            "kind": a.kind,
            "expected": a.expected_version,
        }

    def _append_in_transaction(
        self, appends: Sequence[PreparedAppend], now: datetime
    ) -> CommitResult:
        """Check every head (in stream id order, so concurrent commits lock in one order and
        cannot deadlock), then insert all events in one statement."""
        heads: dict[int, tuple[int, str, int, str | None]] = {}
        with self.ops.cursor() as cursor:
            for index in sorted(range(len(appends)), key=lambda i: appends[i].stream_id):
                sql, params = self._head_statement(appends[index], now)
                self.ops.execute(cursor, sql, params)
                row = cursor.fetchone()
                if row is None:
                    raise Refused(index)
                heads[index] = row
            pks: list[int] = []
            versions: list[int | None] = []
            for index, a in enumerate(appends):
                pk, kind, version, _ = heads[index]
                base = version - len(a.events)
                pks.extend([pk] * len(a.events))
                if kind == NEUTRAL:
                    versions.extend([None] * len(a.events))
                else:
                    versions.extend(range(base + 1, version + 1))
            events = [e for a in appends for e in a.events]
            rows = self.ops.insert_events(cursor, pks, versions, events, now)
        results = []
        offset = 0
        for index, a in enumerate(appends):
            chunk = rows[offset : offset + len(a.events)]
            offset += len(a.events)
            results.append(self.result(a, chunk, now, heads[index][3]))
        return CommitResult(tuple(results))

    def result(
        self,
        a: PreparedAppend,
        rows: list[tuple[int, int | None]],
        now: datetime,
        category: str | None,
    ) -> AppendResult:
        """The result of ``a`` from its stored rows, each starting (position, version)."""
        sid = a.stream_id
        events = tuple(
            [e.recorded(sid, row[1], row[0], now) for e, row in zip(a.events, rows, strict=True)]
        )
        return AppendResult(sid, events[-1].version, events, category=category)

    # -- import -------------------------------------------------------------------------------

    import_keeps = frozenset({"positions", "recorded_at"})

    def import_events(
        self,
        streams: Mapping[str, ImportedStream],
        events: Sequence[ImportedEvent],
        *,
        keep_positions: bool = True,
    ) -> int:
        if not keep_positions or not events:
            return super().import_events(streams, events, keep_positions=keep_positions)
        try:
            return self._translate(self._import, streams, events)
        except IntegrityError as exc:  # the batch's transaction was rolled back
            raise self._import_refusal(events) from exc

    def _import_refusal(self, events: Sequence[ImportedEvent]) -> Exception:
        """The error of an import batch that broke a unique constraint: an event id twice in
        the batch or stored already (IdConflict), else a position or version taken."""
        ids = [i.event.id for i in events]
        twice = (
            sorted({str(i) for i in ids if ids.count(i) > 1}) if len(set(ids)) < len(ids) else []
        )
        if twice:
            return IdConflict(twice, "the import holds these event ids twice")
        stored = self.find_event_streams(ids)
        if stored:
            return IdConflict(
                sorted(str(i) for i in stored), "an event id of the import is stored already"
            )
        return ValidationError(
            "position",
            "the import's positions or versions are stored already: import into an empty "
            "store, or merge",
        )

    def _import(
        self, streams: Mapping[str, ImportedStream], events: Sequence[ImportedEvent]
    ) -> int:
        """Write the events with their positions and store times in one transaction: the
        missing heads (empty) in multi-row INSERTs, the events (COPY on PostgreSQL), each
        head's version and counts from the rows just written in one UPDATE, then the
        position sequence past the highest position."""
        db_time = self._db_time
        first_seen: dict[str, ImportedEvent] = {}
        for imported in events:
            first_seen.setdefault(imported.stream_id, imported)
        low, high = events[0].position, events[-1].position
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            heads = [
                (
                    sid,
                    streams[sid].kind,
                    streams[sid].category,
                    db_time(first.recorded_at),
                    db_time(first.recorded_at),
                    json.dumps(streams[sid].metadata),
                )
                for sid, first in first_seen.items()
            ]
            for start in range(0, len(heads), IMPORT_ROWS):
                chunk = heads[start : start + IMPORT_ROWS]
                cursor.execute(
                    "INSERT INTO flipbook_stream (stream_id, kind, category, version, "
                    "event_count, created_at, updated_at, metadata) VALUES "
                    + ", ".join(["(%s, %s, %s, 0, 0, %s, %s, %s)"] * len(chunk))
                    + " ON CONFLICT (stream_id) DO NOTHING",
                    [value for row in chunk for value in row],
                )
            pks: dict[str, int] = {}
            ids = list(first_seen)
            for start in range(0, len(ids), IMPORT_ROWS):
                some_ids = ids[start : start + IMPORT_ROWS]
                cursor.execute(
                    "SELECT stream_id, id FROM flipbook_stream WHERE stream_id IN "
                    f"({', '.join(['%s'] * len(some_ids))})",
                    some_ids,
                )
                pks.update(cursor.fetchall())
            self.ops.import_events(cursor, [pks[i.stream_id] for i in events], events)
            # Positions low..high hold exactly this batch: an import fills an empty store in
            # position order.
            cursor.execute(
                "UPDATE flipbook_stream SET "
                "version = CASE WHEN flipbook_stream.kind = 'neutral' THEN 0 ELSE x.v END, "
                "event_count = flipbook_stream.event_count + x.n, updated_at = x.u "
                "FROM (SELECT stream_pk, max(version) AS v, count(*) AS n, "
                "max(recorded_at) AS u FROM flipbook_event "
                "WHERE position >= %s AND position <= %s GROUP BY stream_pk) AS x "
                "WHERE flipbook_stream.id = x.stream_pk",
                [low, high],
            )
            self.ops.advance_positions(cursor, high)
        return len(events)

    def on_durable(self, callback: Callable[[], object]) -> None:
        conn = self.connection
        if conn.in_atomic_block or not conn.autocommit:
            transaction.on_commit(callback, using=self.using)
        else:
            callback()  # what on_commit would do, without its connection checks

    # -- reads --------------------------------------------------------------------------------

    def read(self, query: StreamQuery) -> list[RecordedEvent]:
        return self._translate(self._read, query)

    def iter_read(self, query: StreamQuery, batch_size: int = 1000) -> Iterator[RecordedEvent]:
        stream = self._translate(self._stream_key, query.stream_id)
        if stream is None:
            return
        after = query.after
        while True:
            page = replace(query, limit=batch_size, after=after)
            batch = self._translate(self._read, page, stream)
            yield from batch
            if len(batch) < batch_size:
                return
            after = self.cursor_key(batch[-1], query)

    def _stream_key(self, stream_id: str) -> tuple[int, str, int] | None:
        """(pk, kind, truncate_before) of a stream; raises what reading a deleted one does."""
        with self.ops.cursor() as cursor:
            self.ops.execute(
                cursor,
                "SELECT id, kind, truncate_before, deleted FROM flipbook_stream "
                "WHERE stream_id = %s",
                [stream_id],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        if row[3]:
            check_readable(stream_id, DELETED_STATES[row[3]])
        return row[0], row[1], row[2]

    def _read(
        self, query: StreamQuery, stream: tuple[int, str, int] | None = None
    ) -> list[RecordedEvent]:
        if stream is None:
            stream = self._stream_key(query.stream_id)
            if stream is None:
                return []
        pk, kind, truncate_before = stream
        with self.ops.cursor() as cursor:
            ordinal = "e.position" if kind == NEUTRAL else "e.version"
            # "version IS NULL" lets neutral reads use their partial (stream, position) index.
            where = ["e.stream_pk = %s"]
            if kind == NEUTRAL:
                where.append("e.version IS NULL")
            params: list[Any] = [pk]
            if truncate_before:
                where.append(f"{ordinal} >= %s")
                params.append(truncate_before)
            if query.from_version is not None:
                where.append("e.version >= %s")
                params.append(query.from_version)
            if query.to_version is not None:
                where.append("e.version <= %s")
                params.append(query.to_version)
            op = "<" if query.backwards else ">"
            direction = "DESC" if query.backwards else "ASC"
            if query.by_time:
                where.append("e.timestamp IS NOT NULL")
                if query.since is not None:
                    where.append("e.timestamp >= %s")
                    params.append(self._db_time(query.since))
                if query.until is not None:
                    where.append("e.timestamp <= %s")
                    params.append(self._db_time(query.until))
                if query.after is not None:
                    where.append(f"(e.timestamp, {ordinal}) {op} (%s, %s)")
                    params += [
                        self._db_time(datetime.fromisoformat(query.after[0])),
                        query.after[1],
                    ]
                order = f"e.timestamp {direction}, {ordinal} {direction}"
            else:
                if query.after is not None:
                    where.append(f"{ordinal} {op} %s")
                    params.append(query.after[0])
                order = f"{ordinal} {direction}"
            params.append(query.limit)
            self.ops.execute(
                cursor,
                f"SELECT {EVENT_COLUMNS} FROM flipbook_event e WHERE {' AND '.join(where)} "
                f"ORDER BY {order} LIMIT %s",
                params,
            )
            return [self._event(row, query.stream_id) for row in cursor.fetchall()]

    def head(self, stream_id: str) -> StreamInfo | None:
        return self._translate(self._head, stream_id)

    def _head(self, stream_id: str) -> StreamInfo | None:
        with self.ops.cursor() as cursor:
            self.ops.execute(
                cursor,
                f"SELECT {STREAM_COLUMNS} FROM flipbook_stream s WHERE s.stream_id = %s",
                [stream_id],
            )
            row = cursor.fetchone()
        return None if row is None else self._stream(row)

    def list_streams(
        self, *, prefix: str | None, category: str | None, after: str | None, limit: int
    ) -> list[StreamInfo]:
        return self._translate(self._list_streams, prefix, category, after, limit)

    def _list_streams(
        self, prefix: str | None, category: str | None, after: str | None, limit: int
    ) -> list[StreamInfo]:
        where, params = self._stream_filters(prefix, category)
        where.append("s.deleted = 0")
        if after is not None:
            where.append("s.stream_id > %s")
            params.append(after)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        params.append(limit)
        with self.ops.cursor() as cursor:
            self.ops.execute(
                cursor,
                f"SELECT {STREAM_COLUMNS} FROM flipbook_stream s{clause} "
                "ORDER BY s.stream_id LIMIT %s",
                params,
            )
            return [self._stream(row) for row in cursor.fetchall()]

    def read_all(self, query: FeedQuery) -> FeedPage:
        return self._translate(self._read_all, query)

    def _read_all(self, query: FeedQuery) -> FeedPage:
        with self.ops.cursor() as cursor:
            settled = self.ops.settled_position(cursor, query.after)
            if settled <= query.after:
                return FeedPage([], query.after)
            where = ["e.position > %s", "e.position <= %s"]
            params: list[Any] = [query.after, settled]
            if query.categories:
                where.append(f"s.category IN ({', '.join(['%s'] * len(query.categories))})")
                params += list(query.categories)
            if query.names:
                where.append(f"e.name IN ({', '.join(['%s'] * len(query.names))})")
                params += list(query.names)
            params.append(query.limit)
            self.ops.execute(
                cursor,
                f"SELECT {EVENT_COLUMNS}, s.stream_id FROM flipbook_event e "
                "JOIN flipbook_stream s ON s.id = e.stream_pk "
                f"WHERE {' AND '.join(where)} ORDER BY e.position LIMIT %s",
                params,
            )
            events = [self._event(row[:8], row[8]) for row in cursor.fetchall()]
        next_after = events[-1].position if len(events) == query.limit else settled
        return FeedPage(events, next_after)

    def find_events(self, ids: Sequence[UUID]) -> dict[UUID, RecordedEvent]:
        with self.ops.cursor() as cursor:
            self.ops.execute(
                cursor,
                f"SELECT {EVENT_COLUMNS}, s.stream_id FROM flipbook_event e "
                "JOIN flipbook_stream s ON s.id = e.stream_pk "
                f"WHERE e.event_id IN ({', '.join(['%s'] * len(ids))})",
                [self.ops.db_uuid(i) for i in ids],
            )
            events = [self._event(row[:8], row[8]) for row in cursor.fetchall()]
        return {e.id: e for e in events}

    def find_event_streams(self, ids: Sequence[UUID]) -> dict[UUID, str]:
        with self.ops.cursor() as cursor:
            self.ops.execute(
                cursor,
                "SELECT e.event_id, s.stream_id FROM flipbook_event e "
                "JOIN flipbook_stream s ON s.id = e.stream_pk "
                f"WHERE e.event_id IN ({', '.join(['%s'] * len(ids))})",
                [self.ops.db_uuid(i) for i in ids],
            )
            rows = cursor.fetchall()
        return {i if isinstance(i, UUID) else UUID(i): stream_id for i, stream_id in rows}

    # -- conversions --------------------------------------------------------------------------

    @overload
    def _time(self, value: None) -> None: ...
    @overload
    def _time(self, value: datetime | str) -> datetime: ...
    def _time(self, value: datetime | str | None) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            value = datetime.fromisoformat(value)
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def _event(self, row: Sequence[Any], stream_id: str) -> RecordedEvent:
        position, version, timestamp, name, payload, metadata, event_id, recorded_at = row
        return RecordedEvent(  # positional, in field order (cheaper than keywords)
            stream_id,
            version,
            self._time(timestamp),
            name,
            load_json(payload),
            {} if metadata == "{}" else load_json(metadata),
            event_id if isinstance(event_id, UUID) else UUID(event_id),
            position,
            self._time(recorded_at),
        )

    def _stream(self, row: Sequence[Any]) -> StreamInfo:
        stream_id, kind, category, version, count, created, updated, metadata, last = row[:9]
        return StreamInfo(
            stream_id=stream_id,
            kind=kind,
            category=category,
            version=None if kind == NEUTRAL else version,
            event_count=count,
            first_recorded_at=self._time(created),
            last_recorded_at=self._time(updated),
            last_position=last or 0,
            metadata=load_json(metadata) or {},
            deleted=DELETED_STATES[row[9]],
            truncate_before=row[10],
        )

    def _translate(self, func: Callable[[*Args], T], *args: *Args) -> T:
        """Call ``func``, turning driver errors into Flipbook errors at this boundary."""
        try:
            return func(*args)
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable(
                f"the {self.connection.vendor} database is unavailable or busy; retry later"
            ) from exc
        except IntegrityError:
            raise
        except DatabaseError as exc:
            raise Unavailable(
                f"the {self.connection.vendor} database refused the operation; retry later"
            ) from exc


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
