"""PostgreSQL, the production database of the event store: one-statement appends run through
libpq's prepared statements, the all-feed's settled horizon, and the planner's estimates for
big totals."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from django.db.backends.utils import CursorWrapper

from streams.backends.database.features import DatabaseFeatures, Params
from streams.backends.database.sql import Refused, head_shape, head_sql
from streams.exceptions import Unavailable
from streams.records import CommitResult, ImportedEvent, PreparedAppend, PreparedEvent
from streams.validation import compact_json

if TYPE_CHECKING:
    import psycopg
    from django.db.backends.base.base import BaseDatabaseWrapper

    from streams.backends.database.store import DatabaseEventStore

# What the statements return: rows of plain tuples.
Rows = list[tuple[Any, ...]]

features = DatabaseFeatures(
    vendor="postgresql",
    one_statement_append=True,
    concurrent_writers=True,
    native_time=True,
    native_uuid=True,
    prepared_statements=True,
    estimated_totals=True,
)

# The distinct categories of the streams (as rows of c, ending with a NULL), by one probe of
# the partial (category, stream_id) index per category (PostgreSQL has no skip scan).
CATEGORY_SKIP_SCAN = (
    "WITH RECURSIVE c(name) AS ((SELECT category FROM flipbook_stream WHERE category IS NOT "
    "NULL ORDER BY category LIMIT 1) UNION ALL SELECT (SELECT s.category FROM flipbook_stream "
    "s WHERE s.category > c.name ORDER BY s.category LIMIT 1) FROM c WHERE c.name IS NOT NULL)"
)
# The events of a multi-event statement, as parameters that cost the client one C call or a
# string join each (see ``event_columns``): psycopg dumps a text[] element by element in
# Python, escaping every quote of a JSON payload through a regex template.
EVENT_FUNCTIONS = (
    "unnest(%(ts)s::timestamptz[]), json_array_elements_text(%(name)s::json), "
    "json_array_elements(%(payload)s::json), json_array_elements(%(meta)s::json)"
)
EVENT_ROWS = f"ROWS FROM ({EVENT_FUNCTIONS}) WITH ORDINALITY AS v(ts, name, payload, meta, ord)"
EVENT_VALUES = (
    "v.ts, v.name, v.payload::jsonb, v.meta::jsonb, "
    "CAST(substr(%(eid)s, CAST(v.ord * 32 - 31 AS integer), 32) AS uuid)"
)


def event_columns(events: Sequence[PreparedEvent]) -> dict[str, Any]:
    """The parameters of ``EVENT_ROWS`` and ``EVENT_VALUES``: timestamps as an array
    (mostly NULLs), names and the already encoded payloads and metadata as JSON arrays, the
    ids as one string of 32 hex digits each."""
    return {
        "ts": [e.timestamp for e in events],
        "name": compact_json([e.name for e in events]),
        "payload": "[" + ",".join([e.payload_json for e in events]) + "]",
        "meta": "[" + ",".join([e.metadata_json for e in events]) + "]",
        "eid": "".join([e.id.hex for e in events]),
    }


def one_statement_params(
    store: DatabaseEventStore, a: PreparedAppend, now: datetime
) -> dict[str, Any]:
    """The parameters of ``one_statement_sql`` for ``a``: one event as plain values (encoding
    one-element arrays costs more client time than the statement), more as columns."""
    params = store.head_params(a, now)
    events = a.events
    if len(events) == 1:
        e = events[0]
        params["ts"], params["name"], params["eid"] = e.timestamp, e.name, e.id
        params["payload"], params["meta"] = e.payload_json, e.metadata_json
    else:
        params.update(event_columns(events))
    return params


@cache
def one_statement_sql(
    check: str, kind_given: bool, category_given: bool, one: bool, own_transaction: bool
) -> str:
    """PostgreSQL: a head statement and the insert of its events as one statement; see
    ``PostgreSQLOperations.append_one_statement``. Only appends at an expected version, where
    refusals are common, read the current head in the same statement (``cur``); the others
    explain a refusal with a second query.

    A refused attempt holds row locks, so it has a transaction id and WAL to commit. When the
    statement is its own transaction (``own_transaction``) the refusal comes back as a row
    and the transaction commits asynchronously: it changed no data, so nothing waits for a
    WAL flush while still holding the head row's lock. Inside a caller's transaction, where
    that setting would cover the caller's writes too, flipbook_refuse raises instead and the
    savepoint rolls back."""
    if one:
        rows_sql = (
            "SELECT head.id, CASE WHEN head.kind = 'neutral' THEN NULL ELSE head.version END, "
            "%(ts)s::timestamptz, %(name)s, %(payload)s::jsonb, %(meta)s::jsonb, %(eid)s::uuid, "
            "%(now)s FROM head"
        )
    else:
        rows_sql = (
            "SELECT head.id, CASE WHEN head.kind = 'neutral' THEN NULL "
            f"ELSE head.version - %(n)s + v.ord END, {EVENT_VALUES}, %(now)s "
            f"FROM head CROSS JOIN {EVENT_ROWS} ORDER BY v.ord"
        )
    sql = (
        f"WITH head AS ({head_sql(check, kind_given, category_given, one)}), ins AS ("
        "INSERT INTO flipbook_event (stream_pk, version, timestamp, name, payload, metadata, "
        f"event_id, recorded_at) {rows_sql} RETURNING position, version)"
    )
    if check != "at":
        return sql + " SELECT ins.position, ins.version, head.kind, head.category FROM ins, head"
    return sql + (
        # A tombstone's refusal names the kind "tombstone" (see DatabaseEventStore.append).
        ", cur AS (SELECT CASE WHEN deleted = 2 THEN 'tombstone' ELSE kind END AS kind, "
        "category, version FROM flipbook_stream "
        "WHERE stream_id = %(sid)s AND NOT EXISTS (SELECT 1 FROM head) FOR SHARE) "
        "SELECT ins.position, ins.version, head.kind, head.category FROM ins, head "
        "UNION ALL SELECT NULL, version, kind, category FROM cur "
        + (
            "WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL"
            if own_transaction
            else "WHERE flipbook_refuse(version, kind, category)"
        )
    )


# The SQLSTATE of flipbook_refuse (migration 0004): an append at an expected version inside a
# caller's transaction that was refused. Its detail is the head as "version|kind|category".
REFUSED_SQLSTATE = "FB409"


def refusal(detail: str | None) -> Refused:
    """The refusal that flipbook_refuse's error detail describes (a category is never empty,
    so an empty one is NULL; it comes last, so it may hold "|")."""
    assert detail is not None  # flipbook_refuse always gives one
    version, kind, category = detail.split("|", 2)
    return Refused(0, (int(version), kind, category or None))


@cache
def _numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """``sql`` with its %(name)s parameters as $1, $2, ... (a name used twice keeps its
    number), and the names in number order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    text = re.sub(r"%\((\w+)\)s", number, sql)
    return text.encode(), tuple(order)


