"""Benchmark of the Redis event store (``python -m bench.redis``): bench/workloads.py's append
and read workloads through the store service on RedisEventStore, beside a raw redis-py
baseline that does the same Redis work (the same commit script by EVALSHA, the same XRANGE
pages, JSON decoded) without Flipbook's layers, in one run; prints events/s and the ratios."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: python bench/redis.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bench.events import SampleEvent, sample_events
from bench.harness import Measurement, progress
from bench.options import BenchOptions
from bench.report import _table
from bench.systems.base import BenchSystem, BenchWriter
from bench.systems.flipbook import FlipbookWriter, _new_event
from bench.workloads import READ_STREAM, WORKLOADS, load_stream, run_workload, workload_label

URL_VARIABLE = "FLIPBOOK_BENCH_REDIS_URL"
DEFAULT_URL = "redis://127.0.0.1:6379/0"
SYSTEMS = ("flipbook", "redis-py")
COMMIT_SIZE = 1000  # events per commit when bulk-loading the read stream
READ_PAGE = 1000  # events per XRANGE page (Flipbook's iter_stream batch)

DEFAULTS = {
    "writers": 8,
    "rounds": 3,
    "single_appends": 6000,
    "parallel_appends": 12000,
    "batch_appends": 150,
    "batch_size": 100,
    "contended_appends": 1200,
    "warmup_appends": 30,
    "read_events": 100_000,
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
    """The workload counts (bench/options.py's BenchOptions) and this module's own flags;
    --quick presets tiny counts, flags win."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.redis",
        description=(
            "Flipbook's event store on Redis beside raw redis-py doing the same Redis work, on "
            f"the Redis at --url (default ${URL_VARIABLE} or {DEFAULT_URL}); the run's keys "
            "are deleted afterwards."
        ),
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="smoke run with tiny counts")
    add("--url", help="the Redis to use")
    for name, default in DEFAULTS.items():
        add(f"--{name.replace('_', '-')}", type=int, help=f"[{default}]")
    args = parser.parse_args(argv)
    values = {**DEFAULTS, **(QUICK if args.quick else {})}
    values.update({k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None})
    for name, value in values.items():
        if value < (0 if name == "warmup_appends" else 1):
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if values["batch_size"] > COMMIT_SIZE:
        parser.error(f"--batch-size must be at most {COMMIT_SIZE} (one commit)")
    args.url = args.url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    return BenchOptions(quick=args.quick, **values), args


# -- the systems ----------------------------------------------------------------------------------


class FlipbookRedisSystem(BenchSystem):
    """Flipbook's store service on RedisEventStore, made the process's store by
    :meth:`active` for the time of a round."""

    name = "flipbook"

    def __init__(self, url: str, key_prefix: str) -> None:
        self.config = {
            "BACKEND": "streams.backends.redis.RedisEventStore",
            "OPTIONS": {"url": url, "key_prefix": key_prefix, "persistence": "none"},
        }
        self.description = (
            "streams.services on RedisEventStore: append_to_stream (expected_version 0, or "
            "the known version when contended; on VersionConflict retry from the version it "
            f"names), iter_stream; keys {{{key_prefix}}}:*"
        )

    @contextmanager
    def active(self) -> Iterator[None]:
        from django.test import override_settings

        with override_settings(FLIPBOOK_EVENT_STORE=self.config):
            yield

    def open_writer(self) -> FlipbookWriter:
        return FlipbookWriter()

    def bulk_load(self, key: str, count: int, report) -> None:
        from streams import services

        events = [_new_event(e) for e in sample_events(min(count, COMMIT_SIZE))]
        done = 0
        with self.active():
            while done < count:
                n = min(COMMIT_SIZE, count - done)
                services.append_to_stream(key, events[:n], expected_version=done)
                done += n
                report(done)

    def delete_keys(self) -> None:
        from streams.backends.redis import RedisEventStore

        store = RedisEventStore(**self.config["OPTIONS"])
        store.delete_everything()
        store.close()


