"""Benchmark of the replay viewer's data endpoint (``python -m bench.console_replay``): the time
of ``/data/replay`` around versions 1, 50,000 and 100,000 of a 100,000-event stream with a
snapshot policy, beside the baseline of reading the same window of events raw
(``read_stream`` with a version range) in the same run; prints ms and ratios."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: python bench/console_replay.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import shutil
import statistics
import time
from urllib.parse import urlsplit

from bench.snapshots import configure_django, load, prepare_database, progress

URL_VARIABLE = "FLIPBOOK_BENCH_REPLAY_DATABASE_URL"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench_replay"
STREAM = "bench/replayed-wallet"


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.console_replay",
        description=(
            "Time the replay viewer's data endpoint against a raw read of the same window. "
            f"PostgreSQL: the database named by ${URL_VARIABLE} (default {DEFAULT_URL}) is "
            "dropped and recreated; its name must contain 'bench'."
        ),
    )
    add = parser.add_argument
    add("--events", type=int, default=100_000, help="events in the stream [100000]")
    add("--every", type=int, default=1_000, help="snapshot policy: every N events [1000]")
    add("--window", type=int, default=20, help="versions each side of the cursor [20]")
    add("--batch", type=int, default=100, help="events per append while loading [100]")
    add("--repeats", type=int, default=15, help="timed requests per case; median [15]")
    add("--sqlite", action="store_true", help="run on a temporary SQLite file instead")
    add("--quick", action="store_true", help="smoke run: 3,000 events, a snapshot every 100")
    options = parser.parse_args(argv)
    if options.quick:
        options.events, options.every, options.batch, options.repeats = 3_000, 100, 100, 2
    return options


def median_ms(action, repeats: int) -> tuple[float, object]:
    """The median milliseconds of ``repeats`` calls (after one untimed call), and the last
    result."""
    result = action()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, result


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    database_url = prepare_database(options, URL_VARIABLE, DEFAULT_URL, label="replay")
    try:
        configure_django(database_url)
        return run(options)
    finally:
        if options.sqlite:
            shutil.rmtree(Path(urlsplit(database_url).path[1:]).parent, ignore_errors=True)


def run(options: argparse.Namespace) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from snapshots import policy
    from snapshots import services as snapshots
    from snapshots.demo_reducers import WALLET_RULES
    from snapshots.models import Category
    from snapshots.state import state_at_version
    from streams import services

    vendor = connection.vendor
    Category.objects.create(
        name="bench-replay", reducer="declarative", rules=WALLET_RULES, snapshot_every=options.every
    )
    progress(f"loading {options.events:,} events ({vendor}), a snapshot every {options.every:,}")
    load(STREAM, "bench-replay", options)
    policy.wait_idle(timeout=600)
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) flipbook_event")
            cursor.execute("VACUUM (ANALYZE) flipbook_snapshot")
    taken = len(snapshots.list_snapshots(STREAM))

    user = get_user_model().objects.create_user("bench-replay", password="bench-replay-pw")
    client = Client(HTTP_HOST="localhost")  # one of the default ALLOWED_HOSTS
    client.force_login(user)
    k = options.window
    cases = [1, options.events // 2, options.events]
    rows = []
    for version in cases:
        low, high = max(1, version - k), min(options.events, version + k)

        def endpoint(version=version, overview=1):
            response = client.get(
                "/data/replay",
                {"stream": STREAM, "version": version, "window": k, "overview": overview},
            )
            assert response.status_code == 200, response.content[:300]
            return response.json()

        def raw(low=low, high=high):
            return services.read_stream(
                STREAM, from_version=low, to_version=high, limit=high - low + 1
            ).items

        def fold(low=low):  # the state the window starts from, alone
            return state_at_version(STREAM, low - 1) if low > 1 else None

        raw_ms, events = median_ms(raw, options.repeats)
        fold_ms, _ = median_ms(fold, options.repeats)
        replay_ms, body = median_ms(endpoint, options.repeats)
        step_ms, _ = median_ms(lambda: endpoint(overview=0), options.repeats)
        assert len(events) == len(body["steps"]) == high - low + 1
        rows.append((version, low, high, replay_ms, step_ms, raw_ms, fold_ms, body["folded"]))

    lines = [
        f"Flipbook replay viewer benchmark on {vendor}: /data/replay (window ±{k}) on a "
        f"{options.events:,}-event stream with a snapshot every {options.every:,} "
        f"({taken} snapshots), median of {options.repeats}; baseline: read_stream of the "
        "same versions",
        "",
        "  first load: with the snapshot markers and time span (overview=1); step: a window "
        "fetched while stepping (overview=0); raw: read_stream of the window's events; fold: "
        "state_at_version of the version before the window (from its snapshot), alone",
        "",
        f"  {'cursor':>10}{'versions':>16}{'first ms':>10}{'step ms':>9}{'raw ms':>8}"
        f"{'fold ms':>9}{'first/raw':>11}{'step/raw':>10}{'step/(raw+fold)':>17}"
        f"{'from snapshot':>15}{'events read':>13}",
    ]
    for version, low, high, replay_ms, step_ms, raw_ms, fold_ms, folded in rows:
        start = folded["snapshot_version"]
        lines.append(
            f"  {version:>10,}{f'{low:,}..{high:,}':>16}{replay_ms:>10.2f}{step_ms:>9.2f}"
            f"{raw_ms:>8.2f}{fold_ms:>9.2f}{replay_ms / raw_ms:>10.1f}x{step_ms / raw_ms:>9.1f}x"
            f"{step_ms / (raw_ms + fold_ms):>16.1f}x"
            f"{'-' if start is None else f'{start:,}':>15}{folded['events_read']:>13,}"
        )
    worst = max(r[3] / r[5] for r in rows)
    worst_step = max(r[4] / r[5] for r in rows)
    lines += [
        "",
        f"  worst ratio (replay / raw window read): first load {worst:.1f}x, step "
        f"{worst_step:.1f}x; the replay also folds from the snapshot (up to "
        f"{options.every - 1:,} events), diffs each step and answers through the session "
        "middleware",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
