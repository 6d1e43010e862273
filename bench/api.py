"""`python -m bench.api`: appends through REST and through gRPC from concurrent clients, each
beside the embedded store service (threads calling streams.services) in the same run.

A `manage.py serve` subprocess serves both transports on a fresh benchmark database; the
embedded figures come from this process, on the same database. Prints events/s and the ratio
of each transport to embedded, with the targets (100-event commits: gRPC >= 0.6, REST >= 0.4).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench.database import ServerUrl, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench_api"
TARGETS = {("grpc", 100): 0.6, ("rest", 100): 0.4}


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload(i: int) -> dict:
    return {"amount": i, "currency": "EUR", "note": "benchmark event"}


# -- clients ---------------------------------------------------------------------------------


class EmbeddedClient:
    def __init__(self, key: str, http_port: int, grpc_port: int) -> None:
        from streams import services

        self.services = services

    def append(self, stream_id: str, size: int) -> None:
        events = [{"name": "Deposited", "payload": payload(i)} for i in range(size)]
        self.services.append_to_stream(stream_id, events, expected_version=0)

    def close(self) -> None:
        from django.db import connections

        connections.close_all()


class RestClient:
    def __init__(self, key: str, http_port: int, grpc_port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def append(self, stream_id: str, size: int) -> None:
        body = json.dumps(
            {
                "expected_version": 0,
                "events": [{"name": "Deposited", "payload": payload(i)} for i in range(size)],
            }
        )
        self.conn.request("POST", f"/api/v1/streams/{stream_id}/events", body, self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 201 and response.status != 200:
            raise RuntimeError(f"REST append answered {response.status}: {data[:300]!r}")

    def close(self) -> None:
        self.conn.close()


class GrpcClient:
    def __init__(self, key: str, http_port: int, grpc_port: int) -> None:
        import grpc

        from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
        from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc

        self.pb = pb
        self.channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        self.stub = eventstore_pb2_grpc.EventStoreStub(self.channel)
        self.metadata = (("authorization", f"Bearer {key}"),)

    def append(self, stream_id: str, size: int) -> None:
        pb = self.pb
        request = pb.AppendRequest(
            stream_id=stream_id,
            expected_version=0,
            events=[
                pb.NewEvent(name="Deposited", payload=json.dumps(payload(i)).encode())
                for i in range(size)
            ],
        )
        self.stub.Append(request, metadata=self.metadata, timeout=30)

    def close(self) -> None:
        self.channel.close()


SYSTEMS = {"embedded": EmbeddedClient, "grpc": GrpcClient, "rest": RestClient}


def run_workload(system: str, size: int, clients: int, appends: int, ports, key) -> float:
    """Events/s of ``clients`` threads each making ``appends`` appends of ``size`` events."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)
    run = uuid.uuid4().hex[:8]

    def client(n: int) -> None:
        c = SYSTEMS[system](key, *ports)
        try:
            c.append(f"warm-{system}-{run}-{n}", size)  # connection set up, statements prepared
            barrier.wait()
            for i in range(appends):
                c.append(f"bench-{system}-{size}-{run}-{n}-{i}", size)
        except BaseException as exc:  # reported below; a failed run prints no figure
            errors.append(exc)
            barrier.abort()
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{system} failed: {errors[0]!r}") from errors[0]
    return clients * appends * size / elapsed


def prepare_server_database(url: ServerUrl, **extra_env: str) -> tuple[dict[str, str], str]:
    """Recreate and migrate the database at ``url``; return the environment a server on it
    runs with (``extra_env`` added) and a new write-scope API key."""
    recreate_database(url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flipbook_site.settings",
        "FLIPBOOK_DATABASE_URL": url.url,
        # Servers of one deployment share one key (serve refuses a generated one beside Redis).
        "FLIPBOOK_SECRET_KEY": "bench-secret-key-not-for-production",
        **extra_env,
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    key = subprocess.run(
        [sys.executable, "manage.py", "flipbook_key", "create", "bench", "--scope", "write"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return env, key


def start_server(env: dict, http_port: int, grpc_port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "serve",
            "--http-port",
            str(http_port),
            "--grpc-port",
            str(grpc_port),
        ],
        cwd=ROOT,
        env={**env, "FLIPBOOK_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start within 60 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("FLIPBOOK_BENCH_API_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--single", type=int, default=150, help="1-event appends per client")
    parser.add_argument("--batches", type=int, default=40, help="100-event appends per client")
    parser.add_argument("--quick", action="store_true", help="tiny counts, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.single, args.batches, args.clients = 5, 1, 2

    url = ServerUrl(args.database_url)
    progress(f"recreating database {url.dbname!r}")
    env, key = prepare_server_database(url)

    os.environ.update({"DJANGO_SETTINGS_MODULE": "flipbook_site.settings"})
    os.environ["FLIPBOOK_DATABASE_URL"] = url.url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()

    ports = (free_port(), free_port())
    progress(f"starting `manage.py serve` (HTTP {ports[0]}, gRPC {ports[1]})")
    server = start_server(env, *ports)
    results: dict[tuple[str, int], float] = {}
    try:
        for size, appends in ((1, args.single), (100, args.batches)):
            for system in ("embedded", "grpc", "rest"):
                rate = run_workload(system, size, args.clients, appends, ports, key)
                results[(system, size)] = rate
                progress(f"{system:>8}  {size:>3}-event appends  {rate:10,.0f} events/s")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()

    print(
        f"\nAppends through the APIs: {args.clients} concurrent clients, server and clients "
        f"on this machine ({os.cpu_count()} CPUs), PostgreSQL at {url.host}:{url.port}"
    )
    print(
        f"{'workload':<26}{'embedded':>10}{'gRPC':>10}{'REST':>10}{'gRPC/emb':>10}"
        f"{'REST/emb':>10}  targets"
    )
    for size in (1, 100):
        emb, grpc_, rest = (results[(s, size)] for s in ("embedded", "grpc", "rest"))
        marks = []
        for name, value in (("grpc", grpc_ / emb), ("rest", rest / emb)):
            target = TARGETS.get((name, size))
            if target is not None:
                marks.append(f"{name} >= {target}: {'PASS' if value >= target else 'MISS'}")
        print(
            f"{f'{size}-event appends':<26}{emb:>10,.0f}{grpc_:>10,.0f}{rest:>10,.0f}"
            f"{grpc_ / emb:>10.2f}{rest / emb:>10.2f}  {'; '.join(marks) or '-'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