class RawRedisWriter(BenchWriter):
    """redis-py alone: the commit script Flipbook runs, called with arguments built here
    (a UUID, the JSON text, the natural time as text), and XRANGE pages decoded to JSON."""

    def __init__(self, system: RawRedisSystem) -> None:
        import redis

        from streams.backends.redis.scripts import COMMIT_SCRIPT

        self.base = system.base
        self.client = redis.Redis.from_url(system.url)
        self.commit = self.client.register_script(COMMIT_SCRIPT)
        self.global_keys = system.global_keys

    def _call(self, key: str, events: Sequence[SampleEvent], expected: int) -> list:
        keys = [*self.global_keys, f"{self.base}s:{key}", f"{self.base}h:{key}"]
        keys += [f"{self.base}t:{key}", f"{self.base}c:"]
        args: list[Any] = [1, str(expected), "", "", len(events), key]
        for e in events:
            args += [
                uuid.uuid4().bytes,
                e.name,
                json.dumps(e.payload, separators=(",", ":"), ensure_ascii=False),
                json.dumps(e.metadata, separators=(",", ":"), ensure_ascii=False),
                e.timestamp.replace(tzinfo=None).isoformat(timespec="microseconds"),
            ]
        return self.commit(keys=keys, args=args)

    def append_new(self, key: str, events: Sequence[SampleEvent]) -> None:
        reply = self._call(key, events, 0)
        if reply[0] != b"ok":
            raise AssertionError(f"redis-py: the append to new stream {key!r} got {reply!r}")

    def append_contended(self, key: str, event: SampleEvent, known_version: int) -> tuple[int, int]:
        refused = 0
        while True:
            reply = self._call(key, (event,), known_version)
            if reply[0] == b"ok":
                return int(reply[4]), refused
            refused += 1
            known_version = int(reply[4])  # the head's version, as the refusal names it

    def read_stream(self, key: str) -> int:
        stream = f"{self.base}s:{key}"
        count = 0
        start = "1-0"
        while True:
            entries = self.client.xrange(stream, start, "+", count=READ_PAGE)
            for _, fields in entries:
                json.loads(fields[b"p"])
                json.loads(fields[b"m"])
                count += 1
            if len(entries) < READ_PAGE:
                return count
            start = f"{int(entries[-1][0].split(b'-')[0]) + 1}-0"

    read_stream_bounded = read_stream

    def close(self) -> None:
        self.client.close()


class RawRedisSystem(BenchSystem):
    name = "redis-py"

    def __init__(self, url: str, key_prefix: str) -> None:
        from streams.backends.redis.items import GLOBAL_KEYS

        self.url = url
        self.base = "{" + key_prefix + "}:"
        self.global_keys = [self.base + name for name in GLOBAL_KEYS]
        self.description = (
            "redis-py alone: EVALSHA of the same commit script (expected version 0, or the "
            "known version when contended, retried from the version a refusal names), XRANGE "
            f"pages of {READ_PAGE} with payload and metadata JSON-decoded; keys {self.base}*"
        )

    @contextmanager
    def active(self) -> Iterator[None]:
        yield

    def open_writer(self) -> RawRedisWriter:
        return RawRedisWriter(self)

    def bulk_load(self, key: str, count: int, report) -> None:
        writer = self.open_writer()
        events = sample_events(min(count, COMMIT_SIZE))
        done = 0
        try:
            while done < count:
                n = min(COMMIT_SIZE, count - done)
                if writer._call(key, events[:n], done)[0] != b"ok":
                    raise AssertionError("redis-py: the bulk load was refused")
                done += n
                report(done)
        finally:
            writer.close()


# -- the run --------------------------------------------------------------------------------------


