"""`python -m bench.subscriptions`: durable subscription throughput and end-to-end lag.

A `manage.py serve` subprocess serves REST and gRPC on a fresh benchmark database. Figures:
events/s delivered and acknowledged by one consumer catching up while writers append (REST
next+ack, gRPC Next+Ack, gRPC Subscribe+Ack), each beside the raw all-feed read of the same
events in this process (streams.services.iter_all) as a ratio; then the live lag from append
to delivery (p50, p99) over REST long-poll and gRPC Subscribe."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench.api import free_port, prepare_server_database, progress, start_server
from bench.database import ServerUrl

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench_subscriptions"


class Rest:
    def __init__(self, key: str, http_port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body)
        self.conn.request(method, "/api/v1/subscriptions/" + path, data, self.headers)
        response = self.conn.getresponse()
        text = response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"REST {path} answered {response.status}: {text[:300]!r}")
        return json.loads(text)

    def read_all(self, target: int, batch: int) -> int:
        """The plain all-feed over REST up to ``target``: the transport's own baseline."""
        after, done = 0, 0
        while after < target:
            self.conn.request(
                "GET", f"/api/v1/events?after={after}&limit={batch}", None, self.headers
            )
            page = json.loads(self.conn.getresponse().read())
            done += len(page["events"])
            after = page["next_after"]
        return done

    def close(self) -> None:
        self.conn.close()


class Grpc:
    def __init__(self, key: str, grpc_port: int) -> None:
        import grpc

        from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
        from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc

        self.pb = pb
        self.channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        self.store = eventstore_pb2_grpc.EventStoreStub(self.channel)
        self.subs = eventstore_pb2_grpc.SubscriptionsStub(self.channel)
        self.metadata = (("authorization", f"Bearer {key}"),)

    def read_all(self, target: int, batch: int) -> int:
        """The plain all-feed over gRPC ReadAll up to ``target``: the transport's baseline."""
        call = self.store.ReadAll(self.pb.ReadAllRequest(after=0), metadata=self.metadata)
        done = 0
        try:
            for response in call:
                if response.WhichOneof("item") == "event":
                    done += 1
                    if response.event.position >= target:
                        return done
        finally:
            call.cancel()
        return done

    def ack(self, name: str, position: int) -> None:
        self.subs.Ack(self.pb.AckRequest(name=name, position=position), metadata=self.metadata)

    def close(self) -> None:
        self.channel.close()


class Writers:
    """Threads appending 10-event commits through the embedded store service until stopped."""

    def __init__(self, count: int, pause: float) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.written = 0
        self.threads = [threading.Thread(target=self.run, args=(n, pause)) for n in range(count)]

    def run(self, n: int, pause: float) -> None:
        from django.db import connections

        from streams import services

        try:
            i = 0
            while not self.stop.is_set():
                events = [{"name": "Written", "payload": {"n": i, "k": k}} for k in range(10)]
                services.append_to_stream(f"writer-{n}-{i % 50}", events)
                self.written += 10
                i += 1
                time.sleep(pause)
        except BaseException as exc:  # reported by the caller
            self.errors.append(exc)
        finally:
            connections.close_all()

    def __enter__(self) -> Writers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()
        if self.errors:
            raise RuntimeError(f"a writer failed: {self.errors[0]!r}") from self.errors[0]


def raw_read_all(target: int) -> float:
    """Events/s of the store's own all-feed read up to ``target`` (the baseline)."""
    from streams import services

    start, count = time.perf_counter(), 0
    for event in services.iter_all(batch=1000):
        count += 1
        if event.position >= target:
            break
    return count / (time.perf_counter() - start)


def create(rest: Rest, name: str, start="beginning") -> None:
    rest.call("POST", "", {"name": name, "start": start})


def rest_catch_up(rest: Rest, name: str, target: int, batch: int) -> int:
    done = 0
    while True:
        events = rest.call("POST", f"{name}/next?max={batch}")["events"]
        if events:
            done += len(events)
            last = events[-1]["position"]
            rest.call("POST", f"{name}/ack", {"position": last})
            if last >= target:
                return done


def grpc_next_catch_up(client: Grpc, name: str, target: int, batch: int) -> int:
    done = 0
    while True:
        response = client.subs.Next(
            client.pb.NextRequest(name=name, max=batch), metadata=client.metadata
        )
        if response.events:
            done += len(response.events)
            last = response.events[-1].position
            client.ack(name, last)
            if last >= target:
                return done


def grpc_subscribe_catch_up(client: Grpc, name: str, target: int, batch: int) -> int:
    call = client.store.Subscribe(
        client.pb.SubscribeRequest(name=name, max_in_flight=2 * batch), metadata=client.metadata
    )
    done = 0
    try:
        for response in call:
            if response.WhichOneof("item") != "event":
                continue
            done += 1
            position = response.event.position
            if done % batch == 0 or position >= target:
                client.ack(name, position)
            if position >= target:
                return done
    finally:
        call.cancel()
    raise RuntimeError("the Subscribe stream ended early")


def measure(label: str, run) -> float:
    start = time.perf_counter()
    count = run()
    rate = count / (time.perf_counter() - start)
    progress(f"{label:<28} {rate:10,.0f} events/s")
    return rate


