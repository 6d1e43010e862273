-- wrk: reads of one stream's events (WRK_PATH), with AUTHORIZATION when given.
local auth = os.getenv("WRK_AUTHORIZATION")
local path = os.getenv("WRK_PATH")

function init(args)
  if auth then wrk.headers["Authorization"] = auth end
end

function request()
  return wrk.format("GET", path)
end

-- One JSON line for bench.serve to parse (latencies in microseconds).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
