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

import json
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

import redis
from redis.cluster import RedisCluster

from streams.backends.base import BaseEventStore, refusal_error
from streams.exceptions import IdConflict, Unavailable, VersionConflict
from streams.records import (
    NEUTRAL,
    AppendResult,
    CommitResult,
    FeedPage,
    FeedQuery,
    PreparedAppend,
    RecordedEvent,
    StreamInfo,
    StreamQuery,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GLOBAL_KEYS = ("meta", "feed", "ids", "streams", "recent", "cats", "epm")
PERSISTENCE_MODES = ("aof", "managed", "none")
FEED_SCAN_BUDGET = 20_000  # feed entries one filtered all-feed read may pass over (one script)
MAX_ATTEMPTS = 3

# KEYS: meta feed ids streams recent cats epm, then per stream: events, head, times, category
# set (of the category the append names). ARGV: the number of streams, then per stream:
# expected version ('any', 'exists' or digits), kind ('' or one), category ('' or one), the
# number of events, the stream id, then per event: id (16 bytes), name, payload, metadata,
# natural time ('' for none). Returns {'ok', recorded µs, per stream: kind, category,
# version after, first position}, {'refused', stream index, kind, category, version} or
# {'claimed', event number}: checks first, then writes, so a refusal writes nothing.
COMMIT_SCRIPT = """#!lua
local n_streams = tonumber(ARGV[1])
local streams = {}
local a = 2
local total = 0
for j = 1, n_streams do
  local s = {expected = ARGV[a], kind = ARGV[a + 1], cat = ARGV[a + 2],
             n = tonumber(ARGV[a + 3]), sid = ARGV[a + 4], first = a + 5}
  s.exp = tonumber(s.expected)
  a = a + 5 + 5 * s.n
  total = total + s.n
  streams[j] = s
end
for j, s in ipairs(streams) do
  local h = redis.call('HMGET', KEYS[4 * j + 5], 'kind', 'category', 'version', 'count')
  s.h = h
  if not h[1] then
    if s.expected == 'exists' or (s.exp and s.exp > 0) then
      return {'refused', j, '', '', 0}
    end
  else
    local version = tonumber(h[3])
    if (s.kind ~= '' and s.kind ~= h[1]) or (h[1] == 'neutral' and s.exp)
        or (s.cat ~= '' and h[2] and h[2] ~= s.cat)
        or (s.exp and h[1] ~= 'neutral' and version ~= s.exp) then
      return {'refused', j, h[1], h[2] or '', version}
    end
  end
end
local number = 0
for _, s in ipairs(streams) do
  for i = 0, s.n - 1 do
    number = number + 1
    if redis.call('HEXISTS', KEYS[3], ARGV[s.first + 5 * i]) == 1 then
      return {'claimed', number}
    end
  end
end
local meta = redis.call('HMGET', KEYS[1], 'last', 'rec', 'min', 'events', 'streams')
local pos = tonumber(meta[1] or '0') + 1
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local rec = tonumber(meta[2] or '0')
if now < rec then now = rec end  -- recorded times never go back along the feed
local minute = math.floor(now / 60000000)
if minute ~= tonumber(meta[3] or '-1') then
  redis.call('ZADD', KEYS[7], minute, string.format('%d:%d', minute, pos))
end
local new_streams = 0
local reply = {'ok', now}
for j, s in ipairs(streams) do
  local skey, hkey, tkey = KEYS[4 * j + 4], KEYS[4 * j + 5], KEYS[4 * j + 6]
  local h = s.h
  local kind = h[1] or (s.kind ~= '' and s.kind) or 'versioned'
  local version = tonumber(h[3] or '0')
  local count = tonumber(h[4] or '0')
  local first = pos
  for i = 0, s.n - 1 do
    local at = s.first + 5 * i
    local v, ordinal = '', pos
    if kind ~= 'neutral' then
      version = version + 1
      v = string.format('%d', version)
      ordinal = version
    end
    local ord = string.format('%d', ordinal)
    local ts = ARGV[at + 4]
    redis.call('XADD', skey, ord .. '-0', 'v', v, 'x', string.format('%d', pos),
               'i', ARGV[at], 'n', ARGV[at + 1], 'p', ARGV[at + 2], 'm', ARGV[at + 3],
               't', ts, 'r', string.format('%d', now))
    if ts ~= '' then
      redis.call('ZADD', tkey, 0, ts .. '#' .. string.format('%020d', ordinal))
    end
    redis.call('HSET', KEYS[3], ARGV[at], ord .. ':' .. s.sid)
    redis.call('XADD', KEYS[2], string.format('%d', pos) .. '-0',
               's', s.sid, 'o', ord, 'n', ARGV[at + 1])
    pos = pos + 1
  end
  local last = string.format('%d', pos - 1)
  if not h[1] then
    redis.call('HSET', hkey, 'kind', kind, 'version', string.format('%d', version),
               'count', s.n, 'created', string.format('%d', now),
               'updated', string.format('%d', now), 'last', last)
    redis.call('ZADD', KEYS[4], 0, s.sid)
    new_streams = new_streams + 1
  else
    redis.call('HSET', hkey, 'version', string.format('%d', version),
               'count', string.format('%d', count + s.n),
               'updated', string.format('%d', now), 'last', last)
  end
  local category = h[2]
  if not category and s.cat ~= '' then
    category = s.cat
    redis.call('HSET', hkey, 'category', category)
    redis.call('ZADD', KEYS[4 * j + 7], 0, s.sid)
    redis.call('HINCRBY', KEYS[6], category, 1)
  end
  redis.call('ZADD', KEYS[5], pos - 1, s.sid)
  reply[#reply + 1] = kind
  reply[#reply + 1] = category or ''
  reply[#reply + 1] = version
  reply[#reply + 1] = first
end
redis.call('HSET', KEYS[1], 'last', string.format('%d', pos - 1),
           'rec', string.format('%d', now), 'min', string.format('%d', minute),
           'events', string.format('%d', tonumber(meta[4] or '0') + total),
           'streams', string.format('%d', tonumber(meta[5] or '0') + new_streams))
return reply
"""

# KEYS: feed, meta. ARGV: key base ('{p}:'), after, limit, scan budget, the number of
# categories, the categories, the number of names, the names. Returns {next after, then per
# event: stream id, its fields}. Filters by the stream's category now (as the database does).
FEED_SCRIPT = """#!lua flags=no-writes
local base = ARGV[1]
local after = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local n_cats = tonumber(ARGV[5])
local cats = {}
for i = 1, n_cats do cats[ARGV[5 + i]] = true end
local n_names = tonumber(ARGV[6 + n_cats])
local names = {}
for i = 1, n_names do names[ARGV[6 + n_cats + i]] = true end
local last = tonumber(redis.call('HGET', KEYS[2], 'last') or '0')
if last <= after then return {after} end
local out = {0}
local found = 0
local seen = 0
local category_of = {}
local start = string.format('%d', after + 1) .. '-0'
while true do
  local chunk = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', math.min(budget, 1000))
  if #chunk == 0 then break end
  for _, entry in ipairs(chunk) do
    local f = entry[2]
    local sid, ord, name = f[2], f[4], f[6]
    local pos = tonumber(string.match(entry[1], '^(%d+)'))
    seen = seen + 1
    local wanted = n_names == 0 or names[name]
    if wanted and n_cats > 0 then
      local c = category_of[sid]
      if c == nil then
        c = redis.call('HGET', base .. 'h:' .. sid, 'category') or ''
        category_of[sid] = c
      end
      wanted = cats[c]
    end
    if wanted then
      local event = redis.call('XRANGE', base .. 's:' .. sid, ord .. '-0', ord .. '-0')[1]
      out[#out + 1] = sid
      out[#out + 1] = event[2]
      found = found + 1
      if found == limit then out[1] = pos; return out end
    end
    if seen >= budget then out[1] = pos; return out end
    start = string.format('%d', pos + 1) .. '-0'
  end
end
out[1] = last
return out
"""

# KEYS: times, events. ARGV: lowest and highest member (ZRANGEBYLEX syntax), '1' to read
# backwards, limit, lowest and highest version ('' for none). Returns the events' fields.
TIME_SCRIPT = """#!lua flags=no-writes
local lo, hi = ARGV[1], ARGV[2]
local backwards = ARGV[3] == '1'
local limit = tonumber(ARGV[4])
local from_v, to_v = tonumber(ARGV[5]), tonumber(ARGV[6])
local chunk = math.min(limit, 1000)
if from_v or to_v then chunk = 1000 end
local out = {}
while true do
  local members
  if backwards then
    members = redis.call('ZREVRANGEBYLEX', KEYS[1], hi, lo, 'LIMIT', 0, chunk)
  else
    members = redis.call('ZRANGEBYLEX', KEYS[1], lo, hi, 'LIMIT', 0, chunk)
  end
  if #members == 0 then return out end
  for _, member in ipairs(members) do
    local id = string.format('%d', tonumber(string.sub(member, -20))) .. '-0'
    local event = redis.call('XRANGE', KEYS[2], id, id)[1]
    if event then
      local v = tonumber(event[2][2])
      if (not from_v or (v and v >= from_v)) and (not to_v or (v and v <= to_v)) then
        out[#out + 1] = event[2]
        if #out == limit then return out end
      end
    end
  end
  if backwards then hi = '(' .. members[#members] else lo = '(' .. members[#members] end
end
"""


class RedisEventStore(BaseEventStore):
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
        self.url, url_cluster = _split_cluster_flag(url) if url else ("", False)
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
    def client(self):
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
            }
        return self._client

    def _script(self, name: str):
        """A registered script (EVALSHA, loaded again by redis-py when Redis forgot it)."""
        self.client  # noqa: B018 - connects and registers the scripts on first use
        return self._scripts[name]

    @contextmanager
    def _translate(self, *, writing: bool = False):
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
                    "" if e.timestamp is None else _time_text(e.timestamp),
                ]
        last_refused = 0
        for _attempt in range(MAX_ATTEMPTS):
            with self._translate(writing=True):
                reply = self._script("commit")(keys=keys, args=args)
            status = reply[0]
            if status == b"ok":
                return _commit_result(appends, reply)
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
            error = refusal_error(appends[index], kind, category, int(reply[4]))
            if error is not None:
                raise error
        a = appends[last_refused]
        head = self.head(a.stream_id)
        raise VersionConflict(a.stream_id, a.expected_version, (head.version or 0) if head else 0)

    # -- reads --------------------------------------------------------------------------------

    def read(self, query: StreamQuery) -> list[RecordedEvent]:
        if query.by_time:
            return self._read_by_time(query)
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
        start = f"{lo}-0"
        end = "+" if hi is None else f"{hi}-0"
        key = self._stream_key(query.stream_id)
        with self._translate():
            if query.backwards:
                entries = self.client.xrevrange(key, end, start, count=query.limit)
            else:
                entries = self.client.xrange(key, start, end, count=query.limit)
        events = [_event(query.stream_id, list(fields.values())) for _, fields in entries]
        if versions and events and events[0].version is None:
            return []  # version-neutral events have no version to select on
        return events

    def _read_by_time(self, query: StreamQuery) -> list[RecordedEvent]:
        lo = "-" if query.since is None else "[" + _time_text(query.since)
        hi = "+" if query.until is None else "(" + _time_text(query.until) + "$"
        if query.after is not None:
            key = _time_key(datetime.fromisoformat(query.after[0]), int(query.after[1]))
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
        return [_event(query.stream_id, fields[1::2]) for fields in rows]

    def head(self, stream_id: str) -> StreamInfo | None:
        with self._translate():
            fields = self.client.hgetall(self._head_key(stream_id))
        return _stream(stream_id, fields) if fields else None

    def _heads(self, stream_ids: Sequence[str]) -> list[StreamInfo]:
        if not stream_ids:
            return []
        with self._translate():
            pipe = self.client.pipeline(transaction=False)
            for stream_id in stream_ids:
                pipe.hgetall(self._head_key(stream_id))
            found = pipe.execute()
        return [_stream(s, f) for s, f in zip(stream_ids, found, strict=True) if f]

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
        events = [_event(reply[i].decode(), reply[i + 1][1::2]) for i in range(1, len(reply), 2)]
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
            _event(stream_id, list(rows[0][1].values()))
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


