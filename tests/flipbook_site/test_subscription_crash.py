"""A pull consumer of a durable subscription, a real subprocess against a real `flipbook serve`,
killed with SIGKILL in the middle of a batch (and the server killed too) while writers
append: after restarts every event is processed at least once, each run in position order,
and the checkpoint never passes an event the consumer had not finished."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connections

from api.models import ApiKey
from streams import services
from tests.flipbook_site.test_serve_crash import start_server
from tests.processes import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60
INITIAL_EVENTS = 300

# The consumer: processes one event at a time (a line "E <pid> <position>" once done), acks
# after the whole batch ("A <pid> <position>"), retries while the server is away.
CONSUMER = r"""
import json, os, sys, time, urllib.request, urllib.error
base, key, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
pid = os.getpid()
log = open(log_path, "a", buffering=1)

def call(path, body=None):
    request = urllib.request.Request(
        base + path, data=json.dumps(body or {}).encode(), method="POST",
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)  # back-off of a real client while the server restarts

while True:
    batch = call("/api/v1/subscriptions/crash/next?max=25&wait=2")
    for event in batch["events"]:
        time.sleep(0.002)  # the work of handling an event
        log.write(f"E {pid} {event['position']}\n")
    if batch["events"]:
        last = batch["events"][-1]["position"]
        call("/api/v1/subscriptions/crash/ack", {"position": last})
        log.write(f"A {pid} {last}\n")
