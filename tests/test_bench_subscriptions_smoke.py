"""bench/subscriptions.py runs end to end with tiny counts (REST and gRPC consumers against a
real `manage.py serve`, and the live lag) and prints every row. Its timings are never
asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings
from psycopg import sql

from tests.conftest import require_postgres

ROOT = Path(__file__).resolve().parent.parent


def test_subscription_benchmark_runs_and_prints_every_row():
    require_postgres()
    name = f"flipbook_bench_subscriptions_smoke_{os.getpid()}"
    parts = urlsplit(settings.POSTGRES_URL)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", *parts[3:]))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.subscriptions", "--quick", "--database-url", url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
            env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        )
    finally:
        admin = urlunsplit(("postgresql", parts.netloc, "/postgres", *parts[3:]))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
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
