"""The benchmark command (bench/run.py) runs end to end with tiny counts against the test
PostgreSQL server and prints every workload row. Its timings are never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from bench.options import parse_options
from bench.report import memory_label
from bench.workloads import WORKLOADS, workload_label
from tests.conftest import require_postgres

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.fixture
def bench_database_url():
    """A throwaway database on the test server, dropped afterwards."""
    require_postgres()
    name = f"flipbook_bench_smoke_{os.getpid()}"  # concurrent test runs never share it
    parts = urlsplit(settings.POSTGRES_URL)
    yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", *parts[3:]))
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", *parts[3:]))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def test_quick_run_prints_every_workload(bench_database_url):
    env = {**os.environ, "FLIPBOOK_BENCH_DATABASE_URL": bench_database_url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", *ARGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
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
