"""The Redis benchmark (bench/redis.py) runs end to end with tiny counts on the test Redis, its
figures are sane, and it leaves no key behind. Its timings are never asserted."""

from __future__ import annotations

import re

import pytest

from bench.redis import parse_options
from bench.workloads import WORKLOADS, workload_label
from tests.bench_helpers import run_bench
from tests.contracts.snapshot_store import REDIS_URL, require_redis

ARGS = ["--quick", "--rounds=1", "--single-appends=8", "--parallel-appends=8", "--read-events=300"]
COLUMNS = ["workload", "events", "flipbook", "redis-py", "fb/raw"]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_quick_run_prints_sane_figures_and_cleans_up():
    import redis

    require_redis()
    run = run_bench("bench.redis", *ARGS, "--url", REDIS_URL)
    assert run.returncode == 0, run.stderr[-4000:]
    options, _ = parse_options(ARGS)
    lines = run.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("workload "))
    assert re.split(r"\s{2,}", lines[header].strip()) == COLUMNS
    rows = {}
    for line in lines[header + 2 : header + 2 + len(WORKLOADS)]:
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == len(COLUMNS), line
        rows[cells[0]] = dict(zip(COLUMNS[1:], map(number, cells[1:]), strict=True))
    figures = {w.key: rows[workload_label(w, options)] for w in WORKLOADS}
    for key, row in figures.items():
        assert row["events"] > 0, key
        assert row["flipbook"] > 0 and row["redis-py"] > 0, key
        assert row["fb/raw"] == pytest.approx(row["flipbook"] / row["redis-py"], rel=0.05, abs=0.01)
    assert figures["read"]["events"] == 300  # the stream, read whole once per round
    assert "Redis 7" in run.stdout and "EVALSHA of the same commit script" in run.stdout
    # The run's keys are gone: "{flipbook-bench:<pid>-<random>:...}" of either system.
    prefix = re.search(r"keys \{(flipbook-bench:[^:]+):", run.stdout).group(1)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert list(client.scan_iter(match=f"{{{prefix}*", count=1000)) == []
    finally:
        client.close()
