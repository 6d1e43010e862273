"""RedisSnapshotStore: snapshots in Redis (redis-py), standalone or Redis Cluster.

Every key of one stream carries the same hash tag (a hash of the stream id), so a stream's
keys live in one cluster slot and its scripts run on one node:

- ``<prefix>{<h>}:<r>:<version>``: the snapshot, JSON text (with its own TTL, if any);
- ``<prefix>{<h>}:<r>:idx``: sorted set of the versions stored for revision hash ``<r>``;
- ``<prefix>{<h>}:revs``: hash of revision hash -> revision.

An index entry may outlive its expired snapshot; readers skip and remove such entries. The
index keys expire with the longest-lived snapshot they point to. ``<prefix>streams`` is the
set of stream ids with snapshots (for ``stream_ids``)."""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import redis
from redis.cluster import RedisCluster

from snapshots.backends.base import BaseSnapshotStore, encode_payload, usable_for_time
from snapshots.records import Snapshot

# One parser of Redis URLs for both Redis stores (the event store's lives lower down).
from streams.backends.redis.items import split_cluster_flag as _split_cluster_flag
from streams.exceptions import Unavailable

# KEYS: data, idx, revs. ARGV: value, version, ttl in ms (0: none), revision hash, revision.
# The index keys live as long as the longest-lived snapshot: a key created now takes this
# snapshot's TTL, a persistent one stays persistent, a volatile one is only ever extended.
SET_SCRIPT = """
local ttl = tonumber(ARGV[3])
local idx_ttl = redis.call('PTTL', KEYS[2])
local revs_ttl = redis.call('PTTL', KEYS[3])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
local function keep(key, before)
  if ttl == 0 then
    redis.call('PERSIST', key)
  elseif before == -2 or (before >= 0 and before < ttl) then
    redis.call('PEXPIRE', key, ttl)
  end
end
keep(KEYS[2], idx_ttl)
keep(KEYS[3], revs_ttl)
return 1
"""

# KEYS: idx. ARGV: highest version ('+inf' for any), data key prefix. Returns the JSON of the
# highest stored version <= the bound, dropping index entries whose snapshot expired.
LATEST_SCRIPT = """
while true do
  local versions = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'LIMIT', 0, 16)
  if #versions == 0 then
    return false
  end
  for _, v in ipairs(versions) do
    local value = redis.call('GET', ARGV[2] .. v)
    if value then
      return value
    end
    redis.call('ZREM', KEYS[1], v)
  end
end
"""


