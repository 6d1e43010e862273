"""The DynamoDB benchmark (bench/dynamodb.py) runs end to end with tiny counts on DynamoDB Local
and the test PostgreSQL server, and its figures are sane. Its timings are never asserted."""

from __future__ import annotations

import re

import pytest

from bench.dynamodb import parse_options
from bench.workloads import WORKLOADS, workload_label
from tests.bench_helpers import run_bench, throwaway_database
from tests.dynamodb_fixtures import dynamodb_local  # noqa: F401  (fixture)

ARGS = ["--quick", "--rounds=1", "--single-appends=8", "--parallel-appends=8", "--read-events=300"]
COLUMNS = ["workload", "events", "sqlite", "postgres", "dynamodb", "dy/sq", "dy/pg"]
COLUMNS += ["requests/ev", "RCU/ev", "WCU/ev"]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_quick_run_prints_sane_figures_for_every_workload(dynamodb_local):  # noqa: F811
    with throwaway_database("dynamodb") as url:
        env = {"FLIPBOOK_BENCH_DYNAMODB_DATABASE_URL": url}
        run = run_bench("bench.dynamodb", *ARGS, "--endpoint", dynamodb_local, env=env)
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
        assert all(row[system] > 0 for system in ("sqlite", "postgres", "dynamodb")), key
        assert row["dy/pg"] == pytest.approx(row["dynamodb"] / row["postgres"], rel=0.05, abs=0.01)
        assert row["requests/ev"] > 0, key
    # One writer appending to new streams: one read of the heads and one transaction per
    # append, every time (nothing races it); each event writes its item, id claim and more.
    assert figures["single_1"]["requests/ev"] == pytest.approx(2.0)
    assert figures["batch"]["requests/ev"] == pytest.approx(2.0 / options.batch_size)
    for key in ("single_1", "single_n", "batch", "contended"):
        assert figures[key]["WCU/ev"] > 0, key
        assert figures[key]["RCU/ev"] > 0, key
    # Racing writers need at least as many requests per stored event as one writer.
    assert figures["contended"]["requests/ev"] >= 2.0
    # A read takes pages of up to 1,000 events: few requests, read units only.
    assert 0 < figures["read"]["requests/ev"] < 0.1
    assert figures["read"]["RCU/ev"] > 0 and figures["read"]["WCU/ev"] == 0
    assert "DynamoDB Local's performance is not AWS's" in run.stdout