"""


def rest(base: str, key: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def read_log(path: Path) -> list[tuple[str, int, int]]:
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        kind, pid, position = line.split()
        lines.append((kind, int(pid), int(position)))
    return lines


def start_consumer(script: Path, base: str, key: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(script), base, key, str(log)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def lines_of(consumer: subprocess.Popen, log: Path) -> list[tuple[str, int, int]]:
    """The log lines of ``consumer``; fails the test if it has exited."""
    assert consumer.poll() is None, consumer.stderr.read().decode()[-2000:]
    return [line for line in read_log(log) if line[1] == consumer.pid]


def kill_mid_batch(consumer: subprocess.Popen, log: Path, after_lines: int) -> None:
    """SIGKILL the consumer once it has processed part of a batch and not acked it yet."""

    def mid_batch() -> bool:
        ours = lines_of(consumer, log)
        return len(read_log(log)) >= after_lines and bool(ours) and ours[-1][0] == "E"

    # Looked at every millisecond: a batch of 25 takes about 50 ms to process.
    wait_until(mid_batch, timeout=WAIT, interval=0.001, message="the consumer did not get going")
    consumer.send_signal(signal.SIGKILL)
    consumer.wait(10)
    ours = [line for line in read_log(log) if line[1] == consumer.pid]
    if ours[-1][0] != "E":
        raise AssertionError("the consumer acked just before the kill; not mid-batch")


def served_database(alias: str) -> str:
    """The URL `serve` opens for the test database of ``alias``: the embedded default
    (SQLite, where `serve` also runs the push worker) or PostgreSQL."""
    name = connections[alias].settings_dict["NAME"]
    if alias == "default":
        return f"sqlite:///{Path(name).resolve()}"
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def test_consumer_killed_mid_batch_loses_nothing(db_backend, tmp_path):
    database_url, alias = served_database(db_backend), db_backend
    key = ApiKey.issue("subscription-crash", "write", using=alias)[1]
    for i in range(INITIAL_EVENTS // 10):
        services.append_to_stream(f"crash-{i % 7}", [{"name": "Written"}] * 10)
    http_port, grpc_port = free_port(), free_port()
    server = start_server(database_url, http_port, grpc_port)
    base = f"http://127.0.0.1:{http_port}"
    script = tmp_path / "consumer.py"
    script.write_text(CONSUMER)
    log = tmp_path / "processed.log"
    rest(base, key, "POST", "/api/v1/subscriptions/", {"name": "crash"})

    stop = threading.Event()
    write_errors: list[BaseException] = []

    def write() -> None:
        try:
            n = 0
            while not stop.is_set():
                services.append_to_stream(f"live-{n % 5}", [{"name": "Live"}] * 5)
                n += 1
                time.sleep(0.03)  # the writers' pace (the load), not a wait
        except BaseException as exc:  # reported below
            write_errors.append(exc)
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    writer.start()
    consumers = [start_consumer(script, base, key, log)]
    try:
        # 1. the consumer dies mid-batch; the checkpoint covers only finished events
        kill_mid_batch(consumers[-1], log, after_lines=60)
        processed = {p for kind, _, p in read_log(log) if kind == "E"}
        checkpoint = rest(base, key, "GET", "/api/v1/subscriptions/crash")["checkpoint"]
        done_before = [e.position for e in services.iter_all() if e.position <= checkpoint]
        assert set(done_before) <= processed, "the checkpoint passed an unfinished event"
        unfinished = [e.position for e in services.iter_all() if e.position not in processed]
        assert unfinished and min(unfinished) > checkpoint

        # 2. a new consumer; once it processes events the server dies (SIGKILL), comes back
        consumers.append(start_consumer(script, base, key, log))
        wait_until(
            lambda: lines_of(consumers[-1], log),
            timeout=WAIT,
            message="the second consumer processed nothing",
        )
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        server = start_server(database_url, http_port, grpc_port)

        # 3. killed mid-batch once more, then a last consumer catches up with the writers
        kill_mid_batch(consumers[-1], log, after_lines=len(read_log(log)) + 40)
        consumers.append(start_consumer(script, base, key, log))
        # The writers stop once the last consumer has acked a batch while they wrote.
        wait_until(
            lambda: any(kind == "A" for kind, _, _ in lines_of(consumers[-1], log)),
            timeout=WAIT,
            message="the last consumer acked nothing",
        )
        stop.set()
        writer.join(WAIT)
        assert not write_errors, write_errors
        last = max(e.position for e in services.iter_all())

        def caught_up() -> bool:
            assert consumers[-1].poll() is None, consumers[-1].stderr.read().decode()[-2000:]
            return rest(base, key, "GET", "/api/v1/subscriptions/crash")["checkpoint"] >= last

        wait_until(caught_up, timeout=WAIT, interval=0.1, message="the consumer did not catch up")
    finally:
        stop.set()
        writer.join(WAIT)
        for consumer in consumers:
            if consumer.poll() is None:
                consumer.kill()
                consumer.wait(10)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()

    lines = read_log(log)
    every = [e.position for e in services.iter_all()]
    processed = [p for kind, _, p in lines if kind == "E"]
    assert set(every) <= set(processed), "an event was never processed"
    assert len(processed) > len(set(processed)), "the kills redelivered nothing (not mid-batch)"
    for pid in {pid for _, pid, _ in lines}:
        # Within one consumer run: strictly in position order (it acks each batch, retrying
        # through the server's restart, before asking for the next one).
        mine = [p for kind, q, p in lines if q == pid and kind == "E"]
        backwards = [(a, b) for a, b in itertools.pairwise(mine) if b <= a]
        assert not backwards, backwards[:5]


def test_sigterm_answers_waiting_long_polls_and_exits(postgres_backend):
    database_url = (
        "postgres://postgres@127.0.0.1:5432/" + connections["postgres"].settings_dict["NAME"]
    )
    key = ApiKey.issue("subscription-shutdown", "write", using="postgres")[1]
    http_port, grpc_port = free_port(), free_port()
    server = start_server(database_url, http_port, grpc_port)
    base = f"http://127.0.0.1:{http_port}"
    # One subscription per poll: each one's heartbeat tells that its poll has arrived.
    names = [f"waiting-{i}" for i in range(3)]
    for name in names:
        rest(base, key, "POST", "/api/v1/subscriptions/", {"name": name, "start": "end"})
    answers: list[dict] = []

    def long_poll(name: str) -> None:
        answers.append(rest(base, key, "POST", f"/api/v1/subscriptions/{name}/next?wait=30"))

    pollers = [threading.Thread(target=long_poll, args=(name,)) for name in names]
    for poller in pollers:
        poller.start()
    # Each poll is in the server: its first look at its subscription wrote a heartbeat.
    wait_until(
        lambda: all(
            rest(base, key, "GET", f"/api/v1/subscriptions/{name}")["last_heartbeat"]
            for name in names
        ),
        timeout=WAIT,
        message="the long polls did not reach the server",
    )
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(25)
    except subprocess.TimeoutExpired:
        server.kill()
        raise
    for poller in pollers:
        poller.join(5)
    # Every waiting poll was answered (an empty batch) before the server went; the grace
    # (10 s) is far below the polls' 30 s, so the process did not wait them out either.
    assert [a["events"] for a in answers] == [[], [], []]
    assert code == 0, server.stderr.read().decode()[-2000:]


@pytest.mark.django_db(transaction=True)
def test_serve_on_the_embedded_default_runs_the_push_worker():
    from tests.subscriptions.test_push_delivery import Handler, webhook

    key = ApiKey.issue("subscription-push", "write")[1]
    handler = Handler(failures=0)
    http_port, grpc_port = free_port(), free_port()
    server = start_server(served_database("default"), http_port, grpc_port)
    base = f"http://127.0.0.1:{http_port}"
    try:
        with webhook(handler) as url:
            body = {"name": "hook", "push": {"kind": "webhook", "url": url}}
            rest(base, key, "POST", "/api/v1/subscriptions/", body)
            written = [e.position for e in services.append_to_stream("s", [{"name": "E"}]).events]
            wait_until(
                lambda: handler.delivered() == written,
                timeout=WAIT,
                interval=0.05,
                message=lambda: f"the push worker did not deliver {written}: {handler.calls}",
            )
            wait_until(
                lambda: (
                    rest(base, key, "GET", "/api/v1/subscriptions/hook")["checkpoint"] >= written[0]
                ),
                timeout=WAIT,
                interval=0.05,
                message="the delivery was not acknowledged",
            )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert code == 0, server.stderr.read().decode()[-2000:]
