"""Peak memory of reading one whole stream, measured alone in a process of its own.

Run by bench/run.py as ``python -m bench.memory --system NAME --events N``; prints one JSON
line: events read, seconds, RSS before the read and the process's peak RSS (MB)."""

from __future__ import annotations

import argparse
import json
import os
import time

from bench.database import ServerUrl, configure_django
from bench.options import DEFAULT_DATABASE_URL, URL_VARIABLE
from bench.systems import SYSTEM_NAMES, open_system
from bench.workloads import MEMORY_STREAM


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def current_rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    # VmHWM belongs to this process's own address space. getrusage's ru_maxrss would not
    # do: Linux carries the parent's high-water mark over fork and exec into the child.
    return _status_mb("VmHWM")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--system", choices=SYSTEM_NAMES, required=True)
    parser.add_argument("--events", type=int, required=True, help="events the stream holds")
    args = parser.parse_args(argv)
    url = ServerUrl(os.environ.get(URL_VARIABLE) or DEFAULT_DATABASE_URL)
    if args.system == "flipbook":
        configure_django(url)
    system = open_system(args.system, url, writers=1)
    key = system.stream_key(MEMORY_STREAM)
    before = current_rss_mb()
    reader = system.open_writer()
    try:
        start = time.perf_counter()
        count = reader.read_stream_bounded(key)
        seconds = time.perf_counter() - start
    finally:
        reader.close()
        system.close()
    if count != args.events:
        raise SystemExit(f"{args.system}: read {count} events, expected {args.events}")
    result = {
        "events": count,
        "seconds": seconds,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