_STATEMENT_NUMBERS = itertools.count(1)


class SessionStatements:
    """The append statements of one PostgreSQL session, prepared once and then run with
    libpq's PQexecPrepared: psycopg's adapters dump the parameters and load the rows, but
    its cursor machinery (query conversion, prepared-statement bookkeeping, the wait loop)
    is skipped, about a fifth of a one-event append's client CPU. PQexecPrepared releases
    the GIL while it waits. Only used in autocommit: it sends no BEGIN."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        from psycopg import errors, pq
        from psycopg.adapt import PyFormat, Transformer

        self.raw = raw
        self.pgconn = raw.pgconn
        self.transformer = Transformer(raw)
        self.auto = PyFormat.AUTO
        self.tuples_ok = pq.ExecStatus.TUPLES_OK
        self.command_ok = pq.ExecStatus.COMMAND_OK
        self.error_from_result = errors.error_from_result
        # (statement text, parameter types) -> the name it is prepared under
        self.names: dict[tuple[bytes, tuple[int, ...] | None], bytes] = {}
        self._append_cursor: psycopg.Cursor[Any] | None = None

    def append_cursor(self, ops: PostgreSQLOperations) -> psycopg.Cursor[Any]:
        """The psycopg cursor appends inside a transaction run on (kept per session)."""
        if self._append_cursor is None:
            self._append_cursor = ops.cursor().cursor
        return self._append_cursor

    def run(self, sql: str, params: dict[str, Any]) -> Rows:
        """Execute ``sql`` (%(name)s parameters from ``params``); return its rows."""
        text, order = _numbered(sql)
        tx = self.transformer
        dumped = tx.dump_sequence([params[name] for name in order], (self.auto,) * len(order))
        key = (text, tx.types)
        with self.raw.lock:
            for attempt in (1, 2):
                name = self.names.get(key) or self._prepare(key)
                # psycopg types exec_prepared's values without None, which it sends as NULL.
                result = self.pgconn.exec_prepared(
                    name,
                    dumped,  # type: ignore[arg-type]
                    param_formats=tx.formats,
                )
                if result.status == self.tuples_ok:
                    break
                error = self.error_from_result(result, encoding=self.raw.info.encoding)
                if error.sqlstate != "26000" or attempt == 2:
                    raise error
                self.names.clear()  # DISCARD/DEALLOCATE ALL dropped them: prepare again
        tx.set_pgresult(result)
        return tx.load_rows(0, result.ntuples, tuple)

    def _prepare(self, key: tuple[bytes, tuple[int, ...] | None]) -> bytes:
        # Unique in the process, so names are never reused on a session: not after a DISCARD
        # ALL, nor by a second store (a settings change) meeting the same session.
        name = f"flipbook_append_{next(_STATEMENT_NUMBERS)}".encode()
        result = self.pgconn.prepare(name, key[0], param_types=key[1])
        if result.status != self.command_ok:
            raise self.error_from_result(result, encoding=self.raw.info.encoding)
        self.names[key] = name
        return name


def libpq_exec_available() -> bool:
    """Whether psycopg still offers what the direct libpq path of one-event appends needs;
    when it does not, appends take psycopg's cursor (the ``prepare=False`` path)."""
    try:
        from psycopg import pq
        from psycopg.adapt import PyFormat, Transformer

        return all(
            hasattr(x, name)
            for x, name in (
                (pq.PGconn, "exec_prepared"),
                (pq.PGconn, "prepare"),
                (Transformer, "dump_sequence"),
                (Transformer, "load_rows"),
                (Transformer, "set_pgresult"),
                (PyFormat, "AUTO"),
            )
        )
    except ImportError:
        return False


