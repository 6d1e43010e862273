"""DatabaseEventStore: the event store on Django's database (SQLite or PostgreSQL).

Appends and reads are set-based SQL on the tables of streams/models.py. Concurrency comes
from the head row of each stream: the version check is a conditional UPDATE/UPSERT of that
row, so racing writers queue on its row lock and exactly one wins each version.

Global positions come from the events table's identity sequence. On PostgreSQL writers stay
concurrent (no table lock), so positions may become visible out of order; the all-feed reader
therefore only returns positions up to a *settled* horizon (see ``_settled_position``)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import UUID

from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)
from django.db.backends.utils import CursorWrapper

from streams.backends.base import BaseEventStore, effective_kind, refusal_error
from streams.exceptions import Unavailable, VersionConflict
from streams.records import (
    NEUTRAL,
    AppendResult,
    CommitResult,
    FeedPage,
    FeedQuery,
    PreparedAppend,
    PreparedEvent,
    RecordedEvent,
    StreamInfo,
    StreamQuery,
)
from streams.validation import compact_json

# JSON columns are read as text on every database, so decoding is one json.loads everywhere.
EVENT_COLUMNS = (
    "e.position, e.version, e.timestamp, e.name, CAST(e.payload AS text), "
    "CAST(e.metadata AS text), e.event_id, e.recorded_at"
)
# The distinct categories of the streams (as rows of c, ending with a NULL), by one probe of
# the partial (category, stream_id) index per category (PostgreSQL has no skip scan).
CATEGORY_SKIP_SCAN = (
    "WITH RECURSIVE c(name) AS ((SELECT category FROM flipbook_stream WHERE category IS NOT "
    "NULL ORDER BY category LIMIT 1) UNION ALL SELECT (SELECT s.category FROM flipbook_stream "
    "s WHERE s.category > c.name ORDER BY s.category LIMIT 1) FROM c WHERE c.name IS NOT NULL)"
)
STREAM_COLUMNS = (
    "s.stream_id, s.kind, s.category, s.version, s.event_count, s.created_at, s.updated_at, "
    "CAST(s.metadata AS text), "
    "CASE WHEN s.kind = 'neutral' THEN (SELECT max(x.position) FROM flipbook_event x "
    "WHERE x.stream_pk = s.id AND x.version IS NULL) ELSE (SELECT x.position FROM "
    "flipbook_event x WHERE x.stream_pk = s.id AND x.version IS NOT NULL "
    "ORDER BY x.version DESC LIMIT 1) END"
)
MAX_ATTEMPTS = 3


def _head_shape(a: PreparedAppend) -> tuple[str, bool, bool, bool]:
    """What decides the text of a head statement: the kind of expectation ("new", "any",
    "exists" or "at" a version), whether a kind and a category are given, and whether the
    append holds one event. What the shape fixes is written into the statement as literals:
    every parameter psycopg adapts costs client time."""
    expected = a.expected_version
    if expected == 0:
        check = "new"
    elif isinstance(expected, int):
        check = "at"
    else:
        check = expected
    return check, a.kind is not None, a.category is not None, len(a.events) == 1


@cache
def _head_sql(check: str, kind_given: bool, category_given: bool, one: bool) -> str:
    """The head statement of a shape (see ``_head_shape``), with named parameters among sid,
    n, new_kind, new_version, cat, now, kind, expected (see ``_head_params``)."""
    n = "1" if one else "%(n)s"
    conditions = []
    if kind_given:
        conditions.append("flipbook_stream.kind = %(kind)s")
    elif check == "at":
        conditions.append("flipbook_stream.kind = 'versioned'")
    if category_given:
        conditions.append(
            "(flipbook_stream.category IS NULL OR flipbook_stream.category = %(cat)s)"
        )
    if check == "at":
        conditions.append("flipbook_stream.version = %(expected)s")
    update = (
        "version = CASE WHEN flipbook_stream.kind = 'neutral' THEN 0 "
        f"ELSE flipbook_stream.version + {n} END, "
        f"event_count = flipbook_stream.event_count + {n}, updated_at = %(now)s"
    )
    if category_given:
        update += ", category = COALESCE(flipbook_stream.category, %(cat)s)"
    if kind_given:
        new_kind, new_version = "%(new_kind)s", "%(new_version)s"
    else:
        new_kind, new_version = "'versioned'", n
    insert = (
        "INSERT INTO flipbook_stream (stream_id, kind, category, version, event_count, "
        f"created_at, updated_at, metadata) VALUES (%(sid)s, {new_kind}, "
        f"{'%(cat)s' if category_given else 'NULL'}, {new_version}, {n}, %(now)s, %(now)s, '{{}}')"
    )
    returning = " RETURNING id, kind, version, category"
    where = " AND ".join(conditions)
    if check == "new":
        return insert + " ON CONFLICT (stream_id) DO NOTHING" + returning
    if check == "any":
        return (
            insert + " ON CONFLICT (stream_id) DO UPDATE SET " + update
            + (" WHERE " + where if where else "") + returning
        )  # fmt: skip
    return (
        "UPDATE flipbook_stream SET " + update + " WHERE flipbook_stream.stream_id = %(sid)s"
        + (" AND " + where if where else "") + returning
    )  # fmt: skip


# The events of a multi-event statement, as parameters that cost the client one C call or a
# string join each (see ``_event_columns``): psycopg dumps a text[] element by element in
# Python, escaping every quote of a JSON payload through a regex template.
_EVENT_FUNCTIONS = (
    "unnest(%(ts)s::timestamptz[]), json_array_elements_text(%(name)s::json), "
    "json_array_elements(%(payload)s::json), json_array_elements(%(meta)s::json)"
)
_EVENT_ROWS = f"ROWS FROM ({_EVENT_FUNCTIONS}) WITH ORDINALITY AS v(ts, name, payload, meta, ord)"
_EVENT_VALUES = (
    "v.ts, v.name, v.payload::jsonb, v.meta::jsonb, "
    "CAST(substr(%(eid)s, CAST(v.ord * 32 - 31 AS integer), 32) AS uuid)"
)


def _event_columns(events: Sequence[PreparedEvent]) -> dict[str, Any]:
    """The parameters of ``_EVENT_ROWS`` and ``_EVENT_VALUES``: timestamps as an array
    (mostly NULLs), names and the already encoded payloads and metadata as JSON arrays, the
    ids as one string of 32 hex digits each."""
    return {
        "ts": [e.timestamp for e in events],
        "name": compact_json([e.name for e in events]),
        "payload": "[" + ",".join([e.payload_json for e in events]) + "]",
        "meta": "[" + ",".join([e.metadata_json for e in events]) + "]",
        "eid": "".join([e.id.hex for e in events]),
    }


@cache
def _one_statement_sql(
    check: str, kind_given: bool, category_given: bool, one: bool, own_transaction: bool
) -> str:
    """PostgreSQL: a head statement and the insert of its events as one statement; see
    ``DatabaseEventStore._append_one_statement``. Only appends at an expected version, where
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
            f"ELSE head.version - %(n)s + v.ord END, {_EVENT_VALUES}, %(now)s "
            f"FROM head CROSS JOIN {_EVENT_ROWS} ORDER BY v.ord"
        )
    sql = (
        f"WITH head AS ({_head_sql(check, kind_given, category_given, one)}), ins AS ("
        "INSERT INTO flipbook_event (stream_pk, version, timestamp, name, payload, metadata, "
        f"event_id, recorded_at) {rows_sql} RETURNING position, version)"
    )
    if check != "at":
        return sql + " SELECT ins.position, ins.version, head.kind, head.category FROM ins, head"
    return sql + (
        ", cur AS (SELECT kind, category, version FROM flipbook_stream "
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


def _refusal(detail: str) -> _Refused:
    """The refusal that flipbook_refuse's error detail describes (a category is never empty,
    so an empty one is NULL; it comes last, so it may hold "|")."""
    version, kind, category = detail.split("|", 2)
    return _Refused(0, (int(version), kind, category or None))


@cache
def _numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """``sql`` with its %(name)s parameters as $1, $2, ... (a name used twice keeps its
    number), and the names in number order."""
    order: list[str] = []

    def number(match: re.Match) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    text = re.sub(r"%\((\w+)\)s", number, sql)
    return text.encode(), tuple(order)


class _SessionStatements:
    """The append statements of one PostgreSQL session, prepared once and then run with
    libpq's PQexecPrepared: psycopg's adapters dump the parameters and load the rows, but
    its cursor machinery (query conversion, prepared-statement bookkeeping, the wait loop)
    is skipped, about a fifth of a one-event append's client CPU. PQexecPrepared releases
    the GIL while it waits. Only used in autocommit: it sends no BEGIN."""

    def __init__(self, raw) -> None:
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
        self.names: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        self.prepared = 0  # names are never reused, even after a DISCARD ALL

    def run(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        """Execute ``sql`` (%(name)s parameters from ``params``); return its rows."""
        text, order = _numbered(sql)
        tx = self.transformer
        dumped = tx.dump_sequence([params[name] for name in order], (self.auto,) * len(order))
        key = (text, tx.types)
        with self.raw.lock:
            for attempt in (1, 2):
                name = self.names.get(key) or self._prepare(key)
                result = self.pgconn.exec_prepared(name, dumped, param_formats=tx.formats)
                if result.status == self.tuples_ok:
                    break
                error = self.error_from_result(result, encoding=self.raw.info.encoding)
                if error.sqlstate != "26000" or attempt == 2:
                    raise error
                self.names.clear()  # DISCARD/DEALLOCATE ALL dropped them: prepare again
        tx.set_pgresult(result)
        return tx.load_rows(0, result.ntuples, tuple)

    def _prepare(self, key: tuple[bytes, tuple[int, ...]]) -> bytes:
        self.prepared += 1
        name = f"flipbook_append_{self.prepared}".encode()
        result = self.pgconn.prepare(name, key[0], param_types=key[1])
        if result.status != self.command_ok:
            raise self.error_from_result(result, encoding=self.raw.info.encoding)
        self.names[key] = name
        return name


class _Refused(Exception):
    """A stream's head check failed, and nothing of the commit was stored. ``head`` is
    (version, kind, category) of the stream as the statement saw it, when it could."""

    def __init__(self, index: int, head: tuple | None = None) -> None:
        self.index = index
        self.head = head


class DatabaseEventStore(BaseEventStore):
    """Event store on a Django database alias. OPTIONS: ``using`` (alias, default
    "default"), ``feed_wait_seconds`` (how long an all-feed read waits for in-flight writers
    before answering "unavailable", default 10)."""

    def __init__(
        self,
        *,
        using: str = "default",
        feed_wait_seconds: float = 10.0,
        prepare: bool = True,
        **options,
    ):
        super().__init__(**options)
        self.using = using
        self.feed_wait_seconds = feed_wait_seconds
        # Server-side prepared statements; turn off behind a pooler that cannot keep them.
        self.prepare = prepare
        self.is_postgres = connections[using].vendor == "postgresql"
        self._local = threading.local()
        self._sequence_name: str | None = None

    @property
    def connection(self):
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

    def _cursor(self):
        """A cursor on the alias. On PostgreSQL it binds parameters on the server (so the
        store's few statement shapes can be prepared once per connection, see ``_execute``)
        and loads timestamps with psycopg's C loader rather than Django's Python one."""
        conn = self.connection
        if not self.is_postgres:
            return conn.cursor()
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

    def _execute(self, cursor, sql: str, params=None) -> None:
        """Execute one of the store's statements. On PostgreSQL it is prepared on the server
        (Django turns psycopg's automatic preparing off): planning a one-event append costs
        as much as running it."""
        if not self.is_postgres:
            cursor.execute(sql, params)
            return
        conn = self.connection
        conn.validate_no_broken_transaction()
        with conn.wrap_database_errors:
            cursor.cursor.execute(sql, params, prepare=self.prepare)

    # -- append -------------------------------------------------------------------------------

    def append(self, appends: Sequence[PreparedAppend]) -> CommitResult:
        last_refused = 0
        for attempt in range(MAX_ATTEMPTS):
            # A one-statement append outside a transaction returns its refusal rather than
            # raising it: unwinding frames is a measurable share of a refused attempt's CPU.
            try:
                result = self._translate(self._append_once, appends)
            except _Refused as raised:
                result = raised
            except IntegrityError:
                # An event id is stored already (or a racing first append created the stream).
                duplicate = self._translate(self.resolve_resend, appends)
                if duplicate is not None:
                    return duplicate
                result = None
            if type(result) is _Refused:
                last_refused = result.index
                if any(e.id_given for a in appends for e in a.events):
                    duplicate = self._translate(self.resolve_resend, appends)
                    if duplicate is not None:
                        return duplicate
                append = appends[result.index]
                if result.head is not None:
                    version, kind, category = result.head
                    error = refusal_error(append, kind, category, version)
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

    def _append_once(self, appends: Sequence[PreparedAppend]) -> CommitResult | _Refused:
        now = datetime.now(UTC)
        conn = self.connection
        if self.is_postgres and len(appends) == 1:
            if conn.in_atomic_block:
                with transaction.atomic(using=self.using):
                    result = self._append_one_statement(conn, appends[0], now)
                    if type(result) is _Refused:
                        raise result  # rolls the savepoint back
                return result
            return self._append_one_statement(conn, appends[0], now)
        with transaction.atomic(using=self.using):
            return self._append_in_transaction(appends, now)

    def _head_statement(self, a: PreparedAppend, now: datetime) -> tuple[str, dict[str, Any]]:
        """The conditional write of a stream's head row that checks ``a``'s expectation.
        It returns (id, kind, version after the append), or no row when the check fails."""
        return _head_sql(*_head_shape(a)), self._head_params(a, now)

    def _head_params(self, a: PreparedAppend, now: datetime) -> dict[str, Any]:
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

    def _append_one_statement(
        self, conn, a: PreparedAppend, now: datetime
    ) -> CommitResult | _Refused:
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
        transaction it runs the statement through libpq directly (``_SessionStatements``);
        inside one, on a psycopg cursor kept per connection. Client CPU is most of what
        separates an append from a bare INSERT (see the README's benchmark notes)."""
        events = a.events
        params = self._head_params(a, now)
        if len(events) == 1:
            e = events[0]
            params["ts"], params["name"], params["eid"] = e.timestamp, e.name, e.id
            params["payload"], params["meta"] = e.payload_json, e.metadata_json
        else:
            params.update(_event_columns(events))
        raw = conn.connection
        if raw is None:
            conn.ensure_connection()
            raw = conn.connection
        conn.validate_thread_sharing()
        if conn.in_atomic_block:
            conn.validate_no_broken_transaction()
        own_transaction = conn.autocommit and not conn.in_atomic_block
        sql = _one_statement_sql(*_head_shape(a), own_transaction)
        # A refusal comes back as a _Refused, returned (see ``append``) rather than raised
        # inside the error wrapper, which would test it against every driver error class.
        with conn.wrap_database_errors:
            if self.prepare and own_transaction:
                try:
                    statements = raw._flipbook_statements
                except AttributeError:  # the first append on this database session
                    raw._flipbook_statements = statements = _SessionStatements(raw)
                rows = statements.run(sql, params)
            else:
                try:
                    cursor = raw._flipbook_append_cursor
                except AttributeError:
                    raw._flipbook_append_cursor = cursor = self._cursor().cursor
                try:
                    cursor.execute(sql, params, prepare=self.prepare)
                    rows = cursor.fetchall()
                except Exception as exc:  # psycopg's; this module does not import the driver
                    if getattr(exc, "sqlstate", None) != REFUSED_SQLSTATE:
                        raise
                    rows = _refusal(exc.diag.message_detail)
        if type(rows) is _Refused:
            return rows
        if not rows or rows[0][0] is None:
            return _Refused(0, rows[0][1:] if rows else None)
        if len(rows) > 1:
            rows.sort()
        return CommitResult((self._result(a, rows, now, rows[0][3]),))

    def _append_in_transaction(
        self, appends: Sequence[PreparedAppend], now: datetime
    ) -> CommitResult:
        """Check every head (in stream id order, so concurrent commits lock in one order and
        cannot deadlock), then insert all events in one statement."""
        heads: dict[int, tuple[int, str, int, str | None]] = {}
        with self._cursor() as cursor:
            for index in sorted(range(len(appends)), key=lambda i: appends[i].stream_id):
                sql, params = self._head_statement(appends[index], now)
                self._execute(cursor, sql, params)
                row = cursor.fetchone()
                if row is None:
                    raise _Refused(index)
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
            rows = self._insert_events(cursor, pks, versions, events, now)
        results = []
        offset = 0
        for index, a in enumerate(appends):
            chunk = rows[offset : offset + len(a.events)]
            offset += len(a.events)
            results.append(self._result(a, chunk, now, heads[index][3]))
        return CommitResult(tuple(results))

    def _insert_events(
        self,
        cursor,
        pks: list[int],
        versions: list[int | None],
        events: list[PreparedEvent],
        now: datetime,
    ) -> list[tuple[int, int | None]]:
        """Insert ``events`` (each with its stream's pk and its version) in one statement;
        return their (position, version) rows in position order."""
        names = "stream_pk, version, timestamp, name, payload, metadata, event_id, recorded_at"
        if self.is_postgres:
            self._execute(
                cursor,
                f"INSERT INTO flipbook_event ({names}) "
                f"SELECT v.pk, v.version, {_EVENT_VALUES}, %(now)s FROM ROWS FROM "
                f"(unnest(%(pk)s::bigint[]), unnest(%(version)s::bigint[]), {_EVENT_FUNCTIONS}) "
                "WITH ORDINALITY AS v(pk, version, ts, name, payload, meta, ord) "
                "ORDER BY v.ord RETURNING position, version",
                {"pk": pks, "version": versions, "now": now, **_event_columns(events)},
            )
            return sorted(cursor.fetchall())
        recorded = self._db_time(now)
        rows = [
            (pk, version, self._db_time(e.timestamp), e.name, e.payload_json, e.metadata_json,
             self._db_uuid(e.id), recorded)
            for pk, version, e in zip(pks, versions, events, strict=True)
        ]  # fmt: skip
        placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        self._execute(
            cursor,
            f"INSERT INTO flipbook_event ({names}) VALUES {placeholders} "
            "RETURNING position, version",
            [value for row in rows for value in row],
        )
        return sorted(cursor.fetchall())

    def _result(
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

    def on_durable(self, callback) -> None:
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

    def _stream_key(self, stream_id: str) -> tuple[int, str] | None:
        with self._cursor() as cursor:
            self._execute(
                cursor, "SELECT id, kind FROM flipbook_stream WHERE stream_id = %s", [stream_id]
            )
            return cursor.fetchone()

    def _read(self, query: StreamQuery, stream: tuple[int, str] | None = None):
        if stream is None:
            stream = self._stream_key(query.stream_id)
            if stream is None:
                return []
        pk, kind = stream
        with self._cursor() as cursor:
            ordinal = "e.position" if kind == NEUTRAL else "e.version"
            # "version IS NULL" lets neutral reads use their partial (stream, position) index.
            where = ["e.stream_pk = %s"]
            if kind == NEUTRAL:
                where.append("e.version IS NULL")
            params: list[Any] = [pk]
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
            self._execute(
                cursor,
                f"SELECT {EVENT_COLUMNS} FROM flipbook_event e WHERE {' AND '.join(where)} "
                f"ORDER BY {order} LIMIT %s",
                params,
            )
            return [self._event(row, query.stream_id) for row in cursor.fetchall()]

    def head(self, stream_id: str) -> StreamInfo | None:
        return self._translate(self._head, stream_id)

    def _head(self, stream_id: str) -> StreamInfo | None:
        with self._cursor() as cursor:
            self._execute(
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

    def _list_streams(self, prefix, category, after, limit) -> list[StreamInfo]:
        where, params = self._stream_filters(prefix, category)
        if after is not None:
            where.append("s.stream_id > %s")
            params.append(after)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        params.append(limit)
        with self._cursor() as cursor:
            self._execute(
                cursor,
                f"SELECT {STREAM_COLUMNS} FROM flipbook_stream s{clause} "
                "ORDER BY s.stream_id LIMIT %s",
                params,
            )
            return [self._stream(row) for row in cursor.fetchall()]

    # -- console reads ---------------------------------------------------------------------------

    # With a filter, at most this many matching streams are sorted by their last event
    # directly; a filter matching more is served by the walk down the events (it finds a
    # page quickly because matches are common).
    RECENT_SORT_MAX = 2000

    def recent_streams(
        self, *, prefix: str | None, category: str | None, before: int | None, limit: int
    ) -> list[StreamInfo]:
        return self._translate(self._recent_streams, prefix, category, before, limit)

    def _recent_streams(self, prefix, category, before, limit) -> list[StreamInfo]:
        # No index on the head's update time: every append updates the head row, and an
        # index on a changing column would cost each append its HOT update. Instead walk the
        # events down the primary key (position) and keep each stream's last event only: its
        # version is the head's version (versioned), or no later neutral event exists.
        where, params = self._stream_filters(prefix, category)
        with self._cursor() as cursor:
            if where:
                self._execute(
                    cursor,
                    f"SELECT count(*) FROM (SELECT 1 FROM flipbook_stream s "
                    f"WHERE {' AND '.join(where)} LIMIT %s) m",
                    [*params, self.RECENT_SORT_MAX + 1],
                )
                if cursor.fetchone()[0] <= self.RECENT_SORT_MAX:
                    self._execute(
                        cursor,
                        f"SELECT {STREAM_COLUMNS} FROM flipbook_stream s "
                        f"WHERE {' AND '.join(where)}",
                        params,
                    )
                    heads = [self._stream(row) for row in cursor.fetchall()]
                    heads = [h for h in heads if before is None or h.last_position < before]
                    heads.sort(key=lambda h: h.last_position, reverse=True)
                    return heads[:limit]
            walk = [
                "(e.version = s.version OR (e.version IS NULL AND NOT EXISTS (SELECT 1 FROM "
                "flipbook_event x WHERE x.stream_pk = e.stream_pk AND x.version IS NULL "
                "AND x.position > e.position)))",
                *where,
            ]
            if before is not None:
                walk.insert(0, "e.position < %s")
                params = [before, *params]
            self._execute(
                cursor,
                "SELECT s.stream_id, s.kind, s.category, s.version, s.event_count, "
                "s.created_at, s.updated_at, CAST(s.metadata AS text), e.position "
                "FROM flipbook_event e JOIN flipbook_stream s ON s.id = e.stream_pk "
                f"WHERE {' AND '.join(walk)} ORDER BY e.position DESC LIMIT %s",
                [*params, limit],
            )
            return [self._stream(row) for row in cursor.fetchall()]

    def _stream_filters(self, prefix: str | None, category: str | None) -> tuple[list, list]:
        where: list[str] = []
        params: list[Any] = []
        if category is not None:
            where.append("s.category = %s")
            params.append(category)
        if prefix:
            if self.is_postgres:
                # Case-sensitive and served by the varchar_pattern_ops index Django creates.
                escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                where.append("s.stream_id LIKE %s")
                params.append(escaped + "%")
            else:
                # SQLite's LIKE ignores ASCII case; a byte range on BINARY collation does not.
                where.append("s.stream_id >= %s AND s.stream_id < %s")
                params += [prefix, prefix + "\U0010ffff"]
        return where, params

    def totals(self) -> dict[str, int]:
        return self._translate(self._totals)

    def categories(self) -> list[str]:
        return self._translate(self._categories)

    def _categories(self) -> list[str]:
        with self._cursor() as cursor:
            if self.is_postgres:
                # A skip scan of the category index: one probe per category, not per stream.
                self._execute(
                    cursor, f"{CATEGORY_SKIP_SCAN} SELECT name FROM c WHERE name IS NOT NULL"
                )
            else:
                self._execute(
                    cursor,
                    "SELECT DISTINCT category FROM flipbook_stream WHERE category IS NOT NULL",
                )
            return sorted(row[0] for row in cursor.fetchall())

    # Above this many streams (PostgreSQL's estimate) the totals of streams and events are
    # the planner's estimates: exact counts scan the whole head table (about 0.5 s a million).
    EXACT_TOTALS_MAX = 200_000

    def _totals(self) -> dict[str, int]:
        with self._cursor() as cursor:
            if self.is_postgres:
                # Distinct categories by a skip scan of the category index: one probe each.
                self._execute(
                    cursor,
                    f"{CATEGORY_SKIP_SCAN} SELECT count(name), "
                    "(SELECT coalesce(max(position), 0) FROM flipbook_event), "
                    "(SELECT reltuples::bigint FROM pg_class "
                    "WHERE oid = 'flipbook_stream'::regclass), "
                    "(SELECT reltuples::bigint FROM pg_class "
                    "WHERE oid = 'flipbook_event'::regclass) FROM c",
                )
                categories, last, streams, events = cursor.fetchone()
                if streams > self.EXACT_TOTALS_MAX:
                    return {
                        "streams": streams,
                        "events": events,
                        "categories": categories,
                        "last_position": last,
                        "approximate": True,
                    }
                self._execute(
                    cursor, "SELECT count(*), coalesce(sum(event_count), 0) FROM flipbook_stream"
                )
                streams, events = cursor.fetchone()
            else:
                self._execute(
                    cursor,
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

    def events_per_minute(self, since: datetime) -> dict[datetime, int]:
        return self._translate(self._events_per_minute, since)

    def _events_per_minute(self, since: datetime) -> dict[datetime, int]:
        # No index on recorded_at (each would cost every append): positions follow commit
        # order, so the window's events are the top of the primary key, found by walking it
        # down to the first older event; counting them costs the same walk anyway.
        if self.is_postgres:
            minute = "floor(extract(epoch FROM e.recorded_at) / 60)::bigint"
        else:
            minute = "CAST(strftime('%%s', e.recorded_at) AS INTEGER) / 60"
        since_db = self._db_time(since)
        with self._cursor() as cursor:
            self._execute(
                cursor,
                f"SELECT {minute}, count(*) FROM flipbook_event e WHERE e.position > "
                "coalesce((SELECT o.position FROM flipbook_event o WHERE o.recorded_at < %s "
                "ORDER BY o.position DESC LIMIT 1), 0) AND e.recorded_at >= %s GROUP BY 1",
                [since_db, since_db],
            )
            rows = cursor.fetchall()
        return {datetime.fromtimestamp(int(m) * 60, UTC): int(n) for m, n in rows}

    def read_all(self, query: FeedQuery) -> FeedPage:
        return self._translate(self._read_all, query)

    def _read_all(self, query: FeedQuery) -> FeedPage:
        with self._cursor() as cursor:
            settled = self._settled_position(cursor, query.after)
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
            self._execute(
                cursor,
                f"SELECT {EVENT_COLUMNS}, s.stream_id FROM flipbook_event e "
                "JOIN flipbook_stream s ON s.id = e.stream_pk "
                f"WHERE {' AND '.join(where)} ORDER BY e.position LIMIT %s",
                params,
            )
            events = [self._event(row[:8], row[8]) for row in cursor.fetchall()]
        next_after = events[-1].position if len(events) == query.limit else settled
        return FeedPage(events, next_after)

    def _settled_position(self, cursor, after: int) -> int:
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
        if not self.is_postgres:
            cursor.execute("SELECT COALESCE(max(position), 0) FROM flipbook_event")
            return cursor.fetchone()[0]
        self._execute(cursor, f"SELECT last_value, is_called FROM {self._sequence(cursor)}")
        last_value, is_called = cursor.fetchone()
        settled = last_value if is_called else 0
        if settled <= after:
            return settled
        writing = (
            "SELECT array_agg(virtualtransaction) FROM pg_locks WHERE locktype = 'relation' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND relation = 'flipbook_event'::regclass AND mode = 'RowExclusiveLock' "
            "AND pid IS DISTINCT FROM pg_backend_pid()"
        )
        self._execute(cursor, writing)
        writers = cursor.fetchone()[0]
        deadline = time.monotonic() + self.feed_wait_seconds
        delay = 0.0005
        while writers:
            if time.monotonic() > deadline:
                raise Unavailable(
                    "the all-feed is waiting for a write transaction that has been open for "
                    f"over {self.feed_wait_seconds:g} s; retry later"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
            self._execute(cursor, writing + " AND virtualtransaction = ANY(%s)", [writers])
            writers = cursor.fetchone()[0]
        return settled

    def _sequence(self, cursor) -> str:
        if self._sequence_name is None:
            cursor.execute("SELECT pg_get_serial_sequence('flipbook_event', 'position')")
            self._sequence_name = cursor.fetchone()[0]
        return self._sequence_name

    def find_events(self, ids: Sequence[UUID]) -> dict[UUID, RecordedEvent]:
        with self._cursor() as cursor:
            self._execute(
                cursor,
                f"SELECT {EVENT_COLUMNS}, s.stream_id FROM flipbook_event e "
                "JOIN flipbook_stream s ON s.id = e.stream_pk "
                f"WHERE e.event_id IN ({', '.join(['%s'] * len(ids))})",
                [self._db_uuid(i) for i in ids],
            )
            events = [self._event(row[:8], row[8]) for row in cursor.fetchall()]
        return {e.id: e for e in events}

    # -- conversions --------------------------------------------------------------------------

    def _db_time(self, value: datetime | None):
        if value is None or self.is_postgres:
            return value
        # Django's SQLite format (naive UTC), always with microseconds so text order is time order.
        # isoformat, not strftime("%Y"): strftime does not zero-pad years before 1000.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def _db_uuid(self, value: UUID):
        return value if self.is_postgres else value.hex

    def _time(self, value) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            value = datetime.fromisoformat(value)
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def _event(self, row, stream_id: str) -> RecordedEvent:
        position, version, timestamp, name, payload, metadata, event_id, recorded_at = row
        return RecordedEvent(  # positional, in field order (cheaper than keywords)
            stream_id,
            version,
            self._time(timestamp),
            name,
            _load_json(payload),
            {} if metadata == "{}" else _load_json(metadata),
            event_id if isinstance(event_id, UUID) else UUID(event_id),
            position,
            self._time(recorded_at),
        )

    def _stream(self, row) -> StreamInfo:
        stream_id, kind, category, version, count, created, updated, metadata, last = row
        return StreamInfo(
            stream_id=stream_id,
            kind=kind,
            category=category,
            version=None if kind == NEUTRAL else version,
            event_count=count,
            first_recorded_at=self._time(created),
            last_recorded_at=self._time(updated),
            last_position=last or 0,
            metadata=_load_json(metadata) or {},
        )

    def _translate(self, func, *args):
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


def _load_json(value):
    if value is None or not isinstance(value, (str, bytes, bytearray)):
        return value
    return json.loads(value)
