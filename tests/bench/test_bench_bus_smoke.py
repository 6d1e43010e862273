"""bench/bus.py runs end to end with tiny counts (sockets on a real `manage.py serve`, on the
in-memory and the Redis layer) and reports every event delivered once. Timings are never
asserted."""

from __future__ import annotations

from tests.bench_helpers import run_bench, throwaway_database
from tests.console.test_event_bus import REDIS_URL, require_redis


def test_bus_benchmark_delivers_every_event_once_on_both_layers():
    require_redis()
    with throwaway_database("bus") as url:
        args = ["--quick", "--database-url", url, "--redis-url", REDIS_URL]
        done = run_bench("bench.bus", *args, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line}
    for layer in ("in-memory", "redis"):
        row = rows[layer]
        lost, duplicated = int(row[7]), int(row[8])
        assert (lost, duplicated) == (0, 0), done.stdout
        assert float(row[3].removesuffix("ms")) > 0, row
