"""Benchmark of snapshots (``python -m bench.snapshots``): the time to the state of the latest
version of a 100,000-event stream without snapshots and with a snapshot policy of one
snapshot every 1,000 events, in the same run, on PostgreSQL (a database of its own, dropped
and recreated) or SQLite (``--sqlite``); prints both and their ratio (target: >= 50x)."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: python bench/snapshots.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import os
import shutil
import statistics
import tempfile
import time
from urllib.parse import urlsplit

from bench.database import ServerUrl, recreate_database

URL_VARIABLE = "FLIPBOOK_BENCH_SNAPSHOTS_DATABASE_URL"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench_snapshots"
TARGET_RATIO = 50.0
PLAIN, SNAP = "bench/plain-wallet", "bench/snapshotted-wallet"


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.snapshots",
        description=(
            "Time the state of the latest version of a long stream with and without a snapshot "
            f"policy. PostgreSQL: the database named by ${URL_VARIABLE} (default "
            f"{DEFAULT_URL}) is dropped and recreated; its name must contain 'bench'."
        ),
    )
    add = parser.add_argument
    add("--events", type=int, default=100_000, help="events per stream [100000]")
    add("--every", type=int, default=1_000, help="snapshot policy: every N events [1000]")
    add("--batch", type=int, default=100, help="events per append [100]")
    add("--repeats", type=int, default=5, help="timed state reads per case; median [5]")
    add("--sqlite", action="store_true", help="run on a temporary SQLite file instead")
    add("--quick", action="store_true", help="smoke run: 5,000 events, a snapshot every 100")
    options = parser.parse_args(argv)
    if options.quick:
        options.events, options.every, options.batch, options.repeats = 5_000, 100, 50, 3
    return options


def prepare_database(
    options: argparse.Namespace,
    url_variable: str = URL_VARIABLE,
    default_url: str = DEFAULT_URL,
    label: str = "snapshots",
) -> str:
    """Create an empty database (a temporary SQLite file with --sqlite, else the PostgreSQL
    database named by ``url_variable``, dropped first) and return its FLIPBOOK_DATABASE_URL."""
    if options.sqlite:
        directory = tempfile.mkdtemp(prefix=f"flipbook-bench-{label}-")
        return f"sqlite:///{directory}/bench.sqlite3"  # absolute: sqlite:////tmp/...
    url = os.environ.get(url_variable, default_url)
    recreate_database(ServerUrl(url))
    return url


def configure_django(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "flipbook_site.settings"
    os.environ["FLIPBOOK_DATABASE_URL"] = database_url
    os.environ["FLIPBOOK_EVENT_STORE"] = "db"
    os.environ["FLIPBOOK_SNAPSHOT_STORE"] = "db"
    os.environ["FLIPBOOK_DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ.setdefault("FLIPBOOK_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def load(stream_id: str, category: str, options: argparse.Namespace) -> float:
    """Append ``options.events`` wallet events in batches; return the seconds it took."""
    from streams import services

    started = time.perf_counter()
    services.append_to_stream(
        stream_id,
        [{"name": "Opened", "payload": {"owner": "bench", "currency": "EUR"}}],
        expected_version=0,
        category=category,
    )
    version = 1
    while version < options.events:
        count = min(options.batch, options.events - version)
        events = [
            {
                "name": "Deposited" if (version + i) % 3 else "Withdrawn",
                "payload": {"amount": (version + i) % 97 + 1},
            }
            for i in range(1, count + 1)
        ]
        services.append_to_stream(stream_id, events, expected_version=version)
        version += count
        if version % 20_000 < options.batch:
            progress(f"{stream_id}: {version:,} events")
    return time.perf_counter() - started


def time_state(stream_id: str, repeats: int, version: int | None = None):
    """The median seconds of ``repeats`` state reads, and the last State."""
    from snapshots.state import state_at_version

    seconds = []
    state = None
    for _ in range(repeats):
        started = time.perf_counter()
        state = state_at_version(stream_id, version)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), state


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    database_url = prepare_database(options)
    try:
        configure_django(database_url)
        return run(options)
    finally:
        if options.sqlite:  # the temporary directory prepare_database made
            shutil.rmtree(Path(urlsplit(database_url).path[1:]).parent, ignore_errors=True)


def run(options: argparse.Namespace) -> int:
    from django.db import connection

    from snapshots import policy
    from snapshots import services as snapshots
    from snapshots.demo_reducers import WALLET_RULES
    from snapshots.models import Category

    vendor = connection.vendor
    server = ""
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = f" {cursor.fetchone()[0]}"
    Category.objects.create(name="bench-plain", reducer="declarative", rules=WALLET_RULES)
    Category.objects.create(
        name="bench-snap", reducer="declarative", rules=WALLET_RULES, snapshot_every=options.every
    )
    progress(f"loading {options.events:,} events into each of two streams ({vendor})")
    plain_load = load(PLAIN, "bench-plain", options)
    snap_load = load(SNAP, "bench-snap", options)
    progress("waiting for the snapshot policy to catch up")
    policy.wait_idle(timeout=600)
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) flipbook_event")
            cursor.execute("VACUUM (ANALYZE) flipbook_snapshot")
    taken = snapshots.list_snapshots(SNAP)

    # One untimed read each first, so neither case pays for cold caches or connections.
    time_state(PLAIN, 1)
    time_state(SNAP, 1)
    plain_s, plain = time_state(PLAIN, options.repeats)
    snap_s, snap = time_state(SNAP, options.repeats)
    # The worst case of the policy: the version just below the next snapshot.
    worst_version = (snap.snapshot.version if snap.snapshot else options.events) - 1
    worst_s, worst = time_state(SNAP, options.repeats, worst_version)
    assert plain.payload == snap.payload, "both streams must reduce to the same state"

    ratio = plain_s / snap_s
    worst_ratio = plain_s / worst_s
    lines = [
        f"Flipbook snapshots benchmark on {vendor}{server}: state of the latest version of a "
        f"{options.events:,}-event stream (declarative wallet reducer), median of "
        f"{options.repeats}",
        f"  load (per stream, {options.batch}-event appends): without policy "
        f"{options.events / plain_load:,.0f} events/s, with policy "
        f"{options.events / snap_load:,.0f} events/s (snapshots are made off the request path)",
        f"  snapshots stored by the policy (every {options.every:,}): {len(taken)}",
        "",
        f"  {'case':<44}{'seconds':>10}{'events read':>13}{'speed-up':>10}",
        f"  {'no snapshots (fold from version 1)':<44}{plain_s:>10.4f}"
        f"{plain.events_read:>13,}{'1.0x':>10}",
        f"  {'policy every ' + format(options.every, ',') + ', latest version':<44}"
        f"{snap_s:>10.4f}{snap.events_read:>13,}{ratio:>9.1f}x",
        f"  {'policy, worst case (v' + format(worst_version, ',') + ')':<44}"
        f"{worst_s:>10.4f}{worst.events_read:>13,}{worst_ratio:>9.1f}x",
        "",
        f"  ratio (no snapshots / with snapshots, latest version): {ratio:,.1f}x "
        f"(target >= {TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'}); "
        f"worst case {worst_ratio:,.1f}x",
        f"  state: balance {snap.payload.get('balance')} at version {snap.version}",
    ]
    print("\n".join(lines))
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
