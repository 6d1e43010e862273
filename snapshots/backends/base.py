"""BaseSnapshotStore: the whole contract every snapshot store backend keeps."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from snapshots.records import Snapshot


class BaseSnapshotStore:
    """Stores reduced states per (stream, reducer revision, version). Backends implement the
    methods that raise NotImplementedError; the others are derived here once and overridden
    only to go faster.

    Every method takes validated values (snapshots/services.py validates) and raises only
    errors of streams/exceptions.py: a backend translates its driver's errors at this
    boundary (Unavailable). Expired snapshots are never returned.

    OPTIONS: ``ttl`` (seconds a snapshot lives unless ``set`` says otherwise; default None,
    forever)."""

    def __init__(self, *, ttl: float | None = None, **options: Any) -> None:
        self.ttl = ttl
        self.options = options

    # -- required ---------------------------------------------------------------------------

    def set(self, snapshot: Snapshot, *, ttl: float | None = None) -> Snapshot:
        """Store ``snapshot``, replacing the one of the same stream, revision and version.
        ``ttl`` (seconds) overrides the store's default. Returns the stored snapshot, with
        ``created_at`` and ``expires_at`` filled in. Raises Unavailable."""
        raise NotImplementedError("subclasses of BaseSnapshotStore must provide a set() method")

    def latest(
        self, stream_id: str, *, revision: str | None = None, at_or_before: int | None = None
    ) -> Snapshot | None:
        """Return the snapshot of the stream with the highest version (at most
        ``at_or_before`` when given), of ``revision`` when given, else of any revision (the
        newest created wins a tie); None when there is none. Raises Unavailable."""
        raise NotImplementedError("subclasses of BaseSnapshotStore must provide a latest() method")

    def list(self, stream_id: str, *, revision: str | None = None) -> builtins.list[Snapshot]:
        """Return the stream's snapshots (of ``revision`` when given) ordered by version, then
        revision. Raises Unavailable."""
        raise NotImplementedError("subclasses of BaseSnapshotStore must provide a list() method")

    def delete(
        self, stream_id: str, *, version: int | None = None, revision: str | None = None
    ) -> int:
        """Delete the stream's snapshots, only those at ``version`` and/or of ``revision``
        when given. Returns how many were deleted. Raises Unavailable."""
        raise NotImplementedError("subclasses of BaseSnapshotStore must provide a delete() method")

    def stream_ids(self, *, after: str | None = None, limit: int = 1000) -> builtins.list[str]:
        """Return up to ``limit`` ids of streams that have snapshots, in id order, after the
        id ``after``. Raises Unavailable."""
        raise NotImplementedError(
            "subclasses of BaseSnapshotStore must provide a stream_ids() method"
        )

    # -- derived ----------------------------------------------------------------------------

    def get(self, stream_id: str, version: int, revision: str) -> Snapshot | None:
        """Return the snapshot of exactly this stream, version and revision, or None."""
        found = self.latest(stream_id, revision=revision, at_or_before=version)
        return found if found is not None and found.version == version else None

    def latest_for_time(
        self,
        stream_id: str,
        *,
        revision: str,
        at: datetime,
        known_at: datetime | None = None,
        at_or_before: int | None = None,
    ) -> Snapshot | None:
        """Return the highest-version snapshot of ``revision`` (at most ``at_or_before``)
        that holds only events as of natural time ``at`` (``timestamp`` <= at) recorded by
        ``known_at`` (``recorded_at`` <= known_at); snapshots without both times never
        qualify. None when there is none."""
        for snapshot in reversed(self.list(stream_id, revision=revision)):
            if at_or_before is not None and snapshot.version > at_or_before:
                continue
            if usable_for_time(snapshot, at, known_at):
                return snapshot
        return None

    def iter_stream_ids(self, batch: int = 1000) -> Iterator[str]:
        """Yield the id of every stream that has snapshots, in id order."""
        after = None
        while True:
            ids = self.stream_ids(after=after, limit=batch)
            yield from ids
            if len(ids) < batch:
                return
            after = ids[-1]

    def count_streams(self) -> int:
        """Return how many streams have snapshots."""
        return sum(1 for _ in self.iter_stream_ids())

    def purge_expired(self) -> int:
        """Delete expired snapshots that still take space; return how many (backends whose
        storage expires them by itself return 0)."""
        return 0

    def ping(self) -> None:
        """Raise Unavailable when the backend cannot be reached (a cheap read)."""
        self.latest("\x00ping")

    def close(self) -> None:
        """Release connections and clients held by the backend."""

    # -- shared helpers ---------------------------------------------------------------------

    def expiry(self, ttl: float | None, now: datetime) -> datetime | None:
        """When a snapshot stored ``now`` with ``ttl`` (None: the store's default) expires."""
        ttl = self.ttl if ttl is None else ttl
        return now + timedelta(seconds=ttl) if ttl else None

    @staticmethod
    def now() -> datetime:
        return timezone.now()

    def stamped(self, snapshot: Snapshot, now: datetime, ttl: float | None) -> Snapshot:
        """``snapshot`` as it is stored ``now``: UTC times, creation and expiry set."""
        return Snapshot(
            stream_id=snapshot.stream_id,
            version=snapshot.version,
            payload=snapshot.payload,
            revision=snapshot.revision,
            timestamp=utc(snapshot.timestamp),
            label=snapshot.label,
            recorded_at=utc(snapshot.recorded_at),
            created_at=now,
            expires_at=self.expiry(ttl, now),
        )


def usable_for_time(snapshot: Snapshot, at: datetime, known_at: datetime | None) -> bool:
    """Whether every event folded into ``snapshot`` belongs to the state as of natural time
    ``at`` known at ``known_at``: true when its natural time and store time are both known
    and within the bounds."""
    if snapshot.timestamp is None or snapshot.recorded_at is None:
        return False
    if snapshot.timestamp > at:
        return False
    return known_at is None or snapshot.recorded_at <= known_at


def utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC (naive ones are taken as UTC), or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def encode_payload(payload: Any) -> str:
    """The JSON text a backend stores for a payload (already validated as JSON)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
