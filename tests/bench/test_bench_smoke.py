"""The benchmark command (bench/run.py) runs end to end with tiny counts against the test
PostgreSQL server and prints every workload row. Its timings are never asserted."""

from __future__ import annotations

from bench.options import parse_options
from bench.report import memory_label
from bench.workloads import WORKLOADS, workload_label
from tests.bench_helpers import run_bench, throwaway_database

ARGS = [
    "--quick",
    "--writers=2",
    "--single-appends=10",
    "--parallel-appends=10",
    "--batch-appends=2",
    "--batch-size=10",
    "--contended-appends=6",
    "--warmup-appends=2",
    "--read-events=300",
    "--memory-events=500",
    "--memory-baselines",
]


def test_quick_run_prints_every_workload():
    with throwaway_database("run") as url:
        run = run_bench("bench.run", *ARGS, env={"FLIPBOOK_BENCH_DATABASE_URL": url})
    assert run.returncode == 0, run.stderr[-4000:]
    options = parse_options(ARGS)
    rows = [line for line in run.stdout.splitlines() if line.strip()]
    for workload in WORKLOADS:
        label = workload_label(workload, options)
        assert any(line.startswith(label) for line in rows), f"no row for {label!r}"
    for system in ("flipbook", "psycopg", "eventsourcing"):
        label = f"{memory_label(options)}: {system}"
        assert any(line.startswith(label) for line in rows), f"no row for {label!r}"
    assert "Targets met:" in run.stdout
