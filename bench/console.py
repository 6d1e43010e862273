"""Benchmark of the stream explorer (``python -m bench.console``): its data requests on a
PostgreSQL store of a million streams, timed through the view, beside the bare SQL of an
index scan returning 50 rows in the same run; prints p50/p99 ms, ratios and the 200 ms target."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: python bench/console.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import base64
import json
import os
import time

from bench.database import ServerUrl, connect, recreate_database

URL_VARIABLE = "FLIPBOOK_BENCH_CONSOLE_DATABASE_URL"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench_console"
TARGET_MS = 200.0
PAGE = 50
CATEGORIES = ("wallet", "order", "payment", "document", "audit", "user", "cart", "invoice")


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.console",
        description=(
            "Time the explorer's data requests on a store of many streams. The database named "
            f"by ${URL_VARIABLE} (default {DEFAULT_URL}) is dropped and recreated; its name "
            "must contain 'bench'."
        ),
    )
    add = parser.add_argument
    add("--streams", type=int, help="streams in the store [1000000; 2000 with --pages]")
    add("--repeats", type=int, help="timed requests per case [100; 10 with --pages]")
    add("--quick", action="store_true", help="smoke run: 5,000 streams, 10 repeats")
    add(
        "--pages",
        action="store_true",
        help="time every console page and its data instead (2,000 streams and one stream of "
        "20,000 events unless --streams / --big-events say otherwise; target 700 ms)",
    )
    add("--big-events", type=int, default=20_000, help="events of the big stream [20000]")
    options = parser.parse_args(argv)
    if options.streams is None:
        options.streams = 2_000 if options.pages else 1_000_000
    if options.repeats is None:
        options.repeats = 10 if options.pages else 100
    if options.quick:
        options.streams, options.repeats = 5_000, 10
    return options


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def fill(url: ServerUrl, streams: int) -> int:
    """Fill the store set-based: ``streams`` heads in 8 categories with ids
    ``<category>/<md5>``, each with 1–3 events; the later versions are appended in an order
    unrelated to the ids, so last-update order differs from id order. Returns the events."""
    categories = "ARRAY[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    with connect(url) as conn:
        conn.execute(
            "INSERT INTO flipbook_stream (id, stream_id, kind, category, version, event_count, "
            "created_at, updated_at, metadata) "
            f"SELECT g, ({categories})[1 + g %% 8] || '/' || md5(g::text), 'versioned', "
            f"({categories})[1 + g %% 8], 1 + g %% 3, 1 + g %% 3, "
            "now() - interval '2 days', now() - interval '1 day', '{}'::jsonb "
            "FROM generate_series(1, %s) g",
            [streams],
        )
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('flipbook_stream', 'id'), %s)", [streams]
        )
        for version in (1, 2, 3):
            progress(f"events of version {version}")
            # Version 1 in id order; later versions in an order of their own (by a hash).
            order = "g" if version == 1 else f"md5(g::text || '#{version}')"
            conn.execute(
                "INSERT INTO flipbook_event (stream_pk, version, timestamp, name, payload, "
                "metadata, event_id, recorded_at) "
                f"SELECT g, {version}, NULL, 'Changed', jsonb_build_object('n', g), '{{}}'::jsonb, "
                f"md5(g::text || '/{version}')::uuid, now() - interval '1 day' "
                f"FROM generate_series(1, %s) g WHERE 1 + g %% 3 >= {version} ORDER BY {order}",
                [streams],
            )
        events = conn.execute("SELECT count(*) FROM flipbook_event").fetchone()[0]
        for table in ("flipbook_stream", "flipbook_event"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return events


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(call, repeats: int) -> tuple[float, float]:
    """p50 and p99 in ms of ``repeats`` calls, after two untimed ones (caches, plans)."""
    call()
    call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 0.5), percentile(samples, 0.99)


def id_cursor(stream_id: str) -> str:
    # The explorer's cursor for "after this id" (services.list_streams issues the same).
    raw = json.dumps({"o": "s", "k": stream_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    url = ServerUrl(os.environ.get(URL_VARIABLE, DEFAULT_URL))
    recreate_database(url)
    os.environ["DJANGO_SETTINGS_MODULE"] = "flipbook_site.settings"
    os.environ["FLIPBOOK_DATABASE_URL"] = url.url
    os.environ["FLIPBOOK_EVENT_STORE"] = "db"
    os.environ["FLIPBOOK_DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ.setdefault("FLIPBOOK_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    progress(f"filling {options.streams:,} streams")
    started = time.perf_counter()
    events = fill(url, options.streams)
    fill_s = time.perf_counter() - started
    if options.pages:
        return run_pages(url, options, events, fill_s)
    return run(url, options, events, fill_s)


def run(url: ServerUrl, options: argparse.Namespace, events: int, fill_s: float) -> int:
    from django.contrib.auth import get_user_model
    from django.test import Client

    # Staff: the audit page below needs a role that may read it.
    user = get_user_model().objects.create_user("bench", password="bench-password", is_staff=True)
    client = Client(HTTP_HOST="localhost")  # one of the default ALLOWED_HOSTS
    client.force_login(user)

    def request(params: dict):
        def call():
            response = client.get("/data/streams", params)
            assert response.status_code == 200, response.content[:300]
            return response.json()

        return call

    with connect(url) as conn:
        middle = conn.execute(
            "SELECT stream_id FROM flipbook_stream ORDER BY stream_id OFFSET %s LIMIT 1",
            [options.streams // 2],
        ).fetchone()[0]
        prefix = middle.split("/")[0] + "/" + middle.split("/")[1][:2]

        # The baseline: the bare SQL of an index scan returning 50 rows, over one connection.
        def baseline():
            conn.execute(
                "SELECT stream_id, kind, category, version, event_count, updated_at "
                "FROM flipbook_stream WHERE stream_id > %s ORDER BY stream_id LIMIT 50",
                [middle],
            ).fetchall()

        base_p50, base_p99 = timed(baseline, options.repeats)

    # A deep page in last-update order: follow the cursor 20 pages down, then time that page.
    cursor = None
    for _ in range(20):
        page = request({"sort": "updated", "limit": PAGE, **({"cursor": cursor} if cursor else {})})
        cursor = page()["next_cursor"]
    cases = [
        ("first page (by id)", {}),
        (f"prefix {prefix!r}", {"prefix": prefix}),
        ("category 'order'", {"category": "order"}),
        ("deep page by id (cursor at the middle)", {"cursor": id_cursor(middle)}),
        ("sort by last update, first page", {"sort": "updated"}),
        ("sort by last update, page 21 (cursor)", {"sort": "updated", "cursor": cursor}),
        ("last update + category 'order'", {"sort": "updated", "category": "order"}),
        (f"last update + prefix {prefix!r}", {"sort": "updated", "prefix": prefix}),
    ]
    results = []
    for label, params in cases:
        progress(label)
        body = request({**params, "limit": PAGE})()
        assert body["streams"], f"{label}: no streams"
        p50, p99 = timed(request({**params, "limit": PAGE}), options.repeats)
        results.append((label, len(body["streams"]), p50, p99))

    progress("dashboard data")

    def dashboard():
        response = client.get("/data/dashboard")
        assert response.status_code == 200, response.content[:300]
        return response.json()

    totals = dashboard()["totals"]
    dash_p50, dash_p99 = timed(dashboard, max(3, options.repeats // 10))

    ops = time_operations_pages(client, max(3, options.repeats // 10))

    lines = [
        f"Flipbook console benchmark: explorer data requests (/data/streams, {PAGE} per page) "
        f"through the view (Django test client, logged in) on PostgreSQL",
        f"  store: {options.streams:,} streams, {events:,} events (filled set-based in "
        f"{fill_s:.1f} s); {options.repeats} timed requests per case",
        f"  baseline: bare SQL index scan of 50 stream rows: p50 {base_p50:.2f} ms, "
        f"p99 {base_p99:.2f} ms",
        f"  target: every page under {TARGET_MS:.0f} ms (p99)",
        "",
        f"  {'case':<44}{'rows':>6}{'p50 ms':>9}{'p99 ms':>9}{'p50/base':>10}  target",
    ]
    missed = 0
    for label, rows, p50, p99 in results:
        ok = p99 < TARGET_MS
        missed += not ok
        lines.append(
            f"  {label:<44}{rows:>6}{p50:>9.2f}{p99:>9.2f}{p50 / base_p50:>9.1f}x  "
            f"{'ok' if ok else 'MISSED'}"
        )
    kind = "estimated" if totals.get("approximate") else "exact"
    lines += [
        "",
        f"  dashboard data (totals, {kind}; events per minute over the last hour): "
        f"p50 {dash_p50:.2f} ms, p99 {dash_p99:.2f} ms (no target)",
    ]
    lines += ["", f"  operations pages (target: under {OPS_TARGET_MS:.0f} ms, p99):"]
    for label, p50, p99 in ops:
        ok = p99 < OPS_TARGET_MS
        missed += not ok
        lines.append(f"  {label:<53}{p50:>9.2f}{p99:>9.2f}  {'ok' if ok else 'MISSED'}")
    print("\n".join(lines))
    return 1 if missed else 0


PAGES_TARGET_MS = 700.0
BIG = "bench/big-ledger"


def run_pages(url: ServerUrl, options: argparse.Namespace, events: int, fill_s: float) -> int:
    """Every console page (its HTML) and the data requests its scripts make, on the filled
    store plus one stream of ``--big-events`` events appended through the store service
    (1,000 a commit) with a snapshot policy every 1,000 events; p50 and p99 against 700 ms."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from snapshots import policy
    from snapshots.demo_reducers import WALLET_RULES
    from snapshots.models import Category
    from streams import services

    Category.objects.create(
        name="bench-big", reducer="declarative", rules=WALLET_RULES, snapshot_every=1000
    )
    progress(f"appending {options.big_events:,} events to {BIG}")
    started = time.perf_counter()
    for start in range(0, options.big_events, 1000):
        services.append_to_stream(
            BIG,
            [
                {
                    "name": "Deposited" if i % 3 else "Withdrawn",
                    "payload": {"amount": 1 + i % 50},
                    "metadata": {"tenant": "acme" if i % 10 == 0 else "globex"},
                    "timestamp": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
                }
                for i in range(start, min(start + 1000, options.big_events))
            ],
            category="bench-big",
        )
    policy.wait_idle(timeout=600)
    big_s = time.perf_counter() - started
    with connect(url) as conn:
        conn.execute("VACUUM (ANALYZE) flipbook_event")
        conn.execute("VACUUM (ANALYZE) flipbook_stream")

    # An operator: may export, sees personal fields masked (the path most users take).
    user = get_user_model().objects.create_user("bench", password="bench-password")
    user.groups.add(Group.objects.get(name="operator"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    big = BIG.replace("/", "%2F")
    middle = options.big_events // 2
    cases = [
        ("dashboard", "/"),
        ("  data", "/data/dashboard"),
        ("explorer", "/streams/"),
        ("  data, first page", "/data/streams"),
        ("  data, last update", "/data/streams?sort=updated"),
        ("event search", "/feed/"),
        ("  data, first page", "/data/feed"),
        ("  data, first page and feed head", "/data/feed?head=1"),
        ("  data, category bench-big", "/data/feed?category=bench-big"),
        ("  data, metadata tenant=acme", "/data/feed?metadata=tenant%3Dacme"),
        ("  data, id prefix (scan)", "/data/feed?id=ffff"),
        ("timeline of the big stream", f"/timeline/?stream={big}"),
        ("  data, newest first", f"/data/events?stream={big}"),
        ("  data, from the middle version", f"/data/events?stream={big}&version={middle}"),
        ("  data, as known at (recorded)", f"/data/events?stream={big}&time=recorded"),
        ("replay of the big stream", f"/replay/?stream={big}"),
        ("  data, head with overview", f"/data/replay?stream={big}"),
        ("  data, middle window", f"/data/replay?stream={big}&version={middle}&overview=0"),
        ("  data, time stop (as of)", f"/data/replay?stream={big}&at_event={middle}"),
        (
            "  data, time stop (as known at)",
            f"/data/replay?stream={big}&at_event={middle}&basis=recorded",
        ),
        ("snapshots of the big stream", f"/snapshots/?stream={big}"),
        ("subscriptions", "/subscriptions/"),
    ]
    results = []
    for label, path in cases:
        progress(f"{label.strip()}: {path}")

        def call(path=path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.content[:300])

        p50, p99 = timed(call, options.repeats)
        results.append((label, path, p50, p99))

    # The replay viewer's extra request after a time stop: the state as of T by its
    # definition, a fold that may read the whole stream (this stream's natural times cycle
    # through the year, so no snapshot is usable for a time in its middle).
    middle_at = client.get(f"/data/replay?stream={big}&at_event={middle}").json()["at"]["at"]
    state_at_path = f"/data/replay/state-at?stream={big}&at={middle_at.replace('+', '%2B')}"
    progress(f"state as of T: {state_at_path}")

    def state_at() -> None:
        response = client.get(state_at_path)
        assert response.status_code == 200, response.content[:300]

    state_p50, state_p99 = timed(state_at, max(3, options.repeats // 2))

    progress("export of the big stream's category as CSV (once)")
    started = time.perf_counter()
    response = client.get("/feed/export?format=csv&category=bench-big")
    assert response.status_code == 200, response.status_code
    rows = sum(chunk.count(b"\n") for chunk in _sync_chunks(response)) - 1
    export_s = time.perf_counter() - started
    lines = [
        "Flipbook console benchmark: every page and its data requests through the views "
        "(Django test client, logged in) on PostgreSQL",
        f"  store: {options.streams:,} streams, {events:,} events (filled set-based in "
        f"{fill_s:.1f} s) + {BIG} with {options.big_events:,} events ({big_s:.1f} s through "
        f"the store service); {options.repeats} timed requests per case",
        f"  target: every page and data request under {PAGES_TARGET_MS:.0f} ms (p99)",
        "",
        f"  {'page / request':<40}{'p50 ms':>9}{'p99 ms':>9}  target",
    ]
    missed = 0
    for label, _path, p50, p99 in results:
        ok = p99 < PAGES_TARGET_MS
        missed += not ok
        lines.append(f"  {label:<40}{p50:>9.1f}{p99:>9.1f}  {'ok' if ok else 'MISSED'}")
    lines += [
        "",
        f"  replay's state as of T by definition (fetched after the stop; no target): "
        f"p50 {state_p50:.1f} ms, p99 {state_p99:.1f} ms",
        f"  export: {rows:,} rows of CSV streamed in {export_s:.2f} s (no target)",
    ]
    print("\n".join(lines))
    return 1 if missed else 0


def _sync_chunks(response):
    from asgiref.sync import async_to_sync

    async def read() -> list[bytes]:
        return [chunk async for chunk in response.streaming_content]

    return async_to_sync(read)()


OPS_TARGET_MS = 700.0
OPS_SUBSCRIPTIONS = 20
OPS_AUDIT_RECORDS = 1000


def time_operations_pages(client, repeats: int) -> list[tuple[str, float, float]]:
    """Time the health summary (its cache emptied before each request), the subscriptions
    page and the audit page, with OPS_SUBSCRIPTIONS subscriptions (a quarter from the
    beginning, so their lag is counted up to the cap) and OPS_AUDIT_RECORDS audit records."""
    from api.models import AuditRecord
    from console import health
    from subscriptions import services as subscriptions

    progress("operations pages")
    for i in range(OPS_SUBSCRIPTIONS):
        start = "beginning" if i % 4 == 0 else "end"
        subscriptions.create_subscription(f"bench.{i:02}", start=start)
    AuditRecord.objects.bulk_create(
        AuditRecord(actor="bench", interface="console", action="subscription.pause", target=f"b{i}")
        for i in range(OPS_AUDIT_RECORDS)
    )

    def get(path: str, fresh: bool = False):
        def call():
            if fresh:
                health.forget_cached_summary()
            response = client.get(path)
            assert response.status_code == 200, response.content[:300]

        return call

    cases = [
        (f"health summary ({OPS_SUBSCRIPTIONS} subscriptions, uncached)", "/data/health", True),
        ("subscriptions page", "/subscriptions/", False),
        ("audit page (first 50 records)", "/audit/", False),
    ]
    results = []
    for label, path, fresh in cases:
        get(path, fresh)()
        p50, p99 = timed(get(path, fresh), repeats)
        results.append((label, p50, p99))
    return results


if __name__ == "__main__":
    sys.exit(main())