def live_lags(kind: str, rest: Rest, grpc_client: Grpc, samples: int) -> list[float]:
    """Seconds from just before an append to its delivery, one event at a time."""
    from django.db import connections

    from streams import services

    name = f"lag-{kind}-{uuid.uuid4().hex[:6]}"
    create(rest, name, "end")
    received: queue.Queue = queue.Queue()
    stop = threading.Event()

    def consume() -> None:
        if kind == "rest":
            consumer = Rest(rest.headers["Authorization"].split()[1], rest.conn.port)
            try:
                while not stop.is_set():
                    events = consumer.call("POST", f"{name}/next?max=100&wait=2")["events"]
                    now = time.time()
                    for event in events:
                        received.put(now - event["payload"]["t"])
                    if events:
                        consumer.call("POST", f"{name}/ack", {"position": events[-1]["position"]})
            finally:
                consumer.close()
            return
        call = grpc_client.store.Subscribe(
            grpc_client.pb.SubscribeRequest(name=name, max_in_flight=1000),
            metadata=grpc_client.metadata,
        )
        stop_call = threading.Thread(target=lambda: (stop.wait(), call.cancel()))
        stop_call.start()
        try:
            for response in call:
                if response.WhichOneof("item") == "event":
                    now = time.time()
                    received.put(now - json.loads(response.event.payload)["t"])
                    grpc_client.ack(name, response.event.position)
        except Exception:
            if not stop.is_set():
                raise
        stop_call.join()

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.5)
    lags = []
    try:
        for i in range(samples):
            ping = {"name": "Ping", "payload": {"t": time.time(), "i": i}}
            services.append_to_stream(f"lag-{kind}", [ping])
            lags.append(received.get(timeout=30))
            time.sleep(0.005)
    finally:
        stop.set()
        consumer.join()
        connections.close_all()
    return lags


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FLIPBOOK_BENCH_SUBSCRIPTIONS_DATABASE_URL", DEFAULT_URL),
    )
    parser.add_argument("--events", type=int, default=30_000, help="events to catch up on")
    parser.add_argument("--batch", type=int, default=500, help="events per next/ack")
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=200, help="lag samples per transport")
    parser.add_argument("--quick", action="store_true", help="tiny counts, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.batch, args.samples, args.writers = 600, 100, 10, 1

    url = ServerUrl(args.database_url)
    progress(f"recreating database {url.dbname!r}")
    env, key = prepare_server_database(url)
    os.environ.update({"DJANGO_SETTINGS_MODULE": "flipbook_site.settings"})
    os.environ["FLIPBOOK_DATABASE_URL"] = url.url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from streams import services

    progress(f"loading {args.events:,} events")
    for i in range(0, args.events, 100):
        events = [{"name": "Loaded", "payload": {"n": i + k, "note": "bench"}} for k in range(100)]
        services.append_to_stream(f"load-{i // 100 % 100}", events)
    target = 0
    for event in services.iter_all(batch=1000):
        target = event.position  # the last loaded event: each consumer catches up to it

    http_port, grpc_port = free_port(), free_port()
    progress(f"starting `manage.py serve` (HTTP {http_port}, gRPC {grpc_port})")
    server = start_server(env, http_port, grpc_port)
    rest, grpc_client = Rest(key, http_port), Grpc(key, grpc_port)
    rates: dict[str, tuple[float, float, float]] = {}
    plain = {
        "REST": lambda: rest.read_all(target, args.batch),
        "gRPC": lambda: grpc_client.read_all(target, args.batch),
    }
    try:
        with Writers(args.writers, 0.01):
            for label, transport, run in (
                ("REST next + ack", "REST", rest_catch_up),
                (
                    "gRPC Next + Ack",
                    "gRPC",
                    lambda c, n, t, b: grpc_next_catch_up(grpc_client, n, t, b),
                ),
                (
                    "gRPC Subscribe + Ack",
                    "gRPC",
                    lambda c, n, t, b: grpc_subscribe_catch_up(grpc_client, n, t, b),
                ),
            ):
                name = f"bench-{uuid.uuid4().hex[:8]}"
                create(rest, name)
                # Baselines are read just before and just after, under the same writers, and
                # averaged: other load on the machine moves both alike.
                before = (raw_read_all(target), measure(f"{transport} read_all", plain[transport]))
                rate = measure(label, lambda n=name, r=run: r(rest, n, target, args.batch))
                after = (raw_read_all(target), measure(f"{transport} read_all", plain[transport]))
                raw, over = ((b + a) / 2 for b, a in zip(before, after, strict=True))
                progress(f"{'in-process read_all (mean)':<28} {raw:10,.0f} events/s")
                rates[label] = (rate, over, raw)
        lags = {
            "REST long-poll": live_lags("rest", rest, grpc_client, args.samples),
            "gRPC Subscribe": live_lags("grpc", rest, grpc_client, args.samples),
        }
    finally:
        rest.close()
        grpc_client.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()

    print(
        f"\nDurable subscriptions: one consumer catching up on {args.events:,} events while "
        f"{args.writers} writers append, batches of {args.batch}; server and clients on this "
        f"machine ({os.cpu_count()} CPUs), PostgreSQL at {url.host}:{url.port}"
    )
    print(
        "Baselines: the plain all-feed read over the same transport (REST GET events pages, "
        "gRPC ReadAll), and in this process (streams.services.iter_all)"
    )
    print(
        f"{'consumer':<24}{'events/s':>10}{'transport':>11}{'ratio':>7}"
        f"{'in-process':>12}{'ratio':>7}"
    )
    for label, (rate, over, raw) in rates.items():
        print(
            f"{label:<24}{rate:>10,.0f}{over:>11,.0f}{rate / over:>7.2f}"
            f"{raw:>12,.0f}{rate / raw:>7.2f}"
        )
    print(f"\nLive lag, append to delivery ({args.samples} single events each)")
    print(f"{'transport':<26}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for label, values in lags.items():
        print(
            f"{label:<26}{percentile(values, 0.5) * 1000:>10.1f}"
            f"{percentile(values, 0.99) * 1000:>10.1f}{statistics.mean(values) * 1000:>10.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
