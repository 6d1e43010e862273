"""`flipbook serve --workers 2` on PostgreSQL and the Redis bus: the two workers share the
HTTP and gRPC ports; a WebSocket on one worker sees commits made through the other; a durable
subscription read through both loses nothing; a worker killed mid-load loses no acknowledged
commit and is replaced; SIGTERM lets in-flight calls finish. Which worker holds a connection
is read from /proc (the socket's inode among each worker's file descriptors)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import websockets
from django.db import connections

from api.models import ApiKey
from streams.exceptions import NotFound
from tests.contracts.snapshot_store import REDIS_URL, require_redis
from tests.processes import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2


class Server:
    """A `manage.py serve --workers N` process and what the tests ask of it."""

    def __init__(self, database_url: str, *, workers: int = WORKERS, **env: str) -> None:
        self.http_port, self.grpc_port = free_port(), free_port()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--workers", str(workers), "--grace", "8"],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "flipbook_site.settings",
                "FLIPBOOK_DATABASE_URL": database_url,
                "FLIPBOOK_REDIS_URL": REDIS_URL,
                "FLIPBOOK_BUS_PREFIX": f"fbworkers{uuid.uuid4().hex[:10]}",
                "FLIPBOOK_SECRET_KEY": "workers-test-secret-key",
                "FLIPBOOK_HTTP_PORT": str(self.http_port),
                "FLIPBOOK_GRPC_PORT": str(self.grpc_port),
                "FLIPBOOK_PUSH_IN_SERVE": "false",
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_until(
            lambda: self.process.poll() is not None or len(self.serving_workers()) == workers,
            timeout=60,
            message="the workers did not start serving",
        )
        if self.process.poll() is not None:
            raise AssertionError(self.process.stderr.read().decode()[-3000:])

    def workers(self) -> list[int]:
        """PIDs of the supervisor's live children."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                pids.append(int(entry.name))
        return sorted(pids)

    def serving_workers(self) -> list[int]:
        """Workers that listen on the gRPC port (they bind it once ready to serve)."""
        listening = _inodes(self.grpc_port, listening=True)
        return [pid for pid in self.workers() if _socket_inodes(pid) & listening]

    def worker_of(self, client_port: int) -> int:
        """The worker holding the server side of the connection from ``client_port``.

        The kernel completes the handshake before a worker accepts, so a connection just
        opened may still wait in the listening socket's queue: look until one holds it."""

        def holder() -> int | None:
            inodes = _inodes(self.http_port, peer_port=client_port)
            for pid in self.workers():
                if _socket_inodes(pid) & inodes:
                    return pid
            return None

        return wait_until(
            holder, timeout=10, message=f"no worker accepted the connection from port {client_port}"
        )

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("serve did not stop within 30 s of SIGTERM") from None


def _inodes(local_port: int, *, peer_port: int | None = None, listening: bool = False) -> set[int]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, peer, state = fields[1], fields[2], fields[3]
                if int(local.rsplit(":", 1)[1], 16) != local_port:
                    continue
                if listening and state != "0A":  # TCP_LISTEN
                    continue
                if peer_port is not None and int(peer.rsplit(":", 1)[1], 16) != peer_port:
                    continue
                found.add(int(fields[9]))
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:  # the process is gone
        pass
    return inodes


def database_url() -> str:
    return "postgres://postgres@127.0.0.1:5432/" + connections["postgres"].settings_dict["NAME"]


@pytest.fixture
def server(postgres_backend):
    require_redis()
    server = Server(database_url())
    yield server
    assert server.stop() == 0, server.process.stderr.read().decode()[-3000:]


@pytest.fixture
def write_key(postgres_backend) -> str:
    return ApiKey.issue("workers-test", "write", using="postgres")[1]


def connection_on(server: Server, worker: int | None, *, other_than: int | None = None):
    """A kept-alive HTTP connection served by ``worker`` (or by any worker but
    ``other_than``): connections are opened until the kernel hands one to it."""
    for _ in range(200):
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
        conn.connect()
        owner = server.worker_of(conn.sock.getsockname()[1])
        if (worker is None or owner == worker) and owner != other_than:
            return conn, owner
        conn.close()
    raise AssertionError("200 connections all went to the same worker")


def append(conn, key: str, stream_id: str, events: list[dict], expected="any") -> dict:
    body = json.dumps({"expected_version": expected, "events": events})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn.request("POST", f"/api/v1/streams/{stream_id}/events", body, headers)
    response = conn.getresponse()
    data = json.loads(response.read())
    assert response.status == 201, data
    return data


def test_the_workers_share_the_ports_and_a_socket_sees_the_other_workers_commits(server, write_key):
    assert len(server.serving_workers()) == WORKERS

    async def watch() -> list[dict]:
        url = f"ws://127.0.0.1:{server.http_port}/ws/streams/across?key={write_key}"
        async with websockets.connect(url) as ws:
            ws_worker = server.worker_of(ws.transport.get_extra_info("sockname")[1])
            await ws.send(json.dumps({"type": "subscribe", "after_version": 0}))
            while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "caught_up":
                pass
            conn, http_worker = await asyncio.to_thread(
                connection_on, server, None, other_than=ws_worker
            )
            assert http_worker != ws_worker
            for n in range(3):
                await asyncio.to_thread(
                    append, conn, write_key, "across", [{"name": "Moved", "payload": {"n": n}}]
                )
            conn.close()
            seen: list[dict] = []
            while len(seen) < 3:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message["type"] == "event":
                    seen.append(message["event"])
            return seen

    seen = asyncio.run(watch())
    assert [e["payload"]["n"] for e in seen] == [0, 1, 2]
    assert [e["version"] for e in seen] == [1, 2, 3]