# -- helpers ------------------------------------------------------------------------------------


def _split_cluster_flag(url: str) -> tuple[str, bool]:
    """Take a ``cluster=true`` query parameter out of a Redis URL (redis-py would pass it on
    to the client as an unknown keyword)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [v for k, v in query if k == "cluster"]
    rest = [(k, v) for k, v in query if k != "cluster"]
    cluster = any(v.strip().lower() in {"1", "true", "yes", "on"} for v in flags)
    return urlunsplit(parts._replace(query=urlencode(rest))), cluster


def _time_text(value: datetime) -> str:
    """UTC, fixed width, microseconds: text order is time order (years 1 to 9999)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def _time_key(value: datetime, ordinal: int) -> str:
    return f"{_time_text(value)}#{ordinal:020d}"


def _recorded(micros: bytes | int) -> datetime:
    return EPOCH + timedelta(microseconds=int(micros))


def _event(stream_id: str, values: Sequence[bytes]) -> RecordedEvent:
    """An event from its entry's values in field order: v x i n p m t r."""
    version, position, event_id, name, payload, metadata, timestamp, recorded = values
    return RecordedEvent(
        stream_id,
        int(version) if version else None,
        datetime.fromisoformat(timestamp.decode()).replace(tzinfo=UTC) if timestamp else None,
        name.decode(),
        json.loads(payload),
        {} if metadata == b"{}" else json.loads(metadata),
        UUID(bytes=event_id),
        int(position),
        _recorded(recorded),
    )


