"""The Redis event store for the tests: on the Redis that `make services` runs (127.0.0.1:6379,
or FLIPBOOK_TEST_REDIS_URL), each test on its own key prefix, deleted after it; and private
``redis-server`` processes for the tests that kill or starve one.

A missing Redis skips these tests locally and fails them with CI=true."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.contracts.snapshot_store import REDIS_URL, require_redis

BACKEND = "streams.backends.redis.RedisEventStore"


def redis_options(url: str = REDIS_URL, **extra) -> dict:
    """OPTIONS for a store of its own (a fresh key prefix) on the Redis at ``url``."""
    return {
        "url": url,
        "key_prefix": f"flipbook-test:{uuid.uuid4().hex[:12]}",
        "persistence": "none",
        **extra,
    }


def use_redis_event_store(django_settings, url: str = REDIS_URL, **extra):
    """Point the store service at a fresh Redis event store; return a store on the same keys,
    whose ``delete_everything()`` and ``close()`` the caller runs when done."""
    from streams.backends.redis import RedisEventStore

    options = redis_options(url, **extra)
    django_settings.FLIPBOOK_EVENT_STORE = {"BACKEND": BACKEND, "OPTIONS": options}
    # The snapshot policy worker reads its policies from the Django database, which these
    # tests do not open: it is not part of the event store.
    django_settings.FLIPBOOK_SNAPSHOT_POLICY = {
        **(getattr(django_settings, "FLIPBOOK_SNAPSHOT_POLICY", None) or {}),
        "ENABLED": False,
    }
    return RedisEventStore(**options)


@pytest.fixture
def redis_store(settings):
    """The store service on the shared test Redis, on keys of this test only."""
    require_redis()
    store = use_redis_event_store(settings)
    yield store
    store.delete_everything()
    store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A ``redis-server`` process of a test, in its own directory, on a free port."""

    def __init__(self, directory: Path, *config: str) -> None:
        server = shutil.which("redis-server")
        if server is None:
            reason = "NEEDS REDIS: the redis-server binary is not on PATH (make services)"
            if IN_CI:
                pytest.fail(reason)
            pytest.skip(reason)
        self.binary = server
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        log = (self.directory / "redis.log").open("a")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.directory), "--save", "", *self.config],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            try:
                # A restarted server answers -LOADING while it replays its AOF.
                if client.ping() and client.info("persistence").get("loading", 0) == 0:
                    break
            except redis.RedisError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: see {self.directory}/redis.log")
            time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final flush."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None


@contextmanager
def redis_server(directory: Path, *config: str) -> Iterator[RedisServer]:
    """A private redis-server with ``config`` (command-line options), stopped at the end."""
    server = RedisServer(directory, *config)
    server.start()
    try:
        yield server
    finally:
        server.stop()