def test_a_durable_subscription_read_through_both_workers_loses_nothing(server, write_key):
    from flipbook_client import Client

    total = 120
    client = Client(f"http://127.0.0.1:{server.http_port}", api_key=write_key)
    client.subscriptions.create("through-both", start="beginning")
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            conns = [connection_on(server, None)[0] for _ in range(4)]
            for n in range(total):
                append(
                    conns[n % 4],
                    write_key,
                    f"durable/{n % 7}",
                    [{"name": "N", "payload": {"n": n}}],
                )
            for conn in conns:
                conn.close()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    received: list[int] = []
    deadline = time.monotonic() + 60
    while len(set(received)) < total and time.monotonic() < deadline:
        batch = client.subscriptions.next("through-both", max=25, wait=1.0)
        received.extend(e.payload["n"] for e in batch.events)
        if batch.events:
            client.subscriptions.ack("through-both", batch.events[-1].position)
    writer.join(30)
    client.close()
    assert not errors, errors[0]
    assert sorted(set(received)) == list(range(total))


def test_a_killed_worker_loses_no_acknowledged_commit_and_is_replaced(server, write_key):
    acknowledged: list[str] = []
    attempted: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def write(n: int) -> None:
        conn = None
        while not stop.is_set():
            stream_id = f"killed/{n}/{uuid.uuid4().hex}"
            with lock:
                attempted.append(stream_id)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
                append(conn, write_key, stream_id, [{"name": "N", "payload": {}}] * 3, expected=0)
            except (OSError, http.client.HTTPException):
                conn = None  # its worker died: a new connection reaches the other one
                continue
            with lock:
                acknowledged.append(stream_id)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    before = server.workers()
    try:
        wait_until(lambda: len(acknowledged) >= 60, timeout=30, message="no load before the kill")
        os.kill(before[0], signal.SIGKILL)
        at_kill = len(acknowledged)
        wait_until(
            lambda: len(server.serving_workers()) == WORKERS and before[0] not in server.workers(),
            timeout=60,
            message="the supervisor did not replace the killed worker",
        )
        wait_until(lambda: len(acknowledged) >= at_kill + 60, timeout=30, message="no load after")
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    from streams import services

    for stream_id in acknowledged:
        assert services.stream_head(stream_id).version == 3, stream_id
    unacknowledged = set(attempted) - set(acknowledged)
    assert unacknowledged, "the kill found no append in flight"
    for stream_id in unacknowledged:
        try:
            version = services.stream_head(stream_id).version
        except NotFound:
            continue
        assert version == 3, "an append was half-stored"
    assert before[0] not in server.workers() and len(server.workers()) == WORKERS


def database_sessions() -> int:
    """Sessions on the test database other than this test's own."""
    with connections["postgres"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_sigterm_lets_in_flight_calls_finish_and_closes_every_session(postgres_backend, write_key):
    require_redis()
    before = database_sessions()
    server = Server(database_url())
    events = [{"name": "Big", "payload": {"text": "x" * 2000}}] * 1000
    results: list[int] = []

    def big_append(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=30)
        body = json.dumps({"expected_version": 0, "events": events})
        headers = {"Authorization": f"Bearer {write_key}", "Content-Type": "application/json"}
        try:
            conn.request("POST", f"/api/v1/streams/in-flight/{n}/events", body, headers)
            results.append(conn.getresponse().status)
        except (OSError, http.client.HTTPException):
            results.append(0)

    threads = [threading.Thread(target=big_append, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # the requests are sent and being stored: the point of the test
    code = server.stop()
    for t in threads:
        t.join(30)
    from streams import services

    assert code == 0
    # The workers' pools closed with them: no session of theirs is left on the database.
    wait_until(lambda: database_sessions() <= before, timeout=10, message="sessions left open")
    assert results and all(status in (201, 0) for status in results), results
    assert results.count(201) >= 1, "no request was in flight at SIGTERM"
    for n, status in enumerate(results):
        if status == 201:
            assert services.stream_head(f"in-flight/{n}").version == 1000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FLIPBOOK_REDIS_URL": ""}, "needs the Redis bus"),
    ],
)
def test_workers_without_shared_state_are_refused(postgres_backend, env, message):
    done = subprocess.run(
        [sys.executable, "manage.py", "serve", "--workers", "2"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "flipbook_site.settings",
            "FLIPBOOK_DATABASE_URL": database_url(),
            "FLIPBOOK_SECRET_KEY": "workers-test-secret-key",
            "FLIPBOOK_HTTP_PORT": str(free_port()),
            "FLIPBOOK_GRPC_PORT": str(free_port()),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert message in done.stderr


def test_workers_on_sqlite_are_refused(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "serve", "--workers", "2"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "flipbook_site.settings",
            "FLIPBOOK_DATABASE_URL": f"sqlite:///{tmp_path / 'one.sqlite3'}",
            "FLIPBOOK_HTTP_PORT": str(free_port()),
            "FLIPBOOK_GRPC_PORT": str(free_port()),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--workers 2 needs PostgreSQL" in done.stderr