class RedisSnapshotStore(BaseSnapshotStore):
    """Snapshot store on Redis. OPTIONS: ``url`` (``redis://``, ``rediss://``; a Redis
    Cluster when ``cluster`` is true or the URL says ``?cluster=true``), ``ttl`` (seconds),
    ``key_prefix`` (default ``"flipbook:snap:"``), ``socket_timeout`` (seconds, default 5),
    and any other keyword redis-py's ``from_url`` takes."""

    def __init__(
        self,
        *,
        url: str,
        cluster: bool = False,
        key_prefix: str = "flipbook:snap:",
        socket_timeout: float = 5.0,
        **options: Any,
    ) -> None:
        ttl = options.pop("ttl", None)
        super().__init__(ttl=ttl)
        if not url:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                "The Redis snapshot store needs a URL: set FLIPBOOK_REDIS_URL (for example "
                "redis://127.0.0.1:6379/0) or OPTIONS['url'] of FLIPBOOK_SNAPSHOT_STORE."
            )
        self.url, url_cluster = _split_cluster_flag(url)
        self.cluster = cluster or url_cluster
        self.prefix = key_prefix
        self.client_options = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            **options,
        }
        self._client: redis.Redis | RedisCluster | None = None
        self._scripts: dict[str, Any] = {}

    @property
    def client(self) -> Any:
        """The redis-py client, made on first use. Typed Any: redis-py types every command's
        result as ``Awaitable | Any`` (its asyncio client shares the signatures)."""
        if self._client is None:
            client: redis.Redis | RedisCluster
            if self.cluster:
                client = RedisCluster.from_url(self.url, **self.client_options)
            else:
                client = redis.Redis.from_url(self.url, **self.client_options)
            self._client = client
            self._scripts = {
                "set": client.register_script(SET_SCRIPT),
                "latest": client.register_script(LATEST_SCRIPT),
            }
        return self._client

    # -- keys -----------------------------------------------------------------------------------

    def _tag(self, stream_id: str) -> str:
        return f"{self.prefix}{{{hashlib.sha1(stream_id.encode()).hexdigest()}}}"

    @staticmethod
    def _rev(revision: str) -> str:
        return hashlib.sha1(revision.encode()).hexdigest()[:16]

    def _data_prefix(self, stream_id: str, rev: str) -> str:
        return f"{self._tag(stream_id)}:{rev}:"

    def _idx(self, stream_id: str, rev: str) -> str:
        return f"{self._tag(stream_id)}:{rev}:idx"

    def _revs(self, stream_id: str) -> str:
        return f"{self._tag(stream_id)}:revs"

    @property
    def _streams(self) -> str:
        return f"{self.prefix}streams"

    # -- contract -------------------------------------------------------------------------------

    def set(self, snapshot: Snapshot, *, ttl: float | None = None) -> Snapshot:
        now = self.now()
        stored = self.stamped(snapshot, now, ttl)
        expires_at = stored.expires_at
        ttl_ms = (
            0 if expires_at is None else max(1, round((expires_at - now).total_seconds() * 1000))
        )
        rev = self._rev(snapshot.revision)
        with self._translate():
            client = self.client
            self._scripts["set"](
                keys=[
                    self._data_prefix(snapshot.stream_id, rev) + str(snapshot.version),
                    self._idx(snapshot.stream_id, rev),
                    self._revs(snapshot.stream_id),
                ],
                args=[_encode(stored), snapshot.version, ttl_ms, rev, snapshot.revision],
                client=client,
            )
            client.sadd(self._streams, snapshot.stream_id)
        return stored

    def latest(
        self, stream_id: str, *, revision: str | None = None, at_or_before: int | None = None
    ) -> Snapshot | None:
        bound = "+inf" if at_or_before is None else str(at_or_before)
        with self._translate():
            client = self.client
            revs = [self._rev(revision)] if revision is not None else self._revisions(stream_id)
            found = []
            for rev in revs:
                value = self._scripts["latest"](
                    keys=[self._idx(stream_id, rev)],
                    args=[bound, self._data_prefix(stream_id, rev)],
                    client=client,
                )
                if value:
                    found.append(_decode(value))
        if not found:
            return None
        return max(found, key=lambda s: (s.version, s.created_at))

    def latest_for_time(
        self,
        stream_id: str,
        *,
        revision: str,
        at: datetime,
        known_at: datetime | None = None,
        at_or_before: int | None = None,
    ) -> Snapshot | None:
        rev = self._rev(revision)
        idx = self._idx(stream_id, rev)
        prefix = self._data_prefix(stream_id, rev)
        bound = "+inf" if at_or_before is None else str(at_or_before)
        start = 0
        with self._translate():
            client = self.client
            while True:
                versions = client.zrevrangebyscore(idx, bound, "-inf", start=start, num=32)
                if not versions:
                    return None
                pipe = client.pipeline(transaction=False)
                for v in versions:
                    pipe.get(prefix + v.decode())
                for value in pipe.execute():
                    if value is not None:
                        snapshot = _decode(value)
                        if usable_for_time(snapshot, at, known_at):
                            return snapshot
                start += len(versions)

    def list(self, stream_id: str, *, revision: str | None = None) -> builtins.list[Snapshot]:
        snapshots = []
        with self._translate():
            client = self.client
            revs = [self._rev(revision)] if revision is not None else self._revisions(stream_id)
            for rev in revs:
                idx = self._idx(stream_id, rev)
                prefix = self._data_prefix(stream_id, rev)
                versions = [v.decode() for v in client.zrange(idx, 0, -1)]
                if not versions:
                    continue
                pipe = client.pipeline(transaction=False)
                for v in versions:
                    pipe.get(prefix + v)
                gone = []
                for v, value in zip(versions, pipe.execute(), strict=True):
                    if value is None:
                        gone.append(v)
                    else:
                        snapshots.append(_decode(value))
                if gone:
                    client.zrem(idx, *gone)
        snapshots.sort(key=lambda s: (s.version, s.revision))
        return snapshots

    def delete(
        self, stream_id: str, *, version: int | None = None, revision: str | None = None
    ) -> int:
        deleted = 0
        with self._translate():
            client = self.client
            revs = [self._rev(revision)] if revision is not None else self._revisions(stream_id)
            for rev in revs:
                idx = self._idx(stream_id, rev)
                prefix = self._data_prefix(stream_id, rev)
                if version is None:
                    versions = [v.decode() for v in client.zrange(idx, 0, -1)]
                else:
                    versions = [str(version)]
                if not versions:
                    continue
                pipe = client.pipeline(transaction=False)
                for v in versions:
                    pipe.delete(prefix + v)
                pipe.zrem(idx, *versions)
                results = pipe.execute()
                deleted += sum(results[:-1])
                if client.zcard(idx) == 0:
                    client.delete(idx)
                    client.hdel(self._revs(stream_id), rev)
            if client.hlen(self._revs(stream_id)) == 0:
                client.delete(self._revs(stream_id))
                client.srem(self._streams, stream_id)
        return deleted

    def stream_ids(self, *, after: str | None = None, limit: int = 1000) -> builtins.list[str]:
        found: builtins.list[str] = []
        candidates = self._candidates()
        if after is not None:
            candidates = [c for c in candidates if c > after]
        for start in range(0, len(candidates), 256):
            found += self._existing(candidates[start : start + 256])
            if len(found) >= limit:
                break
        return found[:limit]

    def iter_stream_ids(self, batch: int = 1000) -> Iterator[str]:
        # One read of the set, not one per page (stream_ids pages would re-read all of it).
        candidates = self._candidates()
        for start in range(0, len(candidates), batch):
            yield from self._existing(candidates[start : start + batch])

    def count_streams(self) -> int:
        candidates = self._candidates()
        return sum(
            len(self._existing(candidates[start : start + 1000]))
            for start in range(0, len(candidates), 1000)
        )

    def _candidates(self) -> builtins.list[str]:
        with self._translate():
            members = self.client.sscan_iter(self._streams, count=1000)
            return sorted({m.decode() for m in members})

    def _existing(self, stream_ids: builtins.list[str]) -> builtins.list[str]:
        """Those of ``stream_ids`` that still have snapshots; the others (whose snapshots all
        expired) are taken out of the set of streams."""
        if not stream_ids:
            return []
        with self._translate():
            client = self.client
            pipe = client.pipeline(transaction=False)
            for stream_id in stream_ids:
                pipe.exists(self._revs(stream_id))
            flags = pipe.execute()
            gone = [s for s, exists in zip(stream_ids, flags, strict=True) if not exists]
            if gone:
                client.srem(self._streams, *gone)
        return [s for s, exists in zip(stream_ids, flags, strict=True) if exists]

    def ping(self) -> None:
        with self._translate():
            self.client.ping()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- helpers --------------------------------------------------------------------------------

    def _revisions(self, stream_id: str) -> builtins.list[str]:
        return [k.decode() for k in self.client.hkeys(self._revs(stream_id))]

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Turn redis-py errors into Flipbook errors at this boundary."""
        try:
            yield
        except redis.RedisError as exc:
            raise Unavailable(
                f"the Redis snapshot store is unavailable ({type(exc).__name__}); retry later"
            ) from exc


def _encode(snapshot: Snapshot) -> str:
    return encode_payload(snapshot.as_dict())


def _decode(value: bytes) -> Snapshot:
    data = json.loads(value)
    for name in ("timestamp", "recorded_at", "created_at", "expires_at"):
        if data[name] is not None:
            data[name] = datetime.fromisoformat(data[name])
    return Snapshot(**data)