def configure_django(directory: Path) -> None:
    """Flipbook's settings on a throwaway SQLite file (the Redis store does not use it), no
    snapshot policy and the in-process bus: the event store alone is timed."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "flipbook_site.settings"
    os.environ["FLIPBOOK_DATABASE_URL"] = f"sqlite:///{directory / 'bench.sqlite3'}"
    os.environ["FLIPBOOK_EVENT_STORE"] = "db"
    os.environ["FLIPBOOK_SNAPSHOT_POLICY"] = "0"
    os.environ["FLIPBOOK_DEBUG"] = "0"
    os.environ.pop("FLIPBOOK_REDIS_URL", None)
    os.environ.setdefault("FLIPBOOK_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def describe_redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    try:
        server = client.info("server")
        persistence = client.info("persistence")
        fsync = client.config_get("appendfsync").get("appendfsync", "?")
    finally:
        client.close()
    aof = f"AOF on, appendfsync {fsync}" if persistence.get("aof_enabled") else "AOF off"
    return f"Redis {server.get('redis_version')} at {url} ({aof})"


def run_workloads(
    systems: list[BenchSystem], options: BenchOptions
) -> dict[str, dict[str, Measurement]]:
    """Each workload: set up on every system, then rounds in which the systems take turns (in
    a rotating order). Returns the summed measurements per workload and system."""
    results: dict[str, dict[str, Measurement]] = {}
    for workload in WORKLOADS:
        label = workload_label(workload, options)
        progress(f"{label}: setting up")
        results[workload.key] = run_workload(
            workload, systems, options, active=lambda system: system.active()
        )
    return results


def render(
    options: BenchOptions, header: Sequence[str], results: dict[str, dict[str, Measurement]]
) -> str:
    """The report: events/s of Flipbook on Redis and of raw redis-py, and their ratio."""
    out = [*header, "", "Throughput (events/s; higher is better)"]
    rows = []
    for w in WORKLOADS:
        flipbook, raw = (results.get(w.key, {}).get(name) for name in SYSTEMS)
        ratio = f"{flipbook.rate / raw.rate:.2f}" if flipbook and raw and raw.rate else "-"
        rows.append(
            [
                workload_label(w, options),
                f"{next((m.events for m in (flipbook, raw) if m), 0):,}",
                *(f"{m.rate:,.0f}" if m else "-" for m in (flipbook, raw)),
                ratio,
            ]
        )
    out += _table(["workload", "events", "flipbook", "redis-py", "fb/raw"], rows)
    out += [
        "",
        "fb/raw: Flipbook's events/s over raw redis-py's doing the same Redis work (1.00: "
        "Flipbook's validation, results and JSON cost nothing next to Redis's own).",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    options, args = parse_options(argv)
    started = time.perf_counter()
    directory = Path(tempfile.mkdtemp(prefix="flipbook-bench-redis-"))
    run_id = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
    flipbook = FlipbookRedisSystem(args.url, f"flipbook-bench:{run_id}:flipbook")
    raw = RawRedisSystem(args.url, f"flipbook-bench:{run_id}:raw")
    try:
        configure_django(directory)
        described = describe_redis(args.url)
        systems: list[BenchSystem] = [flipbook, raw]
        try:
            for system in systems:
                load_stream(system, READ_STREAM, options.read_events)
            results = run_workloads(systems, options)
        finally:
            flipbook.delete_keys()
            _delete_raw_keys(raw)
        o = options
        header = [
            f"Flipbook's Redis event store against raw redis-py: {described}",
            f"counts over {o.rounds} rounds (systems take turns each round): "
            f"{o.single_appends:,} appends (1 writer), {o.parallel_appends:,} ({o.writers} "
            f"writers), {o.batch_appends:,} x {o.batch_size} events, {o.contended_appends:,} "
            f"contended, a {o.read_events:,}-event stream read once per round; warm-up "
            f"{o.warmup_appends} appends per writer and round; no snapshot policy, "
            "in-process bus",
            "systems:",
            *(f"  {s.name:<9} {s.description}" for s in systems),
        ]
        if o.quick:
            header.append("QUICK RUN: tiny counts, the figures mean nothing")
        print(render(options, header, results))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"Total run time: {time.perf_counter() - started:.0f} s")
    return 0


def _delete_raw_keys(raw: RawRedisSystem) -> None:
    from streams.backends.redis import RedisEventStore

    store = RedisEventStore(url=raw.url, key_prefix=raw.base[1:-2])
    store.delete_everything()
    store.close()


if __name__ == "__main__":
    sys.exit(main())
