"""Benchmark of the DynamoDB backend (``python -m bench.dynamodb``): bench/workloads.py's append
and read workloads through the store service on DynamoDB Local, beside the database backend on
a SQLite file and on PostgreSQL, in one run; prints events/s, ratios and DynamoDB requests and
capacity units per event."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: python bench/dynamodb.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.database import ServerUrl, recreate_database
from bench.dynamodb_local import dynamodb_local
from bench.events import SampleEvent, sample_events
from bench.harness import Measurement, progress
from bench.options import BenchOptions
from bench.report import _table
from bench.systems.base import BenchSystem
from bench.systems.flipbook import FlipbookWriter, _new_event
from bench.workloads import READ_STREAM, WORKLOADS, load_stream, run_workload, workload_label

ROOT = Path(__file__).resolve().parent.parent
URL_VARIABLE = "FLIPBOOK_BENCH_DYNAMODB_DATABASE_URL"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench_dynamodb"
MAX_DYNAMODB_EVENTS = 48  # events in one DynamoDB commit (one transaction of 100 items)
SYSTEMS = ("sqlite", "postgres", "dynamodb")
# The DynamoDB operations that read; every other one writes (a reader's fence is a write).
READ_OPERATIONS = frozenset({"get_item", "batch_get_item", "query"})
# Which writer call each workload's cost is taken from (a contended round also creates its
# stream with append_new, and checks it with a read: those are not its cost).
COST_OF = {
    "single_1": "append_new",
    "single_n": "append_new",
    "batch": "append_new",
    "contended": "append_contended",
    "read": "read_stream",
}

DEFAULTS = {
    "writers": 4,
    "rounds": 3,
    "single_appends": 600,
    "parallel_appends": 1200,
    "batch_appends": 60,
    "batch_size": MAX_DYNAMODB_EVENTS,
    "contended_appends": 240,
    "warmup_appends": 10,
    "read_events": 20_000,
}
# A smoke run: every workload with tiny counts (the figures mean nothing).
QUICK = {
    "writers": 2,
    "rounds": 2,
    "single_appends": 40,
    "parallel_appends": 40,
    "batch_appends": 4,
    "batch_size": 10,
    "contended_appends": 12,
    "warmup_appends": 2,
    "read_events": 500,
}


def parse_options(argv: list[str] | None = None) -> tuple[BenchOptions, argparse.Namespace]:
    """The workload counts (bench/options.py's BenchOptions, with smaller defaults: DynamoDB
    Local is slow) and this module's own flags; --quick presets tiny counts, flags win."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.dynamodb",
        description=(
            "Flipbook's event store on DynamoDB Local beside the database backend on a SQLite "
            f"file and on PostgreSQL (the database named by ${URL_VARIABLE}, default "
            f"{DEFAULT_URL}, is dropped and recreated; its name must contain 'bench')."
        ),
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="smoke run with tiny counts")
    add("--writers", type=int, help="concurrent writers (threads) [4]")
    add("--rounds", type=int, help="rounds per workload, systems taking turns [3]")
    add("--single-appends", type=int, help="one-event appends from one writer [600]")
    add("--parallel-appends", type=int, help="one-event appends from all writers [1200]")
    add("--batch-appends", type=int, help="multi-event appends, one new stream each [60]")
    add("--batch-size", type=int, help=f"events per multi-event append [{MAX_DYNAMODB_EVENTS}]")
    add("--contended-appends", type=int, help="appends to one stream by all writers [240]")
    add("--warmup-appends", type=int, help="untimed appends per writer and round [10]")
    add("--read-events", type=int, help="events in the stream read once per round [20000]")
    add("--endpoint", help="use the DynamoDB at this URL instead of starting DynamoDB Local")
    args = parser.parse_args(argv)
    values = {**DEFAULTS, **(QUICK if args.quick else {})}
    values.update({k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None})
    for name, value in values.items():
        if value < (0 if name == "warmup_appends" else 1):
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if values["batch_size"] > MAX_DYNAMODB_EVENTS:
        parser.error(f"--batch-size must be at most {MAX_DYNAMODB_EVENTS} (one DynamoDB commit)")
    options = BenchOptions(
        database_url=os.environ.get(URL_VARIABLE) or DEFAULT_URL, quick=args.quick, **values
    )
    return options, args


