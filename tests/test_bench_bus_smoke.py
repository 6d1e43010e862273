"""bench/bus.py runs end to end with tiny counts (sockets on a real `manage.py serve`, on the
in-memory and the Redis layer) and reports every event delivered once. Timings are never
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
from tests.test_event_bus import REDIS_URL, require_redis

ROOT = Path(__file__).resolve().parent.parent


def test_bus_benchmark_delivers_every_event_once_on_both_layers():
    require_postgres()
    require_redis()
    name = f"flipbook_bench_bus_smoke_{os.getpid()}"
    parts = urlsplit(settings.POSTGRES_URL)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", *parts[3:]))
    command = [sys.executable, "-m", "bench.bus", "--quick", "--database-url", url]
    try:
        done = subprocess.run(
            [*command, "--redis-url", REDIS_URL],
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
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line}
    for layer in ("in-memory", "redis"):
        row = rows[layer]
        lost, duplicated = int(row[7]), int(row[8])
        assert (lost, duplicated) == (0, 0), done.stdout
        assert float(row[3].removesuffix("ms")) > 0, row
