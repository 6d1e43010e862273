"""A real `manage.py serve` (HTTP + gRPC) on free ports and a fresh SQLite database, with an
admin API key, for the Python SDK tests; and a client of each transport."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from flipbook_client import Client
from tests.processes import free_port, manage
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60


@dataclass(frozen=True)
class Server:
    http_url: str
    grpc_target: str
    key: str
    env: dict[str, str]

    def url(self, transport: str) -> str:
        return self.http_url if transport == "rest" else self.grpc_target


def server_env(var_dir: Path, http_port: int, grpc_port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The embedded default: no Redis, the database event store, settings of the site.
        if key not in {"FLIPBOOK_REDIS_URL", "FLIPBOOK_EVENT_STORE", "FLIPBOOK_SNAPSHOT_STORE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="flipbook_site.settings",
        FLIPBOOK_VAR_DIR=str(var_dir),
        FLIPBOOK_DATABASE_URL=f"sqlite:///{var_dir / 'flipbook.sqlite3'}",
        FLIPBOOK_HTTP_PORT=str(http_port),
        FLIPBOOK_GRPC_PORT=str(grpc_port),
        FLIPBOOK_SECRET_KEY="sdk-tests-secret-key-not-for-production",
    )
    return env


def wait_until_serving(
    process: subprocess.Popen, http_url: str, grpc_target: str, log: Path
) -> None:
    def serving() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {log.read_text()[-2000:]}")
        if httpx.get(f"{http_url}/healthz", timeout=1).status_code != 200:
            return False
        with grpc.insecure_channel(grpc_target) as channel:
            grpc.channel_ready_future(channel).result(timeout=1)
        return True

    try:
        wait_until(
            serving,
            timeout=START_SECONDS,
            interval=0.2,
            ignore=(httpx.TransportError, grpc.FutureTimeoutError),  # not listening yet
            message="serve did not answer",
        )
    except AssertionError:
        process.kill()
        raise


@pytest.fixture(scope="session")
def flipbook_server(tmp_path_factory) -> Iterator[Server]:
    """`manage.py serve` on a fresh SQLite database; stopped with SIGTERM at the end."""
    var_dir = tmp_path_factory.mktemp("sdk-server")
    http_port, grpc_port = free_port(), free_port()
    env = server_env(var_dir, http_port, grpc_port)
    manage(env, "migrate", "--noinput")
    key = manage(env, "flipbook_key", "create", "sdk-tests", "--scope", "admin").strip()
    # The server logs a JSON line per request: into a file, as a pipe nobody reads would
    # fill up and block the server.
    log = var_dir / "serve.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", key, env)
    try:
        wait_until_serving(process, server.http_url, server.grpc_target, log)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(params=["rest", "grpc"])
def transport(request) -> str:
    return request.param


@pytest.fixture
def client(flipbook_server: Server, transport: str) -> Iterator[Client]:
    """A client of the test server over ``transport`` (each test runs over both)."""
    with Client(flipbook_server.url(transport), flipbook_server.key, transport) as client:
        yield client