# -- capacity accounting --------------------------------------------------------------------------


@dataclass
class Cost:
    """DynamoDB requests and capacity units of one kind of writer call, and its events."""

    events: int = 0
    requests: int = 0
    read_units: float = 0.0
    write_units: float = 0.0

    def per_event(self, value: float) -> float:
        return value / self.events if self.events else 0.0


@dataclass
class CapacityMeter:
    """The backend's ``capacity_meter``: books each request to the writer call the requesting
    thread is in (``calling``), so set-up, checks and other calls are kept apart."""

    costs: dict[str, Cost] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    local: threading.local = field(default_factory=threading.local)

    def __call__(self, operation: str, units: float) -> None:
        call = getattr(self.local, "call", None) or "other"
        with self.lock:
            cost = self.costs.setdefault(call, Cost())
            cost.requests += 1
            if operation in READ_OPERATIONS:
                cost.read_units += units
            else:
                cost.write_units += units

    @contextmanager
    def calling(self, call: str) -> Iterator[list[int]]:
        """Book requests to ``call``; the caller appends the events it handled to the list."""
        handled: list[int] = []
        self.local.call = call
        try:
            yield handled
        finally:
            self.local.call = None
            with self.lock:
                self.costs.setdefault(call, Cost()).events += sum(handled)

    def take(self) -> dict[str, Cost]:
        """The costs booked since the last take, and start again."""
        with self.lock:
            costs, self.costs = self.costs, {}
        return costs


# -- the systems: one store service, three backends ---------------------------------------------


class MeteredWriter(FlipbookWriter):
    """The store-service writer of bench/systems/flipbook.py, booking DynamoDB costs."""

    def __init__(self, meter: CapacityMeter | None) -> None:
        self.meter = meter

    @contextmanager
    def _calling(self, call: str) -> Iterator[list[int]]:
        if self.meter is None:
            yield []
        else:
            with self.meter.calling(call) as handled:
                yield handled

    def append_new(self, key: str, events: Sequence[SampleEvent]) -> None:
        with self._calling("append_new") as handled:
            super().append_new(key, events)
            handled.append(len(events))

    def append_contended(self, key: str, event: SampleEvent, known_version: int) -> tuple[int, int]:
        with self._calling("append_contended") as handled:
            result = super().append_contended(key, event, known_version)
            handled.append(1)
        return result

    def read_stream(self, key: str) -> int:
        with self._calling("read_stream") as handled:
            count = super().read_stream(key)
            handled.append(count)
        return count

    read_stream_bounded = read_stream


class StoreSystem(BenchSystem):
    """Flipbook's store service on one event store backend (FLIPBOOK_EVENT_STORE), made the
    process's store by :meth:`active` for the time of a round."""

    def __init__(
        self, name: str, config: dict[str, Any], description: str, commit_size: int, meter=None
    ) -> None:
        self.name = name
        self.config = config
        self.description = description
        self.commit_size = commit_size
        self.meter = meter

    @contextmanager
    def active(self) -> Iterator[None]:
        from django.test import override_settings

        with override_settings(FLIPBOOK_EVENT_STORE=self.config):
            yield

    def open_writer(self) -> MeteredWriter:
        return MeteredWriter(self.meter)

    def bulk_load(self, key: str, count: int, report) -> None:
        """Through the store service too (no SQL on DynamoDB), in commits as big as the
        backend takes."""
        from django.db import connections

        from streams import services

        events = [_new_event(e) for e in sample_events(min(count, self.commit_size))]
        done = 0
        with self.active():
            while done < count:
                n = min(self.commit_size, count - done)
                services.append_to_stream(key, events[:n], expected_version=done)
                done += n
                report(done)
        connections.close_all()

    def drop_tables(self) -> None:
        """Delete the DynamoDB table of the run (no-op on the database systems)."""
        if self.config["BACKEND"].endswith("DynamoDBEventStore"):
            from streams.backends.dynamodb import DynamoDBEventStore

            DynamoDBEventStore(**self.config["OPTIONS"]).delete_tables()


