"""bench/transfer.py runs end to end with tiny counts (read_all, export and import on a
throwaway PostgreSQL database, and into Redis and DynamoDB Local) and prints every row.
Timings are never asserted."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from tests.bench_helpers import run_bench, throwaway_database
from tests.contracts.snapshot_store import REDIS_URL, require_redis
from tests.dynamodb_fixtures import dynamodb_local  # noqa: F401

ROWS = ("read_all", "export", "import")


def drop_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        name = sql.Identifier(parts.path.lstrip("/"))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def rows(stdout: str) -> dict[str, list[str]]:
    found = {}
    for line in stdout.splitlines():
        words = line.split()
        if words and words[0] in ROWS:
            found[words[0]] = words
    return found


def test_transfer_benchmark_prints_rates_and_ratios_on_postgresql():
    with throwaway_database("transfer") as url:
        try:
            done = run_bench(
                "bench.transfer", "--quick", env={"FLIPBOOK_BENCH_TRANSFER_DATABASE_URL": url}
            )
        finally:
            drop_database(url + "_target")  # the benchmark's import target
    assert done.returncode == 0, done.stderr[-3000:]
    found = rows(done.stdout)
    assert set(found) == set(ROWS), done.stdout
    for words in found.values():
        assert float(words[-2].replace(",", "")) > 0 and words[-1].endswith("x")
    assert "3,000 events" in done.stdout
    assert "checksums equal: yes; positions and recorded times kept: yes" in done.stdout


def test_transfer_benchmark_imports_into_store_urls(dynamodb_local):  # noqa: F811
    require_redis()
    prefix = f"bench-smoke-{uuid.uuid4().hex[:8]}"
    target = f"{REDIS_URL.rstrip('/')}?prefix={prefix}"
    table_prefix = f"bench_smoke_{uuid.uuid4().hex[:8]}_"
    also = f"dynamodb://{dynamodb_local.removeprefix('http://')}?prefix={table_prefix}"
    try:
        done = run_bench("bench.transfer", "--quick", "--sqlite", "--to", target, "--also-to", also)
    finally:
        from flipbook_site.storeurl import open_store
        from streams.backends.redis import RedisEventStore

        store = RedisEventStore(url=REDIS_URL, key_prefix=prefix)
        store.delete_everything()
        store.close()
        dynamodb = open_store(also)
        dynamodb.store.delete_tables()
        dynamodb.close()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "import (into redis" in done.stdout
    assert "import (into dynamodb" in done.stdout
    assert "redis: checksums equal: yes" in done.stdout
    assert "dynamodb: checksums equal: yes; positions and recorded times kept: yes" in done.stdout
