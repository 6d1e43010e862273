"""bench/api.py runs end to end with tiny counts (REST, gRPC and embedded appends through a
real `manage.py serve`) and prints every row. Its timings are never asserted."""

from __future__ import annotations

from tests.bench_helpers import run_bench, throwaway_database


def test_api_benchmark_runs_and_prints_every_row():
    with throwaway_database("api") as url:
        done = run_bench("bench.api", "--quick", "--database-url", url, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for workload in ("1-event appends", "100-event appends"):
        row = next((line for line in lines if line.startswith(workload)), None)
        assert row is not None, done.stdout
        figures = row.split()[2:5]
        assert all(float(f.replace(",", "")) > 0 for f in figures), row
    assert "grpc >= 0.6" in done.stdout and "rest >= 0.4" in done.stdout
