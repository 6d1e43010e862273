"""One-statement appends on PostgreSQL from an event loop: psycopg's async connections, so a
server keeps many appends in flight on one thread instead of one thread per append.

Only the common case runs here: one stream, outside any transaction (the statement is its
own transaction, as on the sync path's libpq route). The statement is the sync path's
(``one_statement_sql``), prepared once per connection. What needs more than the statement
(an id already stored, a refusal that must be explained by a second query) is answered
``None``, and the caller takes the sync path: nothing was stored by the attempt.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from streams.backends.base import refusal_error
from streams.backends.database.postgresql import one_statement_params, one_statement_sql
from streams.backends.database.sql import head_shape
from streams.exceptions import Unavailable
from streams.records import CommitResult, PreparedAppend

if TYPE_CHECKING:
    from streams.backends.database.store import DatabaseEventStore

# Connection settings Django keeps in OPTIONS that are not libpq's (or not wanted here).
_NOT_LIBPQ = {"pool", "server_side_binding", "isolation_level", "assume_role", "cursor_factory"}


def connection_kwargs(settings_dict: dict[str, Any]) -> dict[str, Any]:
    """libpq connection arguments of a Django PostgreSQL alias (its ``settings_dict``)."""
    kwargs: dict[str, Any] = {
        key: value
        for key, value in (settings_dict.get("OPTIONS") or {}).items()
        if key not in _NOT_LIBPQ
    }
    for name, key in (("NAME", "dbname"), ("USER", "user"), ("PASSWORD", "password")):
        if settings_dict.get(name):
            kwargs[key] = settings_dict[name]
    if settings_dict.get("HOST"):
        kwargs["host"] = settings_dict["HOST"]
    if settings_dict.get("PORT"):
        kwargs["port"] = str(settings_dict["PORT"])
    kwargs["autocommit"] = True
    return kwargs


class AsyncAppender:
    """The async appends of one store in one event loop (a pool is bound to its loop)."""

    def __init__(self, store: DatabaseEventStore, size: int) -> None:
        self.store = store
        self.loop = asyncio.get_running_loop()
        settings_dict = store.connection.settings_dict
        self.pool: AsyncConnectionPool = AsyncConnectionPool(
            kwargs=connection_kwargs(settings_dict),
            min_size=1,
            max_size=size,
            # Idle connections beyond min_size are closed after this long (as the sync pool's
            # max_idle): no idle sessions are left behind a load.
            max_idle=60,
            open=False,
            name="flipbook-async-appends",
        )
        self._opened = False

    async def append(self, a: PreparedAppend) -> CommitResult | None:
        """Append ``a`` in one statement: its CommitResult; raise its refusal's error or
        Unavailable; None when the sync path must decide (see the module's docstring)."""
        if not self._opened:
            await self.pool.open()
            self._opened = True
        store = self.store
        now = datetime.now(UTC)
        params = one_statement_params(store, a, now)
        events = a.events
        sql = one_statement_sql(*head_shape(a), True)
        try:
            async with self.pool.connection() as conn:
                cursor = await conn.execute(sql, params, prepare=store.prepare)
                rows = await cursor.fetchall()
        except psycopg.IntegrityError:
            return None  # an id stored already, or a racing first append: the sync path knows
        except psycopg.errors.SerializationFailure:
            return None
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise Unavailable(
                "the postgresql database is unavailable or busy; retry later"
            ) from exc
        except psycopg.DatabaseError as exc:
            raise Unavailable("the postgresql database refused the operation; retry later") from exc
        if rows and rows[0][0] is not None:
            if len(rows) > 1:
                rows.sort()
            return CommitResult((store.result(a, rows, now, rows[0][3]),))
        # Refused: only a refusal that names the head and no id the client chose (which may
        # be an identical re-send) is answered here; the rest the sync path explains.
        if not rows or any(e.id_given for e in events):
            return None
        version, kind, category = rows[0][1:]
        deleted = "hard" if kind == "tombstone" else None
        error = refusal_error(a, kind, category, version, deleted)
        if error is None:
            return None  # the head moved on since: the sync path retries
        raise error

    async def close(self) -> None:
        if self._opened:
            await self.pool.close()
            self._opened = False
