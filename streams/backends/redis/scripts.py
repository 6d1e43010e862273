"""The Lua scripts of the Redis event store: the commit (every check, then every write, or
nothing), the filtered all-feed page and the natural-time read, each one atomic script."""

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
  local h = redis.call('HMGET', KEYS[4 * j + 5], 'kind', 'category', 'version', 'count', 'del')
  s.h = h
  if not h[1] then
    if s.expected == 'exists' or (s.exp and s.exp > 0) then
      return {'refused', j, '', '', 0}
    end
  elseif h[5] == 'hard' then
    return {'refused', j, h[1], h[2] or '', tonumber(h[3]), 'hard'}
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
-- An import (after the streams' arguments) gives its source's first position and time.
if ARGV[a] then
  if tonumber(ARGV[a]) < pos then return {'position', pos - 1} end
  pos, now = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
end
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
    if h[5] == 'soft' then
      -- The append starts a soft-deleted stream again: back in the listings and counts.
      redis.call('HDEL', hkey, 'del')
      redis.call('ZADD', KEYS[4], 0, s.sid)
      new_streams = new_streams + 1
      if h[2] then
        redis.call('ZADD', string.sub(KEYS[1], 1, -5) .. 'c:' .. h[2], 0, s.sid)
        redis.call('HINCRBY', KEYS[6], h[2], 1)
      end
    end
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

# KEYS: head, stream, meta, streams, recent, cats, lifecycle set. ARGV: key base ('{p}:'),
# stream id, 'soft' | 'hard' | 'truncate', the ordinal to truncate before. Returns {'ok',
# kind, category, version, count, truncate_before, last} (the head before), {'missing'},
# {'soft'} (deleted already), {'hard'} (a tombstone) or {'past', one after the last ordinal}.
LIFECYCLE_SCRIPT = """#!lua
local base, sid, op = ARGV[1], ARGV[2], ARGV[3]
local h = redis.call('HMGET', KEYS[1], 'kind', 'category', 'version', 'count', 'del', 'tb', 'last')
if not h[1] then return {'missing'} end
if h[5] == 'hard' then return {'hard'} end
if h[5] == 'soft' and op ~= 'hard' then return {'soft'} end
local version, count = tonumber(h[3]), tonumber(h[4])
local tb = tonumber(h[6] or '0')
local after_last = version + 1
if h[1] == 'neutral' then after_last = math.max(tonumber(h[7]) + 1, tb) end
local reply = {'ok', h[1], h[2] or '', version, count, tb, tonumber(h[7])}
local meta_events = tonumber(redis.call('HGET', KEYS[3], 'events') or '0')
if op == 'truncate' then
  local before = tonumber(ARGV[4])
  if before > after_last then return {'past', after_last} end
  local cut = math.max(before, tb)
  local remaining = version - cut + 1
  if h[1] == 'neutral' then
    remaining = #redis.call('XRANGE', KEYS[2], string.format('%d', cut) .. '-0', '+')
  end
  redis.call('HSET', KEYS[1], 'tb', string.format('%d', cut), 'count', remaining)
  redis.call('HSET', KEYS[3], 'events', string.format('%d', meta_events - count + remaining))
  redis.call('ZADD', KEYS[7], 0, sid)
  return reply
end
if h[5] ~= 'soft' then
  -- A live stream leaves the listings and the counts.
  redis.call('ZREM', KEYS[4], sid)
  redis.call('ZREM', KEYS[5], sid)
  if h[2] then
    redis.call('ZREM', base .. 'c:' .. h[2], sid)
    if redis.call('HINCRBY', KEYS[6], h[2], -1) <= 0 then redis.call('HDEL', KEYS[6], h[2]) end
  end
  local streams = tonumber(redis.call('HGET', KEYS[3], 'streams') or '0')
  redis.call('HSET', KEYS[3], 'streams', string.format('%d', streams - 1),
             'events', string.format('%d', meta_events - count))
end
redis.call('HSET', KEYS[1], 'del', op, 'tb', string.format('%d', math.max(after_last, tb)),
           'count', 0)
redis.call('ZADD', KEYS[7], 0, sid)
return reply
"""

# KEYS: head, stream, times, feed, ids. ARGV: the most events to remove. Removes for good the
# events of a stream that reads no longer show, with their feed entries, id claims and time
# keys; returns how many went.
SCAVENGE_SCRIPT = """#!lua
local h = redis.call('HMGET', KEYS[1], 'del', 'tb')
local hi
if h[1] == 'hard' then
  hi = '+'
elseif tonumber(h[2] or '0') > 1 then
  hi = '(' .. h[2] .. '-0'
else
  return 0
end
local entries = redis.call('XRANGE', KEYS[2], '-', hi, 'COUNT', tonumber(ARGV[1]))
for _, entry in ipairs(entries) do
  local f = entry[2]
  local ordinal = tonumber(string.match(entry[1], '^(%d+)'))
  redis.call('XDEL', KEYS[4], f[4] .. '-0')
  redis.call('HDEL', KEYS[5], f[6])
  if f[14] ~= '' then
    redis.call('ZREM', KEYS[3], f[14] .. '#' .. string.format('%020d', ordinal))
  end
  redis.call('XDEL', KEYS[2], entry[1])
end
return #entries
"""