# -- the run --------------------------------------------------------------------------------------


def configure_django(sqlite_path: Path, postgres: ServerUrl) -> None:
    """Flipbook's settings with "default" on a fresh SQLite file and "postgres" on the fresh
    benchmark database, both migrated. No snapshot policy: the event stores alone are timed."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "flipbook_site.settings"
    os.environ["FLIPBOOK_DATABASE_URL"] = f"sqlite:///{sqlite_path}"  # absolute: sqlite:////
    os.environ["FLIPBOOK_EVENT_STORE"] = "db"
    os.environ["FLIPBOOK_SNAPSHOT_POLICY"] = "0"
    os.environ["FLIPBOOK_DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ.setdefault("FLIPBOOK_LOG_LEVEL", "WARNING")
    import django
    from django.conf import settings

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from flipbook_site.dburl import database_from_url

    settings.DATABASES["postgres"] = database_from_url(postgres.url, base_dir=ROOT)
    # The connection handler read DATABASES (and filled in defaults) when Django started.
    connections.settings = connections.configure_settings(settings.DATABASES)
    for alias in ("default", "postgres"):
        call_command("migrate", database=alias, verbosity=0, interactive=False)


def open_systems(endpoint: str, meter: CapacityMeter, postgres_version: str) -> list[StoreSystem]:
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=64),
    )
    dynamodb_options = {
        "endpoint_url": endpoint,
        "table_prefix": f"flipbook_bench_{os.getpid()}_",
        "client": client,
        "capacity_meter": meter,
    }
    from streams.backends.dynamodb import DynamoDBEventStore

    DynamoDBEventStore(**dynamodb_options).create_tables()
    database = "streams.backends.database.DatabaseEventStore"
    return [
        StoreSystem(
            "sqlite",
            {"BACKEND": database, "OPTIONS": {"using": "default"}},
            "DatabaseEventStore on a SQLite file (WAL, synchronous=NORMAL)",
            1000,
        ),
        StoreSystem(
            "postgres",
            {"BACKEND": database, "OPTIONS": {"using": "postgres"}},
            f"DatabaseEventStore on PostgreSQL {postgres_version}",
            1000,
        ),
        StoreSystem(
            "dynamodb",
            {
                "BACKEND": "streams.backends.dynamodb.DynamoDBEventStore",
                "OPTIONS": dynamodb_options,
            },
            "DynamoDBEventStore (one table, on-demand), capacity_meter on",
            MAX_DYNAMODB_EVENTS,
            meter,
        ),
    ]


def run_workloads(
    systems: list[StoreSystem], options: BenchOptions, meter: CapacityMeter
) -> tuple[dict[str, dict[str, Measurement]], dict[str, Cost]]:
    """Each workload: set up on every system, then rounds in which the systems take turns (in
    a rotating order). Returns the summed measurements and DynamoDB's cost per workload."""
    results: dict[str, dict[str, Measurement]] = {}
    costs: dict[str, Cost] = {}
    for workload in WORKLOADS:
        label = workload_label(workload, options)
        progress(f"{label}: setting up")
        meter.take()
        results[workload.key] = run_workload(
            workload, systems, options, active=lambda system: system.active()
        )
        costs[workload.key] = meter.take().get(COST_OF[workload.key], Cost())
    return results, costs