class PostgreSQLOperations:
    """The statements that are PostgreSQL's own, for one DatabaseEventStore."""

    features = features
    minute_bucket = "floor(extract(epoch FROM e.recorded_at) / 60)::bigint"
    # Above this many streams (the planner's estimate) the totals of streams and events are
    # estimates: exact counts scan the whole head table (about 0.5 s a million).
    EXACT_TOTALS_MAX = 200_000

    def __init__(self, store: DatabaseEventStore) -> None:
        self.store = store
        self.prepare = store.prepare
        # The direct libpq path, while psycopg offers it (streams/speedups.py).
        self.libpq = store.prepare and libpq_exec_available()
        self._sequence_name: str | None = None
        # Per thread: (driver connection, its session statements). Kept here, not on the
        # driver's connection object; a new database session gets new statements.
        self._sessions = threading.local()

    def session(self, raw: psycopg.Connection[Any]) -> SessionStatements:
        """The prepared statements of the database session ``raw`` (made on first use)."""
        held = getattr(self._sessions, "held", None)
        if held is None or held.raw is not raw:
            held = self._sessions.held = SessionStatements(raw)
        return held

    def cursor(self) -> CursorWrapper:
        """A cursor on the alias. On PostgreSQL it binds parameters on the server (so the
        store's few statement shapes can be prepared once per connection, see ``_execute``)
        and loads timestamps with psycopg's C loader rather than Django's Python one."""
        conn = self.store.connection
        import psycopg  # the driver stays an import of this backend only
        from psycopg.types.datetime import TimestamptzLoader

        conn.ensure_connection()
        conn.validate_thread_sharing()
        if self.prepare and conn.connection.prepare_threshold is None:
            # Django opens connections with preparing off, which makes psycopg ignore even an
            # explicit prepare=True. A huge threshold leaves every other query unprepared.
            conn.connection.prepare_threshold = 2**31 - 1
        raw = psycopg.Cursor(conn.connection)
        raw.adapters.register_loader("timestamptz", TimestamptzLoader)
        return CursorWrapper(raw, conn)

    def execute(self, cursor: CursorWrapper, sql: str, params: Params = None) -> None:
        """Execute one of the store's statements. On PostgreSQL it is prepared on the server
        (Django turns psycopg's automatic preparing off): planning a one-event append costs
        as much as running it."""
        conn = self.store.connection
        conn.validate_no_broken_transaction()
        with conn.wrap_database_errors:
            cursor.cursor.execute(sql, params, prepare=self.prepare)

    def append_one_statement(
        self, conn: BaseDatabaseWrapper, a: PreparedAppend, now: datetime
    ) -> CommitResult | Refused:
        """PostgreSQL: check the head and insert the events in one statement (one round trip).

        The head write comes first and the events come from its RETURNING row, so a failed
        check inserts nothing. At an expected version, ``cur`` then reads the head row FOR
        SHARE (waiting for a racing writer, and seeing its commit) so a refusal names the
        current version at no extra round trip. Its row locks must not cost a WAL flush per
        refused attempt (contended appends refuse several per success): see
        ``_one_statement_sql``. One event is sent as plain values: encoding one-element
        arrays costs more client time than the statement.

        This is the hot path of every one-event append, so it does by hand what Django's
        cursor would (open the connection, check the thread, map driver errors). Outside a
        transaction it runs the statement through libpq directly (``SessionStatements``);
        inside one, on a psycopg cursor kept per database session. Client CPU is most of what
        separates an append from a bare INSERT (see the README's benchmark notes)."""
        params = one_statement_params(self.store, a, now)
        raw = conn.connection
        if raw is None:
            conn.ensure_connection()
            raw = conn.connection
        conn.validate_thread_sharing()
        if conn.in_atomic_block:
            conn.validate_no_broken_transaction()
        own_transaction = conn.autocommit and not conn.in_atomic_block
        sql = one_statement_sql(*head_shape(a), own_transaction)
        # A refusal comes back as a _Refused, returned (see ``append``) rather than raised
        # inside the error wrapper, which would test it against every driver error class.
        rows: Rows | Refused
        with conn.wrap_database_errors:
            if self.libpq and own_transaction:
                rows = self.session(raw).run(sql, params)
            else:
                cursor = self.session(raw).append_cursor(self)
                try:
                    cursor.execute(sql, params, prepare=self.prepare)
                    rows = cursor.fetchall()
                except Exception as exc:  # psycopg's; this module does not import the driver
                    if getattr(exc, "sqlstate", None) != REFUSED_SQLSTATE:
                        raise
                    rows = refusal(cast("psycopg.Error", exc).diag.message_detail)
        if type(rows) is Refused:
            return rows
        if not rows or rows[0][0] is None:
            return Refused(0, rows[0][1:] if rows else None)
        if len(rows) > 1:
            rows.sort()
        return CommitResult((self.store.result(a, rows, now, rows[0][3]),))

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
        names = "stream_pk, version, timestamp, name, payload, metadata, event_id, recorded_at"
        self.execute(
            cursor,
            f"INSERT INTO flipbook_event ({names}) "
            f"SELECT v.pk, v.version, {EVENT_VALUES}, %(now)s FROM ROWS FROM "
            f"(unnest(%(pk)s::bigint[]), unnest(%(version)s::bigint[]), {EVENT_FUNCTIONS}) "
            "WITH ORDINALITY AS v(pk, version, ts, name, payload, meta, ord) "
            "ORDER BY v.ord RETURNING position, version",
            {"pk": pks, "version": versions, "now": now, **event_columns(events)},
        )
        return sorted(cursor.fetchall())

    def prefix_filter(self, prefix: str) -> tuple[str, list[Any]]:
        # Case-sensitive, and served by the varchar_pattern_ops index Django creates.
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return "s.stream_id LIKE %s", [escaped + "%"]

    def categories(self, cursor: CursorWrapper) -> list[str]:
        # A skip scan of the category index: one probe per category, not per stream.
        self.execute(cursor, f"{CATEGORY_SKIP_SCAN} SELECT name FROM c WHERE name IS NOT NULL")
        return [row[0] for row in cursor.fetchall()]

    def totals(self, cursor: CursorWrapper) -> dict[str, Any]:
        # Distinct categories by a skip scan of the category index: one probe each.
        self.execute(
            cursor,
            f"{CATEGORY_SKIP_SCAN} SELECT count(name), "
            "(SELECT coalesce(max(position), 0) FROM flipbook_event), "
            "(SELECT reltuples::bigint FROM pg_class "
            "WHERE oid = 'flipbook_stream'::regclass), "
            "(SELECT reltuples::bigint FROM pg_class "
            "WHERE oid = 'flipbook_event'::regclass) FROM c",
        )
        categories, last, streams, events = cursor.fetchone()
        approximate = streams > self.EXACT_TOTALS_MAX
        if not approximate:
            self.execute(
                cursor, "SELECT count(*), coalesce(sum(event_count), 0) FROM flipbook_stream"
            )
            streams, events = cursor.fetchone()
        return {
            "streams": streams,
            "events": int(events),
            "categories": categories,
            "last_position": last,
            "approximate": approximate,
        }

    def settled_position(self, cursor: CursorWrapper, after: int) -> int:
        """The highest position below which no event can still become visible.

        SQLite has one writer at a time, so the highest stored position is settled. On
        PostgreSQL a writer draws positions while its transaction is open, and an earlier
        position may commit after a later one. A writer holds a RowExclusiveLock on
        flipbook_event from before it draws a position (the lock is taken when its INSERT is
        planned) until its transaction ends, so: read the sequence's last value L, *then*
        list the transactions holding that lock; every transaction that drew a position <= L
        and is still open is among them. Once all of those have ended, each position <= L is
        either visible or will never be. The wait lasts as long as the slowest in-flight
        write to this table; other tables and databases do not delay it.

        (A snapshot's xip list is no such bound: its xmax is one past the newest *completed*
        xid, so a writer holding the newest xid is missing from it while it is still open.)"""
        self.execute(cursor, f"SELECT last_value, is_called FROM {self.sequence(cursor)}")
        last_value, is_called = cursor.fetchone()
        settled: int = last_value if is_called else 0
        if settled <= after:
            return settled
        writing = (
            "SELECT array_agg(virtualtransaction) FROM pg_locks WHERE locktype = 'relation' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND relation = 'flipbook_event'::regclass AND mode = 'RowExclusiveLock' "
            "AND pid IS DISTINCT FROM pg_backend_pid()"
        )
        self.execute(cursor, writing)
        writers = cursor.fetchone()[0]
        deadline = time.monotonic() + self.store.feed_wait_seconds
        delay = 0.0005
        while writers:
            if time.monotonic() > deadline:
                raise Unavailable(
                    "the all-feed is waiting for a write transaction that has been open for "
                    f"over {self.store.feed_wait_seconds:g} s; retry later"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
            self.execute(cursor, writing + " AND virtualtransaction = ANY(%s)", [writers])
            writers = cursor.fetchone()[0]
        return settled

    def import_events(
        self, cursor: CursorWrapper, pks: list[int], events: Sequence[ImportedEvent]
    ) -> None:
        """COPY: the fastest way into PostgreSQL, on the connection's open transaction."""
        columns = (
            "position, stream_pk, version, timestamp, name, payload, metadata, event_id, "
            "recorded_at"
        )
        import psycopg
        from django.db import IntegrityError

        raw = cursor.cursor
        try:
            self._copy(raw, columns, pks, events)
        except psycopg.errors.IntegrityError as exc:
            # COPY runs on psycopg's own cursor, outside Django's error wrapping.
            raise IntegrityError(*exc.args) from exc

    def _copy(
        self, raw: Any, columns: str, pks: list[int], events: Sequence[ImportedEvent]
    ) -> None:
        with raw.copy(f"COPY flipbook_event ({columns}) FROM STDIN") as copy:
            for pk, i in zip(pks, events, strict=True):
                e = i.event
                copy.write_row(
                    (
                        i.position,
                        pk,
                        e.version,
                        e.timestamp,
                        e.name,
                        e.payload_json,
                        e.metadata_json,
                        e.id,
                        i.recorded_at,
                    )
                )

    def advance_positions(self, cursor: CursorWrapper, last: int) -> None:
        """Move the position sequence to ``last`` unless it is past it already."""
        sequence = self.sequence(cursor)
        cursor.execute(
            f"SELECT setval(%s, GREATEST(%s, (SELECT last_value FROM {sequence})))",
            [sequence, last],
        )

    def sequence(self, cursor: CursorWrapper) -> str:
        if self._sequence_name is None:
            cursor.execute("SELECT pg_get_serial_sequence('flipbook_event', 'position')")
            self._sequence_name = cursor.fetchone()[0]
        return self._sequence_name

    def db_time(self, value: datetime | None) -> datetime | None:
        return value

    def db_uuid(self, value: UUID) -> UUID:
        return value
