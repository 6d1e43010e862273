"""Command-line options of the benchmark: operation counts, scale and the database URL."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench"
URL_VARIABLE = "FLIPBOOK_BENCH_DATABASE_URL"


@dataclass(frozen=True)
class BenchOptions:
    """Operation counts of one run. Each workload's count is split evenly over its rounds
    (rounded down per writer), and every round is warmed up before it is timed."""

    database_url: str = DEFAULT_DATABASE_URL
    writers: int = 8
    rounds: int = 5  # each workload's counts are split over rounds that alternate systems
    single_appends: int = 10000  # one writer, one event per append, each to a new stream
    parallel_appends: int = 16000  # all writers together, one event per append
    batch_appends: int = 150  # appends of ``batch_size`` events, each to a new stream
    batch_size: int = 100
    contended_appends: int = 2000  # successful appends of all writers to one stream
    warmup_appends: int = 30  # per writer and round, untimed, on streams of their own
    read_events: int = 100_000  # the stream read whole once per round
    memory_events: int = 1_000_000
    memory_baselines: bool = False
    quick: bool = False


# A smoke run: every workload with tiny counts (the figures mean nothing).
QUICK = {
    "rounds": 2,
    "single_appends": 40,
    "parallel_appends": 80,
    "batch_appends": 5,
    "contended_appends": 40,
    "warmup_appends": 5,
    "read_events": 2000,
    "memory_events": 10_000,
}


def parse_options(argv: list[str] | None = None) -> BenchOptions:
    """Return the options of ``argv``: --quick presets tiny counts, explicit flags win."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=(
            "Benchmark Flipbook's event store on PostgreSQL beside a plain psycopg baseline "
            "and the eventsourcing library's PostgreSQL recorder, in one run. The database "
            f"named by ${URL_VARIABLE} (default {DEFAULT_DATABASE_URL}) is dropped and "
            "recreated; its name must contain 'bench'."
        ),
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="smoke run with tiny counts")
    add("--writers", type=int, help="concurrent writers (threads) [8]")
    add("--rounds", type=int, help="rounds per workload, systems taking turns [5]")
    add("--single-appends", type=int, help="one-event appends from one writer [10000]")
    add("--parallel-appends", type=int, help="one-event appends from all writers [16000]")
    add("--batch-appends", type=int, help="multi-event appends, one new stream each [150]")
    add("--batch-size", type=int, help="events per multi-event append [100]")
    add("--contended-appends", type=int, help="appends to one stream by all writers [2000]")
    add("--warmup-appends", type=int, help="untimed appends per writer and round [30]")
    add("--read-events", type=int, help="events in the stream read once per round [100000]")
    add("--memory-events", type=int, help="events read for the peak-RSS check [1000000]")
    add(
        "--memory-baselines",
        action="store_true",
        default=None,
        help="measure peak RSS of the psycopg and eventsourcing readers too (loads "
        "--memory-events more events into each; about 2 minutes at the default)",
    )
    args = parser.parse_args(argv)

    values = {"database_url": os.environ.get(URL_VARIABLE) or DEFAULT_DATABASE_URL}
    if args.quick:
        values.update(QUICK, quick=True)
    for f in fields(BenchOptions):
        given = getattr(args, f.name, None)
        if given is not None and f.name != "quick":
            values[f.name] = given
    options = BenchOptions(**values)
    for name in (
        "writers",
        "rounds",
        "single_appends",
        "parallel_appends",
        "batch_appends",
        "batch_size",
        "contended_appends",
        "read_events",
        "memory_events",
    ):
        if getattr(options, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if options.warmup_appends < 0:
        parser.error("--warmup-appends must not be negative")
    if options.batch_size > 1000:
        parser.error("--batch-size must be at most 1000 (FLIPBOOK_MAX_EVENTS_PER_COMMIT)")
    return options
