"""`flipbook serve` killed with SIGKILL in the middle of a write load: after a restart every
acknowledged commit is present and no commit is half-stored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import grpc
import pytest
from django.db import connections

from api.models import ApiKey
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from streams import services
from tests.processes import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 6
STREAMS_PER_COMMIT = 3
EVENTS_PER_STREAM = 4


def start_server(database_url: str, http_port: int, grpc_port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flipbook_site.settings",
        "FLIPBOOK_DATABASE_URL": database_url,
        "FLIPBOOK_HTTP_PORT": str(http_port),
        "FLIPBOOK_GRPC_PORT": str(grpc_port),
        # The push tests' webhooks listen on loopback (the outbound policy's opt-in).
        "FLIPBOOK_PUSH_ALLOWED_NETWORKS": "127.0.0.0/8,::1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {process.stderr.read().decode()[-2000:]}")
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=0.5)
                return process
            except grpc.FutureTimeoutError:
                continue
    process.kill()
    raise AssertionError("serve did not start within 30 s")


def commit_request(commit_id: str) -> tuple[pb.CommitRequest, list[str]]:
    ids: list[str] = []
    streams = []
    for s in range(STREAMS_PER_COMMIT):
        events = []
        for _ in range(EVENTS_PER_STREAM):
            event_id = str(uuid.uuid4())
            ids.append(event_id)
            events.append(pb.NewEvent(name="Written", id=event_id, payload=b'{"n": 1}'))
        streams.append(pb.AppendRequest(stream_id=f"crash/{commit_id}/{s}", events=events))
    return pb.CommitRequest(streams=streams), ids


def test_sigkill_mid_load_loses_no_acknowledged_commit(postgres_backend):
    database_url = (
        "postgres://postgres@127.0.0.1:5432/" + connections["postgres"].settings_dict["NAME"]
    )
    key = ApiKey.issue("crash-test", "write", using="postgres")[1]
    metadata = (("authorization", f"Bearer {key}"),)
    http_port, grpc_port = free_port(), free_port()
    server = start_server(database_url, http_port, grpc_port)

    acknowledged: list[list[str]] = []
    attempted: list[list[str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[str] = []

    def write() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = eventstore_pb2_grpc.EventStoreStub(channel)
            while not stop.is_set():
                request, ids = commit_request(uuid.uuid4().hex)
                with lock:
                    attempted.append(ids)
                try:
                    stub.Commit(request, metadata=metadata, timeout=5)
                except grpc.RpcError as error:
                    if error.code() != grpc.StatusCode.UNAVAILABLE:
                        failures.append(f"{error.code()}: {error.details()}")
                    return  # the server is gone
                with lock:
                    acknowledged.append(ids)

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        wait_until(
            lambda: len(acknowledged) >= 40 or failures,
            timeout=20,
            interval=0.01,
            message="the load did not get going before the kill",
        )
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        stop.set()
        for t in threads:
            t.join(10)
    assert not failures, failures[:3]
    assert len(acknowledged) >= 40, "the load did not get going before the kill"
    assert len(attempted) > len(acknowledged), "the kill found no commit in flight"

    # Restart: the server comes back on the same database and serves what was stored.
    server = start_server(database_url, http_port, grpc_port)
    try:
        stored = {str(e.id) for e in services.iter_all(batch=1000)}
        for ids in acknowledged:
            assert set(ids) <= stored, "an acknowledged commit is missing after the crash"
        for ids in attempted:
            present = set(ids) & stored
            assert present in (set(), set(ids)), "a commit was half-stored"
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = eventstore_pb2_grpc.EventStoreStub(channel)
            request, ids = commit_request("after-restart")
            stub.Commit(request, metadata=metadata, timeout=5)
        assert {str(e.id) for e in services.iter_all(batch=1000)} >= set(ids)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            pytest.fail("serve did not stop on SIGTERM within 15 s")
        assert code == 0, server.stderr.read().decode()[-2000:]
