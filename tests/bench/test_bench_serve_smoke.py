"""bench/serve runs end to end with one-second runs (wrk and the Go gRPC load generator
against `serve` and the reference server) and prints every row. Timings are never asserted."""

from __future__ import annotations

import re

from tests.bench_helpers import run_bench, throwaway_database


def test_serve_benchmark_runs_and_prints_every_row():
    with throwaway_database("serve") as url:
        done = run_bench(
            "bench.serve", "--quick", "--workers", "1", "--database-url", url, timeout=400
        )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for workload in ("REST one-event append", "gRPC one-event append", "REST read, 100 events"):
        row = next((line for line in out.splitlines() if line.startswith(workload)), None)
        assert row is not None, out
        ratio = float(re.search(r"\)\s+([\d.]+)\s", row.split(")", 1)[1] + " ").group(1))
        assert ratio > 0, row
    for scale in ("gRPC reference (+INSERT)", "lean gRPC reference", "gRPC floor (grpc.aio)"):
        assert re.search(re.escape(scale) + r".* serve's gRPC: [\d.]+ of it", out), out
    assert re.search(r"mixed: REST / gRPC .* of solo", out), out
    assert "100-event commits" in out and "target >= 0.6" in out, out
