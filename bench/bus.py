"""`python -m bench.bus`: latency from an append to its delivery on WebSockets, with 50 sockets.

Half the sockets watch the appended stream, half the all-feed. Each append is one REST request;
its latency to a socket runs from just before the request is sent to the socket's receipt of
the event. Two layers, each against its own `manage.py serve` on a fresh PostgreSQL database:
- in-memory: sockets and appends on the same server process (the embedded default's layer);
- Redis: sockets on one server process, appends through a second one (channels_redis), so
  every delivery crosses processes.
The baseline, measured in the same run, is the append's own round trip (the REST response):
the ratio says how much later than its acknowledgement a commit reaches the browsers.
Target: p99 delivery under 100 ms on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from bench.api import free_port, prepare_server_database, progress, start_server
from bench.database import ServerUrl

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench_bus"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
TARGET_P99_MS = 100.0


@dataclass
class Run:
    layer: str
    sent_at: dict[int, float] = field(default_factory=dict)
    acked_ms: list[float] = field(default_factory=list)
    delivered_ms: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=lambda: {"stream": [], "feed": []})
    duplicates: int = 0
    missing: int = 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def append_paced(run: Run, port: int, key: str, stream_id: str, count: int, gap: float) -> None:
    """One REST append of one event every ``gap`` seconds; records send and ack times."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    path = f"/api/v1/streams/{quote(stream_id, safe='')}/events"
    next_at = time.perf_counter()
    for seq in range(count):
        body = json.dumps({"events": [{"name": "Ticked", "payload": {"seq": seq}}]})
        now = time.perf_counter()
        if now < next_at:
            time.sleep(next_at - now)
        next_at += gap
        start = time.perf_counter()
        run.sent_at[seq] = start
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"append answered {response.status}")
        run.acked_ms.append((time.perf_counter() - start) * 1000)
    conn.close()


async def watch(
    url: str, subscribe: dict, run: Run, count: int, ready: asyncio.Event, kind: str
) -> None:
    from websockets.asyncio.client import connect

    seen: set[int] = set()
    async with connect(url, max_size=None) as socket:
        await socket.send(json.dumps(subscribe))
        async for raw in socket:
            message = json.loads(raw)
            if message["type"] == "caught_up":
                ready.set()
            elif message["type"] == "event":
                payload = message["event"]["payload"]
                received = time.perf_counter()
                seq = payload.get("seq") if isinstance(payload, dict) else None
                if seq is None:
                    continue
                if seq in seen:
                    run.duplicates += 1
                    continue
                seen.add(seq)
                run.delivered_ms.append((received - run.sent_at[seq]) * 1000)
                run.by_kind[kind].append(run.delivered_ms[-1])
                if len(seen) == count:
                    return


async def measure(run: Run, ports: tuple[int, int], key: str, sockets: int, count: int) -> None:
    watch_port, append_port = ports
    stream_id = f"bench/live-{run.layer}"
    base = f"ws://127.0.0.1:{watch_port}"
    targets = []
    for n in range(sockets):
        if n % 2 == 0:
            url = f"{base}/ws/streams?stream_id={quote(stream_id, safe='')}&key={key}"
            targets.append((url, {"type": "subscribe", "after_version": 0}, "stream"))
        else:
            feed = f"{base}/ws/events?key={key}"
            targets.append((feed, {"type": "subscribe", "after": 0}, "feed"))
    readies = [asyncio.Event() for _ in targets]
    tasks = [
        asyncio.create_task(watch(url, sub, run, count, ready, kind))
        for (url, sub, kind), ready in zip(targets, readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    progress(f"{run.layer}: {sockets} sockets caught up; appending {count} events")
    appender = threading.Thread(
        target=append_paced, args=(run, append_port, key, stream_id, count, 0.02)
    )
    appender.start()
    done, pending = await asyncio.wait(tasks, timeout=60)
    for task in pending:
        task.cancel()
    await asyncio.to_thread(appender.join)
    for task in done:
        if task.exception():
            raise task.exception()
    run.missing = sockets * count - len(run.delivered_ms)


def run_layer(layer: str, url: ServerUrl, redis_url: str, sockets: int, count: int) -> Run:
    env, key = prepare_server_database(url, FLIPBOOK_REDIS_URL=redis_url)
    if layer != "redis":
        del env["FLIPBOOK_REDIS_URL"]  # the in-memory layer
    servers = []
    try:
        watch_ports = (free_port(), free_port())
        progress(f"{layer}: starting `manage.py serve` on {watch_ports[0]}")
        servers.append(start_server(env, *watch_ports))
        append_port = watch_ports[0]
        if layer == "redis":
            other = (free_port(), free_port())
            progress(f"{layer}: starting a second server on {other[0]} for the appends")
            servers.append(start_server(env, *other))
            append_port = other[0]
        run = Run(layer)
        asyncio.run(measure(run, (watch_ports[0], append_port), key, sockets, count))
        return run
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("FLIPBOOK_BENCH_BUS_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("FLIPBOOK_BENCH_REDIS_URL", DEFAULT_REDIS)
    )
    parser.add_argument("--sockets", type=int, default=50)
    parser.add_argument("--events", type=int, default=300, help="appends, one every 20 ms")
    parser.add_argument("--layers", default=",".join(LAYERS), help="comma-separated subset")
    parser.add_argument("--quick", action="store_true", help="tiny counts, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.sockets, args.events = 4, 10
    layers = [layer for layer in args.layers.split(",") if layer in LAYERS]

    url = ServerUrl(args.database_url)
    runs = [run_layer(layer, url, args.redis_url, args.sockets, args.events) for layer in layers]

    print(
        f"\nAppend to WebSocket delivery: {args.sockets} sockets (half on the stream, half on "
        f"the all-feed), {args.events} one-event REST appends at 50/s, PostgreSQL at "
        f"{url.host}:{url.port}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'layer':<12}{'ack p50':>9}{'ack p99':>9}{'deliv p50':>11}{'deliv p99':>11}"
        f"{'p50/ack':>9}{'p99/ack':>9}{'lost':>6}{'dup':>5}  target p99 < {TARGET_P99_MS:.0f} ms"
    )
    failed = False
    for run in runs:
        ack50, ack99 = percentile(run.acked_ms, 0.5), percentile(run.acked_ms, 0.99)
        d50, d99 = percentile(run.delivered_ms, 0.5), percentile(run.delivered_ms, 0.99)
        verdict = "PASS" if d99 < TARGET_P99_MS else "MISS"
        failed |= bool(run.missing or run.duplicates)
        print(
            f"{run.layer:<12}{ack50:>8.1f}ms{ack99:>7.1f}ms{d50:>9.1f}ms{d99:>9.1f}ms"
            f"{d50 / ack50:>9.2f}{d99 / ack99:>9.2f}{run.missing:>6}{run.duplicates:>5}  "
            f"{verdict} (mean {statistics.fmean(run.delivered_ms):.1f} ms)"
        )
        for kind, values in run.by_kind.items():
            print(
                f"  {kind + ' sockets':<28}{percentile(values, 0.5):>9.1f}ms"
                f"{percentile(values, 0.99):>9.1f}ms"
            )
    if failed:
        print("Some sockets lost or repeated events: the bus is broken.", file=sys.stderr)
        return 1
    return 0


LAYERS = ("in-memory", "redis")

if __name__ == "__main__":
    raise SystemExit(main())
