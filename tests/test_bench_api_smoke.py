"""bench/api.py runs end to end with tiny counts (REST, gRPC and embedded appends through a
real `manage.py serve`) and prints every row. Its timings are never asserted."""

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


def test_api_benchmark_runs_and_prints_every_row():
    require_postgres()
    name = f"flipbook_bench_api_smoke_{os.getpid()}"
    parts = urlsplit(settings.POSTGRES_URL)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", *parts[3:]))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.api", "--quick", "--database-url", url],
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
    for workload in ("1-event appends", "100-event appends"):
        row = next((line for line in lines if line.startswith(workload)), None)
        assert row is not None, done.stdout
        figures = row.split()[2:5]
        assert all(float(f.replace(",", "")) > 0 for f in figures), row
    assert "grpc >= 0.6" in done.stdout and "rest >= 0.4" in done.stdout
