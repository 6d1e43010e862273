"""Run the benchmark (``python -m bench.run``, ``make bench``): Flipbook's event store on
PostgreSQL beside a plain psycopg baseline and the eventsourcing library's recorder, on a
freshly created database, all in one run; prints events/s, ratios and targets."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: python bench/run.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import json
import os
import platform
import subprocess
import time
from importlib.metadata import version

from bench.database import (
    ServerUrl,
    checkpoint,
    configure_django,
    migrate_flipbook,
    other_activity,
    recreate_database,
    server_settings,
    vacuum_analyze,
)
from bench.harness import Measurement, progress
from bench.options import URL_VARIABLE, BenchOptions, parse_options
from bench.report import MemoryResult, render
from bench.systems import SYSTEM_NAMES, open_system
from bench.systems.base import BenchSystem
from bench.workloads import (
    MEMORY_STREAM,
    READ_STREAM,
    WORKLOADS,
    load_stream,
    run_workload,
    workload_label,
)

ROOT = Path(__file__).resolve().parent.parent


def measure_memory(
    systems: list[BenchSystem], options: BenchOptions, url: ServerUrl
) -> dict[str, MemoryResult]:
    """Load the big stream into each system, then read it in a child process per system."""
    chosen = [s for s in systems if options.memory_baselines or s.name == "flipbook"]
    for system in chosen:
        load_stream(system, MEMORY_STREAM, options.memory_events)
    progress("memory: VACUUM (ANALYZE) after loading")
    vacuum_analyze(url, [t for s in chosen for t in s.tables])
    env = {
        **os.environ,
        URL_VARIABLE: url.url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    results = {}
    for system in chosen:
        checkpoint(url)
        progress(f"memory: {system.name} reads {options.memory_events:,} events in a child process")
        child = subprocess.run(
            [sys.executable, "-m", "bench.memory", "--system", system.name,
             "--events", str(options.memory_events)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if child.returncode != 0:
            raise RuntimeError(f"bench.memory --system {system.name} failed:\n{child.stderr}")
        result = MemoryResult(**json.loads(child.stdout.strip().splitlines()[-1]))
        results[system.name] = result
        progress(f"  peak RSS {result.peak_rss_mb:.1f} MB ({result.events:,} events)")
    return results


def report_header(
    options: BenchOptions, url: ServerUrl, server: dict[str, str], noise: list[int]
) -> list[str]:
    from bench.systems.eventsourcing_recorder import EventsourcingSystem
    from bench.systems.flipbook import FlipbookSystem
    from bench.systems.psycopg_table import PsycopgSystem

    o = options
    lines = [
        f"Flipbook event store benchmark: PostgreSQL {server['server_version']} "
        f"at {url.host}:{url.port}/{url.dbname}; code at {code_version()}",
        "server (unchanged, the same for every system): "
        + ", ".join(f"{k}={v}" for k, v in server.items() if k != "server_version"),
        f"client: Python {platform.python_version()}, Django {version('django')}, "
        f"psycopg {version('psycopg')}, eventsourcing {version('eventsourcing')}; "
        f"{os.cpu_count()} CPUs; writers are threads of this process",
        f"counts over {o.rounds} rounds (systems take turns each round): "
        f"{o.single_appends:,} appends (1 writer), {o.parallel_appends:,} ({o.writers} "
        f"writers), {o.batch_appends:,} x {o.batch_size} events, {o.contended_appends:,} "
        f"contended, {o.read_events:,}-event stream read once per round, "
        f"{o.memory_events:,} for memory; warm-up {o.warmup_appends} appends per writer "
        "and round on a fresh connection",
        f"other work on the server: up to {max(noise, default=0)} active sessions of other "
        f"databases (sampled {len(noise)} times); load average {os.getloadavg()[0]:.2f} "
        "at the end",
        "systems:",
    ]
    for cls in (FlipbookSystem, PsycopgSystem, EventsourcingSystem):
        lines.append(f"  {cls.name:<14} {cls.description}")
    if o.quick:
        lines.append("QUICK RUN: tiny counts, the figures mean nothing")
    return lines


def code_version() -> str:
    """The git commit of the code measured, "+dirty" when it has uncommitted changes."""
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty=+dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_workloads(
    systems: list[BenchSystem], options: BenchOptions, url: ServerUrl, noise: list[int]
) -> dict[str, dict[str, Measurement]]:
    """Run every workload: set it up on each system, then ``rounds`` rounds in which the
    systems take turns (in a rotating order), summing each system's rounds."""
    results: dict[str, dict[str, Measurement]] = {}
    for workload in WORKLOADS:
        label = workload_label(workload, options)
        checkpoint(url)
        progress(f"{label}: setting up")
        results[workload.key] = run_workload(
            workload,
            systems,
            options,
            before_round=lambda: noise.append(other_activity(url)),
            width=13,
        )
    return results


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    url = ServerUrl(options.database_url)
    started = time.perf_counter()
    progress(f"recreating database {url.dbname!r} and migrating Flipbook")
    recreate_database(url)
    configure_django(url)
    migrate_flipbook()
    server = server_settings(url)

    noise: list[int] = []
    systems = [open_system(name, url, writers=options.writers) for name in SYSTEM_NAMES]
    try:
        for system in systems:
            system.create_tables()
        for system in systems:
            load_stream(system, READ_STREAM, options.read_events)
        vacuum_analyze(url, [t for s in systems for t in s.tables])
        results = run_workloads(systems, options, url, noise)
        memory = measure_memory(systems, options, url)
    finally:
        for system in systems:
            system.close()

    print(render(options, report_header(options, url, server, noise), results, memory))
    print(f"Total run time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
