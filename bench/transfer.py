"""Benchmark of export and import (``python -m bench.transfer``): a store of 100,000 events on
1,000 streams is read whole through the all-feed (read_all, 1,000-event pages), exported as
JSON Lines to a file, and imported into an empty store; prints each as events/s and as a
ratio to read_all in the same run, and checks both exports' checksums are equal.

The source is PostgreSQL (a database of its own, dropped and recreated; ``--sqlite``: a
temporary SQLite file); the import target is a second empty database of the same kind, or
any store URL of ``flipbook migrate`` (``--to redis://127.0.0.1:6379/0?prefix=bench``);
``--also-to URL`` (repeatable) imports the same export into more empty stores, a line each
(``--also-to 'dynamodb://127.0.0.1:8001?prefix=bench_transfer_'``: DynamoDB Local)."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: python bench/transfer.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import os
import random
import shutil
import tempfile
import time
import uuid

from bench.database import ServerUrl, recreate_database

URL_VARIABLE = "FLIPBOOK_BENCH_TRANSFER_DATABASE_URL"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench_transfer"


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.transfer",
        description=(
            "Time read_all, export and import of a store, in one run. PostgreSQL: the "
            f"database named by ${URL_VARIABLE} (default {DEFAULT_URL}) and the same name "
            "with _target are dropped and recreated; the name must contain 'bench'."
        ),
    )
    add = parser.add_argument
    add("--events", type=int, default=100_000, help="events in the store [100000]")
    add("--streams", type=int, default=1_000, help="streams they are spread over [1000]")
    add("--sqlite", action="store_true", help="temporary SQLite files instead of PostgreSQL")
    add("--to", default=None, help="import into this store URL instead (must be empty)")
    add(
        "--also-to",
        action="append",
        default=[],
        help="import into this store URL too, a line of its own (repeatable; must be empty)",
    )
    add("--quick", action="store_true", help="smoke run: 3,000 events on 60 streams")
    options = parser.parse_args(argv)
    if options.quick:
        options.events, options.streams = 3_000, 60
    return options


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def prepare(options: argparse.Namespace) -> tuple[str, str, str | None]:
    """The source and target database URLs (made empty), and a temporary directory."""
    if options.sqlite:
        directory = tempfile.mkdtemp(prefix="flipbook-bench-transfer-")
        return (
            f"sqlite:///{directory}/source.sqlite3",
            f"sqlite:///{directory}/target.sqlite3",
            directory,
        )
    url = os.environ.get(URL_VARIABLE, DEFAULT_URL)
    source = ServerUrl(url)
    target = source.with_dbname(source.dbname + "_target")
    recreate_database(source)
    if options.to is None:
        recreate_database(target)
    return source.url, target.url, None


def configure_django(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "flipbook_site.settings"
    os.environ["FLIPBOOK_DATABASE_URL"] = database_url
    os.environ["FLIPBOOK_EVENT_STORE"] = "db"
    os.environ["FLIPBOOK_DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ.setdefault("FLIPBOOK_LOG_LEVEL", "WARNING")
    os.environ.setdefault("FLIPBOOK_VAR_DIR", tempfile.mkdtemp(prefix="flipbook-bench-var-"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def load(options: argparse.Namespace) -> None:
    """Commits of one stream and 1 to 20 events each, over ``options.streams`` streams."""
    from streams import services

    rng = random.Random(3)
    made = 0
    while made < options.events:
        n = min(rng.randint(1, 20), options.events - made)
        sid = f"bench/{rng.randrange(options.streams):05d}"
        services.append_to_stream(
            sid,
            [
                {
                    "name": "Deposited",
                    "payload": {"amount": rng.randint(1, 999), "note": "bench"},
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                }
                for _ in range(n)
            ],
            category="bench",
        )
        made += n
        if made % 20_000 < n:
            progress(f"loaded {made:,} events")


def time_read_all() -> tuple[float, int]:
    from streams import services

    started = time.perf_counter()
    count = sum(1 for _ in services.iter_all(batch=1000))
    return time.perf_counter() - started, count


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    source_url, target_url, directory = prepare(options)
    try:
        configure_django(source_url)
        return run(options, options.to or target_url)
    finally:
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


def run(options: argparse.Namespace, target_url: str) -> int:
    from django.db import connection

    from flipbook_site.storeurl import open_store
    from streams.transfer import export_checksum, export_store, import_store

    vendor = connection.vendor
    progress(f"loading {options.events:,} events on {options.streams:,} streams ({vendor})")
    load(options)
    time_read_all()  # warm: caches and connections are not what is compared
    read_s, read_n = time_read_all()
    work = tempfile.mkdtemp(prefix="flipbook-bench-export-")
    path = Path(work) / "export.jsonl"
    try:
        started = time.perf_counter()
        with path.open("w", encoding="utf-8") as out:
            for line in export_store():
                out.write(line)
        export_s = time.perf_counter() - started
        imports = []
        for url in [target_url, *options.also_to]:
            target = open_store(url)
            target.prepare()
            try:
                progress(f"importing into {target.describe()}")
                started = time.perf_counter()
                with path.open(encoding="utf-8") as lines:
                    report = import_store(lines, store=target.store, batch=1000)
                import_s = time.perf_counter() - started
                copied = export_checksum(store=target.store)
            finally:
                target.close()
            imports.append((target.kind, report, import_s, copied))
        size = path.stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    read_rate = read_n / read_s
    rows = [
        ("read_all (1,000-event pages)", read_rate),
        ("export (JSON Lines to a file)", read_n / export_s),
    ]
    rows += [
        (f"import (into {kind}, 1,000-event batches)", report.events / import_s)
        for kind, report, import_s, _copied in imports
    ]
    print(
        f"Flipbook export/import benchmark on {vendor}: {read_n:,} events on "
        f"{options.streams:,} streams, export file {size / 1e6:,.1f} MB"
    )
    print(f"  {'operation':<48}{'events/s':>12}{'vs read_all':>13}")
    for label, rate in rows:
        print(f"  {label:<48}{rate:>12,.0f}{rate / read_rate:>12.2f}x")
    failed = False
    for kind, report, _import_s, copied in imports:
        same = copied["checksum"] == report.checksum
        exact = copied["exact_checksum"] == report.exact_checksum
        print(
            f"  {kind}: checksums equal: {'yes' if same else 'NO'}; positions and recorded "
            f"times kept: {'yes' if exact else 'no'}"
        )
        failed = failed or not same or report.events != read_n
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
