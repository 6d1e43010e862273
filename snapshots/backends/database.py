"""DatabaseSnapshotStore: snapshots in Django's database (SQLite or PostgreSQL).

One row per (stream, revision, version) in ``flipbook_snapshot`` (snapshots/models.py);
``set`` is one upsert on that unique key, so racing writers of one snapshot end with one row.
Reads and writes are plain SQL: a state read pays one indexed query, not an ORM query."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, connections

from snapshots.backends.base import BaseSnapshotStore, encode_payload
from snapshots.records import Snapshot
from streams.exceptions import Unavailable

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

T = TypeVar("T")

TABLE = "flipbook_snapshot"
COLUMNS = (
    "stream_id, version, revision, timestamp, recorded_at, label, payload, created_at, expires_at"
)
LIVE = "(expires_at IS NULL OR expires_at > %s)"


class DatabaseSnapshotStore(BaseSnapshotStore):
    """Snapshot store on a Django database alias. OPTIONS: ``using`` (alias, default
    "default"), ``ttl`` (seconds; expired rows are hidden at once and deleted by
    ``purge_expired``, which ``manage.py flipbook_snapshots purge`` runs)."""

    def __init__(self, *, using: str = "default", **options: Any) -> None:
        super().__init__(**options)
        self.using = using

    # -- contract -----------------------------------------------------------------------------

    def set(self, snapshot: Snapshot, *, ttl: float | None = None) -> Snapshot:
        now = self.now()
        stored = self.stamped(snapshot, now, ttl)
        t = self._db_time
        self._execute(
            f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (stream_id, revision, version) DO UPDATE SET "
            "timestamp = excluded.timestamp, recorded_at = excluded.recorded_at, "
            "label = excluded.label, payload = excluded.payload, "
            "created_at = excluded.created_at, expires_at = excluded.expires_at",
            [
                stored.stream_id,
                stored.version,
                stored.revision,
                t(stored.timestamp),
                t(stored.recorded_at),
                stored.label,
                encode_payload(stored.payload),
                t(stored.created_at),
                t(stored.expires_at),
            ],
        )
        return stored

    def latest(
        self, stream_id: str, *, revision: str | None = None, at_or_before: int | None = None
    ) -> Snapshot | None:
        where, params = self._where(stream_id, revision=revision, at_or_before=at_or_before)
        rows = self._select(
            f"{where} ORDER BY version DESC, created_at DESC, id DESC LIMIT 1", params
        )
        return rows[0] if rows else None

    def latest_for_time(
        self,
        stream_id: str,
        *,
        revision: str,
        at: datetime,
        known_at: datetime | None = None,
        at_or_before: int | None = None,
    ) -> Snapshot | None:
        where, params = self._where(stream_id, revision=revision, at_or_before=at_or_before)
        where += " AND timestamp IS NOT NULL AND recorded_at IS NOT NULL AND timestamp <= %s"
        params.append(self._db_time(at))
        if known_at is not None:
            where += " AND recorded_at <= %s"
            params.append(self._db_time(known_at))
        rows = self._select(f"{where} ORDER BY version DESC LIMIT 1", params)
        return rows[0] if rows else None

    def list(self, stream_id: str, *, revision: str | None = None) -> builtins.list[Snapshot]:
        where, params = self._where(stream_id, revision=revision)
        return self._select(f"{where} ORDER BY version, revision", params)

    def delete(
        self, stream_id: str, *, version: int | None = None, revision: str | None = None
    ) -> int:
        where, params = self._where(stream_id, revision=revision)
        if version is not None:
            where += " AND version = %s"
            params.append(version)

        def run(cursor: CursorWrapper) -> int:
            cursor.execute(f"DELETE FROM {TABLE} WHERE {where}", params)
            deleted: int = cursor.rowcount
            # The stream's expired rows go too: they are invisible already.
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE stream_id = %s AND expires_at <= %s",
                [stream_id, self._db_time(self.now())],
            )
            return deleted

        return self._run(run)

    def stream_ids(self, *, after: str | None = None, limit: int = 1000) -> builtins.list[str]:
        where = f"WHERE {LIVE}"
        params: builtins.list[Any] = [self._db_time(self.now())]
        if after is not None:
            where += " AND stream_id > %s"
            params.append(after)
        params.append(limit)
        rows = self._fetch(
            f"SELECT DISTINCT stream_id FROM {TABLE} {where} ORDER BY stream_id LIMIT %s", params
        )
        return [row[0] for row in rows]

    def count_streams(self) -> int:
        rows = self._fetch(
            f"SELECT count(DISTINCT stream_id) FROM {TABLE} WHERE {LIVE}",
            [self._db_time(self.now())],
        )
        count: int = rows[0][0]
        return count

    def purge_expired(self) -> int:
        return self._execute(
            f"DELETE FROM {TABLE} WHERE expires_at <= %s", [self._db_time(self.now())]
        )

    # -- helpers ------------------------------------------------------------------------------

    @property
    def _is_postgres(self) -> bool:
        return connections[self.using].vendor == "postgresql"

    def _where(self, stream_id: str, **filters: Any) -> tuple[str, builtins.list[Any]]:
        where = f"stream_id = %s AND {LIVE}"
        params: builtins.list[Any] = [stream_id, self._db_time(self.now())]
        if filters.get("revision") is not None:
            where += " AND revision = %s"
            params.append(filters["revision"])
        if filters.get("at_or_before") is not None:
            where += " AND version <= %s"
            params.append(filters["at_or_before"])
        return where, params

    def _select(self, where_and_order: str, params: builtins.list[Any]) -> builtins.list[Snapshot]:
        rows = self._fetch(f"SELECT {COLUMNS} FROM {TABLE} WHERE {where_and_order}", params)
        return [self._snapshot(row) for row in rows]

    def _fetch(self, sql: str, params: builtins.list[Any]) -> builtins.list[tuple[Any, ...]]:
        def run(cursor: CursorWrapper) -> builtins.list[tuple[Any, ...]]:
            cursor.execute(sql, params)
            rows: builtins.list[tuple[Any, ...]] = cursor.fetchall()
            return rows

        return self._run(run)

    def _execute(self, sql: str, params: builtins.list[Any]) -> int:
        def run(cursor: CursorWrapper) -> int:
            cursor.execute(sql, params)
            count: int = cursor.rowcount
            return count

        return self._run(run)

    def _run(self, func: Callable[[CursorWrapper], T]) -> T:
        """Run ``func(cursor)``, turning driver errors into Flipbook errors at this boundary."""
        connection = connections[self.using]
        try:
            with connection.cursor() as cursor:
                return func(cursor)
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable(
                f"the {connection.vendor} database of the snapshot store is unavailable; "
                "retry later"
            ) from exc
        except DatabaseError as exc:
            raise Unavailable(
                f"the {connection.vendor} database of the snapshot store refused the "
                "operation; retry later"
            ) from exc

    def _db_time(self, value: datetime | None) -> datetime | str | None:
        if value is None or self._is_postgres:
            return value
        # Django's SQLite format (naive UTC), always with microseconds so text order is time
        # order (the format the ORM reads back too).
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    @staticmethod
    def _time(value: datetime | str | None) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def _snapshot(self, row: tuple[Any, ...]) -> Snapshot:
        stream_id, version, revision, timestamp, recorded_at, label, payload, created, expires = row
        return Snapshot(
            stream_id=stream_id,
            version=version,
            payload=json.loads(payload),
            revision=revision,
            timestamp=self._time(timestamp),
            label=label,
            recorded_at=self._time(recorded_at),
            created_at=self._time(created),
            expires_at=self._time(expires),
        )
