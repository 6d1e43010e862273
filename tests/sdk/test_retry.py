"""The Python client's retry policy: calls that are safe to repeat are retried with backoff
and jitter while the server is down, the others fail at once; against a real server killed
with SIGKILL and started again on the same ports and database."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from flipbook_client import Client, RetryPolicy, Unavailable
from tests.processes import free_port, manage
from tests.sdk.conftest import ROOT, Server, server_env, wait_until_serving


class RestartableServer:
    """`manage.py serve` on fixed ports and one database, killed and started at will."""

    def __init__(self, tmp_path) -> None:
        self.var_dir = tmp_path
        http_port, grpc_port = free_port(), free_port()
        self.env = server_env(tmp_path, http_port, grpc_port)
        manage(self.env, "migrate", "--noinput")
        key = manage(self.env, "flipbook_key", "create", "retry-tests", "--scope", "admin")
        self.server = Server(
            f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", key.strip(), self.env
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start serving (without waiting for it)."""
        with (self.var_dir / "serve.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_serving(self) -> None:
        assert self.process is not None
        log = self.var_dir / "serve.log"
        wait_until_serving(self.process, self.server.http_url, self.server.grpc_target, log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture(scope="module")
def restartable(tmp_path_factory) -> Iterator[RestartableServer]:
    server = RestartableServer(tmp_path_factory.mktemp("retry-server"))
    server.start()
    server.wait_serving()
    try:
        yield server
    finally:
        server.stop()


def test_policy_waits_grow_within_jitter_and_bad_policies_are_refused():
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2, jitter=0.2)
    for attempt, base in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)):
        waits = [policy.wait(attempt) for _ in range(50)]
        assert all(base * 0.8 - 1e-9 <= w <= base * 1.2 + 1e-9 for w in waits), (attempt, waits)
        assert len(set(waits)) > 1, "no jitter"
    for bad in (
        {"max_attempts": 0},
        {"initial_backoff": 0},
        {"initial_backoff": 3, "max_backoff": 1},
        {"multiplier": 0.5},
        {"jitter": 1.5},
    ):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)


def test_only_idempotent_calls_are_retried_across_a_restart(restartable, transport):
    retries: list[int] = []
    policy = RetryPolicy(
        max_attempts=200,
        initial_backoff=0.05,
        max_backoff=0.5,
        on_retry=lambda attempt, error, wait: retries.append(attempt),
    )
    server = restartable.server
    stream = f"retry-{uuid.uuid4().hex[:10]}"
    with Client(server.url(transport), server.key, transport, retry=policy, timeout=5) as client:
        client.append(stream, [{"name": "Opened"}], expected_version=0)

        restartable.kill()
        # Without event ids an append is not safe to repeat: it fails at once.
        with pytest.raises(Unavailable):
            client.append(stream, [{"name": "Lost"}])
        assert retries == []

        restartable.start()  # serving takes a few seconds: the read is retried meanwhile
        assert client.stream(stream).version == 1
        assert retries, "the read succeeded without a retry: the server was not down"

        restartable.kill()
        retries.clear()
        restartable.start()
        event_id = str(uuid.uuid4())
        result = client.append(
            stream, [{"name": "Deposited", "id": event_id, "payload": 5}], expected_version=1
        )
        assert result.version == 2 and not result.duplicate
        assert retries, "the append succeeded without a retry: the server was not down"
        assert [e.id for e in client.read(stream)][1:] == [event_id]
    restartable.wait_serving()
