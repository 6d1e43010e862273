-- wrk: one-event appends to new streams, a stream per request (ids unique per thread).
-- WRK_PREFIX (env) keeps streams of one run apart from the next; AUTHORIZATION is optional;
-- WRK_EVENTS events per append (1 unless given).
local counter = 0
local prefix = os.getenv("WRK_PREFIX") or "wrk"
local auth = os.getenv("WRK_AUTHORIZATION")
local next_thread = 0
local event = '{"name":"Deposited","payload":{"amount":1,"currency":"EUR","note":"benchmark event"}}'
local events = {}
for i = 1, tonumber(os.getenv("WRK_EVENTS") or "1") do events[i] = event end
local body = '{"expected_version":0,"events":[' .. table.concat(events, ",") .. ']}'

function setup(thread)
  thread:set("tid", next_thread)  -- a global of the thread's own Lua state
  next_thread = next_thread + 1
end

function init(args)
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  if auth then wrk.headers["Authorization"] = auth end
end

function request()
  counter = counter + 1
  return wrk.format(nil, "/api/v1/streams/" .. prefix .. "-" .. tid .. "-" .. counter .. "/events")
end

-- One JSON line for bench.serve to parse (latencies in microseconds).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
