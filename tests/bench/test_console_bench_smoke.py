"""The console benchmark runs end to end on a tiny store (``python -m bench.console --quick``,
in a child process with its own settings and database). Its figures are not asserted."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_postgres

ROOT = Path(__file__).resolve().parents[2]


def test_the_console_benchmark_runs_and_prints_its_table():
    require_postgres()
    # A database of its own, so a full `make bench` running meanwhile is not disturbed.
    url = os.environ.get("FLIPBOOK_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
    env = {
        **os.environ,
        "FLIPBOOK_BENCH_CONSOLE_DATABASE_URL": url.rsplit("/", 1)[0]
        + f"/flipbook_bench_console_smoke_{os.getpid()}",
    }
    try:
        child = run_quick(env)
    finally:
        drop_database(env["FLIPBOOK_BENCH_CONSOLE_DATABASE_URL"])
    assert child.returncode in (0, 1), child.stderr  # 1: a case missed the 200 ms target
    out = child.stdout
    assert "baseline: bare SQL index scan of 50 stream rows" in out
    assert "target: every page under 200 ms" in out
    for case in ("first page (by id)", "sort by last update, page 21", "category 'order'"):
        assert case in out


def drop_database(url: str) -> None:
    from bench.database import ServerUrl, connect

    server = ServerUrl(url)
    with connect(server.with_dbname("postgres")) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{server.dbname}" WITH (FORCE)')


def run_quick(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench.console", "--quick", "--repeats", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
