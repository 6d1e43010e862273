"""RedisEventStore: the event store on Redis 7 (redis-py), on Redis Streams; see the docs
(docs/operations/redis-event-store.md).

Every key of one store carries the same hash tag ``{<key_prefix>}``, so a whole store lives
in one Redis Cluster slot: a multi-stream commit and the gap-free all-feed need every key a
commit touches in one atomic script, and Redis runs a script on one slot only.

* ``{p}:s:<stream id>``: a Redis Stream of the stream's events, entry id ``<ordinal>-0``
  (the version; the position on version-neutral streams), fields v x i n p m t r (version,
  position, event id as 16 bytes, name, payload, metadata, natural time, recorded at in µs).
* ``{p}:h:<stream id>``: the head hash (kind, category, version, count, created, updated,
  last position).
* ``{p}:t:<stream id>``: sorted set (lexicographic) ``<natural time>#<ordinal>`` of the
  stream's events that have a natural time.
* ``{p}:feed``: the all-feed, a Redis Stream with entry id ``<position>-0`` and fields
  s o n (stream id, ordinal, name): a reference to the event.
* ``{p}:ids``: hash event id (16 bytes) -> ``<ordinal>:<stream id>`` (idempotent re-sends).
* ``{p}:meta``: hash of the last position, the last recorded time and minute, and counts.
* ``{p}:streams`` and ``{p}:c:<category>``: sorted sets (lexicographic) of stream ids;
  ``{p}:recent``: stream ids by last position; ``{p}:cats``: streams per category;
  ``{p}:epm``: the first position of each minute that recorded events.

A commit is one Lua script (EVALSHA): it checks every head and every event id, then draws
its positions from ``meta`` and writes, or writes nothing. Redis runs one script at a time,
so positions become visible in order and without gaps: the all-feed needs no fence."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import redis
from redis.cluster import RedisCluster

from streams.backends.base import (
    BaseEventStore,
    check_readable,
    import_commits,
    refusal_error,
)
from streams.backends.redis.items import (
    EPOCH,
    FEED_SCAN_BUDGET,
    GLOBAL_KEYS,
    MAX_ATTEMPTS,
    PERSISTENCE_MODES,
    commit_result,
    event_of,
    split_cluster_flag,
    stream_of,
    time_key,
    time_text,
)
from streams.backends.redis.lifecycle import RedisLifecycle
from streams.backends.redis.scripts import (
    COMMIT_SCRIPT,
    FEED_SCRIPT,
    LIFECYCLE_SCRIPT,
    SCAVENGE_SCRIPT,
    TIME_SCRIPT,
)
from streams.exceptions import IdConflict, Unavailable, ValidationError, VersionConflict
from streams.records import (
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


class RedisEventStore(RedisLifecycle, BaseEventStore):
    """Event store on Redis 7 (standalone, or one slot of a Redis Cluster).

    OPTIONS: ``url`` (``redis://``, ``rediss://``; a Redis Cluster when ``cluster`` is true
    or the URL says ``?cluster=true``), ``key_prefix`` (the hash tag of every key, default
    ``flipbook:events``; one per store), ``socket_timeout`` (seconds, default 5),
    ``persistence`` (what ``serve``'s check requires: ``"aof"``, the default: append-only
    file on and no eviction of keys; ``"managed"``: the service persists writes itself, as
    Amazon MemoryDB does, not checked; ``"none"``: development only, a restart loses
    events), ``client`` (a ready redis-py client: tests, benchmarks)."""

    def __init__(
        self,
        *,
        url: str = "",
        cluster: bool = False,
        key_prefix: str = "flipbook:events",
        socket_timeout: float = 5.0,
        persistence: str = "aof",
        client: Any = None,
        **options: Any,
    ) -> None:
        from django.core.exceptions import ImproperlyConfigured

        super().__init__(**options)
        if client is None and not url:
            raise ImproperlyConfigured(
                "The Redis event store needs a URL: set FLIPBOOK_REDIS_EVENT_STORE_URL (or "
                "FLIPBOOK_REDIS_URL), e.g. redis://127.0.0.1:6379/0, or OPTIONS['url'] of "
                "FLIPBOOK_EVENT_STORE."
            )
        if not key_prefix or "{" in key_prefix or "}" in key_prefix:
            raise ImproperlyConfigured(
                f"FLIPBOOK_EVENT_STORE OPTIONS['key_prefix'] {key_prefix!r} must be non-empty "
                "and hold no braces: it becomes the hash tag {<key_prefix>} of every key."
            )
        if persistence not in PERSISTENCE_MODES:
            raise ImproperlyConfigured(
                f"FLIPBOOK_EVENT_STORE OPTIONS['persistence'] is {persistence!r}: choose one of "
                f"{', '.join(PERSISTENCE_MODES)} (FLIPBOOK_REDIS_EVENT_STORE_PERSISTENCE)."
            )
        self.url, url_cluster = split_cluster_flag(url) if url else ("", False)
        self.cluster = cluster or url_cluster
        self.key_prefix = key_prefix
        self.persistence = persistence
        self.socket_timeout = float(socket_timeout)
        self.base = "{" + key_prefix + "}:"
        self.global_keys = [self.base + name for name in GLOBAL_KEYS]
        self._owns_client = client is None
        self._client = client
        self._scripts: dict[str, Any] = {}

    # -- connection and error translation -------------------------------------------------------

    @property
    def client(self) -> Any:  # redis.Redis or RedisCluster
        if self._client is None:
            # No retries inside redis-py: a commit sent twice after a lost reply would be
            # answered as a duplicate of itself. The caller decides (resending the same
            # event ids is safe), and a dead pooled connection is replaced when taken.
            options = {
                "socket_timeout": self.socket_timeout,
                "socket_connect_timeout": self.socket_timeout,
            }
            if self.cluster:
                self._client = RedisCluster.from_url(self.url, **options)
            else:
                self._client = redis.Redis.from_url(self.url, retry=None, **options)
        if not self._scripts:
            self._scripts = {
                "commit": self._client.register_script(COMMIT_SCRIPT),
                "feed": self._client.register_script(FEED_SCRIPT),
                "time": self._client.register_script(TIME_SCRIPT),
                "lifecycle": self._client.register_script(LIFECYCLE_SCRIPT),
                "scavenge": self._client.register_script(SCAVENGE_SCRIPT),
            }
        return self._client

    def _script(self, name: str) -> Any:
        """A registered script (EVALSHA, loaded again by redis-py when Redis forgot it)."""
        self.client  # noqa: B018 - connects and registers the scripts on first use
        return self._scripts[name]

    @contextmanager
    def _translate(self, *, writing: bool = False) -> Iterator[None]:
        """Turn redis-py errors into Flipbook errors at this boundary."""
        try:
            yield
        except redis.TimeoutError as exc:
            hint = "the commit may be stored or not: resend it with the same event ids, or "
            raise Unavailable(
                f"the Redis event store did not answer in time; {hint if writing else ''}"
                "retry later"
            ) from exc
        except redis.exceptions.BusyLoadingError as exc:
            raise Unavailable(
                "the Redis event store is loading its data after a restart; retry later"
            ) from exc
        except (redis.exceptions.AuthenticationError, redis.exceptions.NoPermissionError) as exc:
            raise Unavailable(
                "the Redis event store refused this server's credentials (the user and "
                "password of FLIPBOOK_REDIS_EVENT_STORE_URL); retry later"
            ) from exc
        except redis.ConnectionError as exc:
            raise Unavailable(
                f"the Redis event store is unreachable ({type(exc).__name__}); retry later"
            ) from exc
        except redis.exceptions.OutOfMemoryError as exc:
            raise Unavailable(
                "the Redis event store is out of memory (maxmemory) and refuses writes; retry later"
            ) from exc
        except redis.exceptions.ReadOnlyError as exc:
            raise Unavailable(
                "the Redis event store is a read-only replica (a failover under way?); retry later"
            ) from exc
        except redis.RedisError as exc:
            code = str(exc).split(" ", 1)[0]
            reason = (
                f"is not ready ({code})"
                if code in {"MISCONF", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"}
                else f"failed ({type(exc).__name__})"
            )
            raise Unavailable(f"the Redis event store {reason}; retry later") from exc

    def _stream_key(self, stream_id: str) -> str:
        return self.base + "s:" + stream_id

    def _head_key(self, stream_id: str) -> str:
        return self.base + "h:" + stream_id

    def _times_key(self, stream_id: str) -> str:
        return self.base + "t:" + stream_id

    def _category_key(self, category: str) -> str:
        return self.base + "c:" + category

    # -- append -------------------------------------------------------------------------------

    def append(self, appends: Sequence[PreparedAppend]) -> CommitResult:
        keys, args = self._commit_arguments(appends)
        last_refused = 0
        for _attempt in range(MAX_ATTEMPTS):
            with self._translate(writing=True):
                reply = self._script("commit")(keys=keys, args=args)
            status = reply[0]
            if status == b"ok":
                return commit_result(appends, reply)
            if status == b"claimed":
                duplicate = self.resolve_resend(appends)
                if duplicate is not None:
                    return duplicate
                number = int(reply[1]) - 1
                taken = [e for a in appends for e in a.events][number]
                raise IdConflict([str(taken.id)])
            # Refused: stream index (1-based), and its head as the script saw it.
            index = int(reply[1]) - 1
            last_refused = index
            if any(e.id_given for a in appends for e in a.events):
                duplicate = self.resolve_resend(appends)
                if duplicate is not None:
                    return duplicate
            kind = reply[2].decode() or None
            category = reply[3].decode() or None
            deleted = reply[5].decode() if len(reply) > 5 else None
            error = refusal_error(appends[index], kind, category, int(reply[4]), deleted)
            if error is not None:
                raise error
        a = appends[last_refused]
        head = self.head(a.stream_id)
        raise VersionConflict(a.stream_id, a.expected_version, (head.version or 0) if head else 0)

    def _commit_arguments(self, appends: Sequence[PreparedAppend]) -> tuple[list[str], list[Any]]:
        """The keys and arguments of the commit script for ``appends``."""
        keys = list(self.global_keys)
        args: list[Any] = [len(appends)]
        for a in appends:
            sid = a.stream_id
            keys += [
                self._stream_key(sid),
                self._head_key(sid),
                self._times_key(sid),
                self._category_key(a.category or ""),
            ]
            args += [str(a.expected_version), a.kind or "", a.category or "", len(a.events), sid]
            for e in a.events:
                args += [
                    e.id.bytes,
                    e.name,
                    e.payload_json,
                    e.metadata_json,
                    "" if e.timestamp is None else time_text(e.timestamp),
                ]
        return keys, args

    # -- import -------------------------------------------------------------------------------

    import_keeps = frozenset({"positions", "recorded_at"})

    def import_events(
        self,
        streams: Mapping[str, ImportedStream],
        events: Sequence[ImportedEvent],
        *,
        keep_positions: bool = True,
    ) -> int:
        if not keep_positions:
            return super().import_events(streams, events, keep_positions=False)
        stored = 0
        for appends, first in import_commits(streams, events, as_recorded=True):
            keys, args = self._commit_arguments(appends)
            # The commit script takes its source's first position and time after the streams.
            args += [first.position, (first.recorded_at - EPOCH) // timedelta(microseconds=1)]
            with self._translate(writing=True):
                reply = self._script("commit")(keys=keys, args=args)
            status = reply[0]
            if status == b"position":
                raise ValidationError(
                    "position",
                    f"{first.position} is not above the store's last position {int(reply[1])}: "
                    "import into an empty store, or merge",
                )
            if status == b"claimed":
                number = int(reply[1]) - 1
                taken = [e for a in appends for e in a.events][number]
                raise IdConflict([str(taken.id)], "an event id of the import is stored already")
            if status != b"ok":
                index = int(reply[1]) - 1
                a = appends[index]
                kind, category = reply[2].decode() or None, reply[3].decode() or None
                error = refusal_error(a, kind, category, int(reply[4]))
                raise error or VersionConflict(a.stream_id, a.expected_version, int(reply[4]))
            stored += sum(len(a.events) for a in appends)
        return stored

    # -- reads --------------------------------------------------------------------------------

    def read(self, query: StreamQuery) -> list[RecordedEvent]:
        head_key = self._head_key(query.stream_id)
        if query.by_time:
            with self._translate():
                deleted, cut = self.client.hmget(head_key, ["del", "tb"])
            check_readable(query.stream_id, deleted and deleted.decode())
            events = self._read_by_time(query)
            first = int(cut or 0)  # the first ordinal that remains (docs: lifecycle)
            if first:
                events = [e for e in events if (e.version or e.position) >= first]
            return events
        versions = query.from_version is not None or query.to_version is not None
        lo = max(1, query.from_version or 1)
        hi = query.to_version
        if query.after is not None:
            if query.backwards:
                hi = int(query.after[0]) - 1 if hi is None else min(hi, int(query.after[0]) - 1)
            else:
                lo = max(lo, int(query.after[0]) + 1)
        if hi is not None and lo > hi:
            return []
        # The head's lifecycle fields and the range in one round trip; read again from the
        # truncation point only when it lies inside the range.
        with self._translate():
            pipe = self.client.pipeline(transaction=False)
            pipe.hmget(head_key, ["del", "tb"])
            self._range(pipe, query, lo, hi)
            (deleted, cut), entries = pipe.execute()
        check_readable(query.stream_id, deleted and deleted.decode())
        first = int(cut or 0)
        if first > lo:
            lo = first
            if hi is not None and lo > hi:
                return []
            with self._translate():
                entries = self._range(self.client, query, lo, hi)
        events = [event_of(query.stream_id, list(fields.values())) for _, fields in entries]
        if versions and events and events[0].version is None:
            return []  # version-neutral events have no version to select on
        return events

    def _range(self, client: Any, query: StreamQuery, lo: int, hi: int | None) -> Any:
        """XRANGE (XREVRANGE backwards) of the stream's ordinals ``lo``..``hi`` on ``client``
        (a client or a pipeline)."""
        key = self._stream_key(query.stream_id)
        start, end = f"{lo}-0", "+" if hi is None else f"{hi}-0"
        if query.backwards:
            return client.xrevrange(key, end, start, count=query.limit)
        return client.xrange(key, start, end, count=query.limit)

    def _read_by_time(self, query: StreamQuery) -> list[RecordedEvent]:
        lo = "-" if query.since is None else "[" + time_text(query.since)
        hi = "+" if query.until is None else "(" + time_text(query.until) + "$"
        if query.after is not None:
            key = time_key(datetime.fromisoformat(query.after[0]), int(query.after[1]))
            if query.backwards:
                if hi == "+" or key < hi[1:]:
                    hi = "(" + key
            elif lo == "-" or key >= lo[1:]:
                lo = "(" + key
        args = [
            lo,
            hi,
            "1" if query.backwards else "0",
            query.limit,
            "" if query.from_version is None else query.from_version,
            "" if query.to_version is None else query.to_version,
        ]
        keys = [self._times_key(query.stream_id), self._stream_key(query.stream_id)]
        with self._translate():
            rows = self._script("time")(keys=keys, args=args)
        return [event_of(query.stream_id, fields[1::2]) for fields in rows]

    def head(self, stream_id: str) -> StreamInfo | None:
        with self._translate():
            fields = self.client.hgetall(self._head_key(stream_id))
        return stream_of(stream_id, fields) if fields else None

    def _heads(self, stream_ids: Sequence[str]) -> list[StreamInfo]:
        if not stream_ids:
            return []
        with self._translate():
            pipe = self.client.pipeline(transaction=False)
            for stream_id in stream_ids:
                pipe.hgetall(self._head_key(stream_id))
            found = pipe.execute()
        return [stream_of(s, f) for s, f in zip(stream_ids, found, strict=True) if f]

    def list_streams(
        self, *, prefix: str | None, category: str | None, after: str | None, limit: int
    ) -> list[StreamInfo]:
        key = self.global_keys[3] if category is None else self._category_key(category)
        lo: bytes = b"-"
        hi: bytes = b"+"
        if prefix:
            lo = b"[" + prefix.encode()
            hi = b"(" + prefix.encode() + b"\xff"  # no UTF-8 text holds the byte 0xff
        if after is not None and (not prefix or after >= prefix):
            lo = b"(" + after.encode()
        with self._translate():
            ids = self.client.zrangebylex(key, lo, hi, start=0, num=limit)
        return self._heads([i.decode() for i in ids])

    def read_all(self, query: FeedQuery) -> FeedPage:
        budget = FEED_SCAN_BUDGET if (query.categories or query.names) else query.limit
        args: list[Any] = [self.base, query.after, query.limit, max(budget, query.limit)]
        args += [len(query.categories), *query.categories, len(query.names), *query.names]
        with self._translate():
            reply = self._script("feed")(keys=[self.global_keys[1], self.global_keys[0]], args=args)
        events = [event_of(reply[i].decode(), reply[i + 1][1::2]) for i in range(1, len(reply), 2)]
        return FeedPage(events, int(reply[0]))

    def find_events(self, ids: Sequence[UUID]) -> dict[UUID, RecordedEvent]:
        if not ids:
            return {}
        with self._translate():
            refs = self.client.hmget(self.global_keys[2], [i.bytes for i in ids])
            found = [r.decode().split(":", 1) for r in refs if r is not None]
            if not found:
                return {}
            pipe = self.client.pipeline(transaction=False)
            for ordinal, stream_id in found:
                pipe.xrange(self._stream_key(stream_id), f"{ordinal}-0", f"{ordinal}-0")
            entries = pipe.execute()
        events = [
            event_of(stream_id, list(rows[0][1].values()))
            for (_, stream_id), rows in zip(found, entries, strict=True)
            if rows
        ]
        return {e.id: e for e in events}

    # -- the console's reads ----------------------------------------------------------------------

    def recent_streams(
        self, *, prefix: str | None, category: str | None, before: int | None, limit: int
    ) -> list[StreamInfo]:
        found: list[StreamInfo] = []
        top = "+inf" if before is None else f"({before}"
        batch = max(100, min(2 * limit, 1000))
        while len(found) < limit:
            with self._translate():
                rows = self.client.zrevrangebyscore(
                    self.global_keys[4], top, "-inf", start=0, num=batch, withscores=True
                )
            if not rows:
                break
            ids = [member.decode() for member, _ in rows]
            if prefix:
                ids = [i for i in ids if i.startswith(prefix)]
            heads = self._heads(ids)
            if category is not None:
                heads = [h for h in heads if h.category == category]
            found += heads
            if len(rows) < batch:
                break
            top = f"({int(rows[-1][1])}"
        return found[:limit]

    def categories(self) -> list[str]:
        with self._translate():
            names = self.client.hkeys(self.global_keys[5])
        return sorted(n.decode() for n in names)

    def totals(self) -> dict[str, int]:
        with self._translate():
            pipe = self.client.pipeline(transaction=False)
            pipe.hmget(self.global_keys[0], ["streams", "events", "last"])
            pipe.hlen(self.global_keys[5])
            (streams, events, last), categories = pipe.execute()
        return {
            "streams": int(streams or 0),
            "events": int(events or 0),
            "categories": int(categories),
            "last_position": int(last or 0),
            "approximate": False,
        }

    def events_per_minute(self, since: datetime) -> dict[datetime, int]:
        first_minute = int((since - EPOCH).total_seconds() // 60)
        with self._translate():
            # The last position first: a minute that starts after it is left out, so the
            # counts are those of one moment even though the two reads are not atomic.
            last = int(self.client.hget(self.global_keys[0], "last") or 0)
            rows = self.client.zrangebyscore(self.global_keys[6], first_minute, "+inf")
        starts = []
        for member in rows:
            minute, position = member.decode().split(":")
            if int(position) <= last:
                starts.append((int(minute), int(position)))
        if not starts:
            return {}
        ends = [position for _, position in starts[1:]] + [last + 1]
        return {
            EPOCH + timedelta(minutes=minute): end - position
            for (minute, position), end in zip(starts, ends, strict=True)
        }

    # -- operations -----------------------------------------------------------------------------

    def ping(self) -> None:
        with self._translate():
            self.client.ping()

    def persistence_report(self) -> dict[str, Any]:
        """What the Redis server says about its durability: ``aof_enabled``, ``appendfsync``
        (None when CONFIG is not allowed, as on managed services), ``maxmemory_policy``.
        Raises Unavailable when Redis cannot be reached."""
        with self._translate():
            client = self.client
            target = {}
            if self.cluster:  # ask the node that serves this store's slot
                target = {"target_nodes": client.get_node_from_key(self.global_keys[0])}
            info = client.info("persistence", **target)
            memory = client.info("memory", **target)
            try:
                fsync = client.config_get("appendfsync", **target).get("appendfsync")
            except redis.ResponseError:  # CONFIG is renamed or refused on managed services
                fsync = None
        return {
            "aof_enabled": bool(int(info.get("aof_enabled", 0))),
            "appendfsync": fsync.decode() if isinstance(fsync, bytes) else fsync,
            "maxmemory_policy": memory.get("maxmemory_policy"),
        }

    def delete_everything(self) -> int:
        """Delete every key of this store (tests, benchmarks); return how many went."""
        deleted = 0
        with self._translate():
            client = self.client
            match = self.base.replace("{", "\\{").replace("}", "\\}") + "*"
            batch: list[bytes] = []
            for key in client.scan_iter(match=match, count=1000):
                batch.append(key)
                if len(batch) == 500:
                    deleted += client.unlink(*batch)
                    batch = []
            if batch:
                deleted += client.unlink(*batch)
        return deleted

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
            self._client = None
            self._scripts = {}