def render(
    options: BenchOptions,
    header: Sequence[str],
    results: dict[str, dict[str, Measurement]],
    costs: dict[str, Cost],
) -> str:
    """The report: events/s per system, DynamoDB's ratios to the database backends, and its
    requests and capacity units per event (timed rounds and their warm-ups together)."""
    out = [*header, "", "Throughput (events/s; higher is better) and DynamoDB cost per event"]
    rows = []
    for w in WORKLOADS:
        by_system = results.get(w.key, {})
        sq, pg, dy = (by_system.get(n) for n in SYSTEMS)
        cost = costs.get(w.key, Cost())

        def ratio(a: Measurement | None, b: Measurement | None) -> str:
            return f"{a.rate / b.rate:.2f}" if a and b and b.rate else "-"

        rows.append(
            [
                workload_label(w, options),
                f"{next((m.events for m in (sq, pg, dy) if m), 0):,}",
                *(f"{m.rate:,.0f}" if m else "-" for m in (sq, pg, dy)),
                ratio(dy, sq),
                ratio(dy, pg),
                f"{cost.per_event(cost.requests):.3f}",
                f"{cost.per_event(cost.read_units):.2f}",
                f"{cost.per_event(cost.write_units):.2f}",
            ]
        )
    out += _table(
        ["workload", "events", "sqlite", "postgres", "dynamodb", "dy/sq", "dy/pg",
         "requests/ev", "RCU/ev", "WCU/ev"],
        rows,
    )  # fmt: skip
    n = options.batch_size
    out += [
        "",
        "requests/ev, RCU/ev, WCU/ev: DynamoDB requests and read/write capacity units per event "
        "stored or read, timed rounds and warm-ups together (ReturnConsumedCapacity=TOTAL as "
        "DynamoDB Local reports it; a refused request counts with 0 units).",
        "DynamoDB Local's performance is not AWS's: its events/s say nothing about a real "
        "table. The requests per event carry over; the units only partly: DynamoDB Local "
        "reports less for transactions than AWS bills (2 WCU per item and started KB; an "
        f"append of n events to one stream writes 2n+3 items: >= 10 WCU/ev for n=1, "
        f">= {2 * (2 * n + 3) / n:.1f} for n={n}).",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    options, args = parse_options(argv)
    started = time.perf_counter()
    postgres = ServerUrl(options.database_url)
    progress(f"recreating database {postgres.dbname!r}")
    recreate_database(postgres)
    directory = Path(tempfile.mkdtemp(prefix="flipbook-bench-dynamodb-"))
    meter = CapacityMeter()
    try:
        configure_django(directory / "bench.sqlite3", postgres)
        from django.db import connections

        with connections["postgres"].cursor() as cursor:
            cursor.execute("SHOW server_version")
            postgres_version = cursor.fetchone()[0]
        with _endpoint(args.endpoint) as (endpoint, described):
            systems = open_systems(endpoint, meter, postgres_version)
            try:
                for system in systems:
                    load_stream(system, READ_STREAM, options.read_events)
                results, costs = run_workloads(systems, options, meter)
            finally:
                systems[-1].drop_tables()
        o = options
        header = [
            f"Flipbook event store backends: {described}; PostgreSQL {postgres_version} at "
            f"{postgres.host}:{postgres.port}/{postgres.dbname}; SQLite file {directory}",
            f"counts over {o.rounds} rounds (systems take turns each round): "
            f"{o.single_appends:,} appends (1 writer), {o.parallel_appends:,} ({o.writers} "
            f"writers), {o.batch_appends:,} x {o.batch_size} events, {o.contended_appends:,} "
            f"contended, a {o.read_events:,}-event stream read once per round; warm-up "
            f"{o.warmup_appends} appends per writer and round; no snapshot policy",
            "systems (all through streams.services, as bench/systems/flipbook.py):",
            *(f"  {s.name:<9} {s.description}" for s in systems),
        ]
        if o.quick:
            header.append("QUICK RUN: tiny counts, the figures mean nothing")
        print(render(options, header, results, costs))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"Total run time: {time.perf_counter() - started:.0f} s")
    return 0


@contextmanager
def _endpoint(given: str | None) -> Iterator[tuple[str, str]]:
    if given:
        yield given, f"DynamoDB at {given}"
    else:
        with dynamodb_local() as running:
            yield running


if __name__ == "__main__":
    sys.exit(main())
