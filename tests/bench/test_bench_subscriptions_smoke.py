"""bench/subscriptions.py runs end to end with tiny counts (REST and gRPC consumers against a
real `manage.py serve`, and the live lag) and prints every row. Its timings are never
asserted."""

from __future__ import annotations

from tests.bench_helpers import run_bench, throwaway_database


def test_subscription_benchmark_runs_and_prints_every_row():
    with throwaway_database("subscriptions") as url:
        done = run_bench("bench.subscriptions", "--quick", "--database-url", url, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for consumer in ("REST next + ack", "gRPC Next + Ack", "gRPC Subscribe + Ack"):
        row = next((line for line in lines if line.startswith(consumer)), None)
        assert row is not None, done.stdout
        figures = [float(f.replace(",", "")) for f in row.split()[-5:]]
        assert all(f > 0 for f in figures), row  # events/s, two baselines, two ratios
    lag_rows = lines[next(i for i, line in enumerate(lines) if line.startswith("Live lag")) :]
    for transport in ("REST long-poll", "gRPC Subscribe"):
        row = next((line for line in lag_rows if line.startswith(transport)), None)
        assert row is not None, done.stdout
        assert all(float(f) > 0 for f in row.split()[-3:]), row
