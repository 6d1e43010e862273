"""What the benchmark smoke tests share: a throwaway database on the test PostgreSQL server and
a bench module run as a child process (tiny counts; its timings are never asserted)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings
from psycopg import sql

from tests.conftest import require_postgres

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def throwaway_database(label: str) -> Iterator[str]:
    """The URL of a database named for ``label`` and this process (concurrent test runs never
    share it), dropped afterwards."""
    require_postgres()
    name = f"flipbook_bench_{label}_smoke_{os.getpid()}"
    parts = urlsplit(settings.POSTGRES_URL)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", *parts[3:]))
    finally:
        admin = urlunsplit(("postgresql", parts.netloc, "/postgres", *parts[3:]))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def run_bench(
    module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run ``python -m <module> <args>`` from the repository root with this environment (plus
    ``env``) minus the test settings module, and return what it printed."""
    child_env = {**os.environ, **(env or {})}
    child_env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