def _stream(stream_id: str, fields: dict[bytes, bytes]) -> StreamInfo:
    kind = fields[b"kind"].decode()
    category = fields.get(b"category")
    return StreamInfo(
        stream_id=stream_id,
        kind=kind,
        category=category.decode() if category is not None else None,
        version=None if kind == NEUTRAL else int(fields[b"version"]),
        event_count=int(fields[b"count"]),
        first_recorded_at=_recorded(fields[b"created"]),
        last_recorded_at=_recorded(fields[b"updated"]),
        last_position=int(fields[b"last"]),
        metadata={},
    )


def _commit_result(appends: Sequence[PreparedAppend], reply: list) -> CommitResult:
    recorded_at = _recorded(reply[1])
    results = []
    for index, a in enumerate(appends):
        kind, category, version, first = reply[2 + 4 * index : 6 + 4 * index]
        neutral = kind == b"neutral"
        version = int(version)
        base = version - len(a.events)
        events = tuple(
            e.recorded(a.stream_id, None if neutral else base + i + 1, first + i, recorded_at)
            for i, e in enumerate(a.events)
        )
        results.append(
            AppendResult(
                a.stream_id,
                None if neutral else version,
                events,
                category=category.decode() or None,
            )
        )
    return CommitResult(tuple(results))
