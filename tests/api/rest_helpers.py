"""Helpers of the REST API tests: a client that sends an API key, URLs of encoded ids, keys."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from io import BytesIO
from typing import Any
from urllib.parse import quote, unquote

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.test import Client

from api.models import ApiKey
from tests.conftest import use_event_store
from tests.contracts.snapshot_store import use_stores

BASE = "/api/v1"
KEY_PREFIX_STREAMS = "tenant-a/"


def stream_url(stream_id: str, suffix: str = "") -> str:
    """The URL of a stream, its id percent-encoded as one path segment."""
    return f"{BASE}/streams/{quote(stream_id, safe='')}{suffix}"


class Api:
    """Django's test client with an API key (``key=None``: none) and JSON bodies."""

    def __init__(self, key: str | None, **defaults: Any) -> None:
        self.key = key
        self.client = Client(**defaults)

    def headers(self, extra: dict[str, str]) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return {**headers, **extra}

    def get(self, path: str, params: dict | None = None, headers=None, **environ):
        return self.client.get(path, params or {}, headers=self.headers(headers or {}), **environ)

    def post(self, path: str, body: Any = None, headers=None, **environ):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        content_type = environ.pop("content_type", "application/json")
        return self.client.post(
            path, data, content_type=content_type, headers=self.headers(headers or {}), **environ
        )

    def put(self, path: str, body: Any = None, headers=None, **environ):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        content_type = environ.pop("content_type", "application/json")
        return self.client.put(
            path, data, content_type=content_type, headers=self.headers(headers or {}), **environ
        )

    def request(self, method: str, path: str, headers=None, **environ):
        return getattr(self.client, method.lower())(path, headers=self.headers(headers or {}))

    def append(self, stream_id: str, events: list[dict], **body: Any):
        return self.post(stream_url(stream_id, "/events"), {"events": events, **body})


def events(*names: str, **fields: Any) -> list[dict]:
    return [{"name": name, **fields} for name in names]


def error_of(response) -> dict:
    """The ``error`` object of an error response, after checking the body's shape."""
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


@pytest.fixture
def keys(db_backend) -> dict[str, str]:
    """Full key texts: read, write, admin, and write/read keys restricted to tenant-a/."""
    return {
        "read": ApiKey.issue("reader", "read")[1],
        "write": ApiKey.issue("writer", "write")[1],
        "admin": ApiKey.issue("admin", "admin")[1],
        "prefix": ApiKey.issue("tenant", "write", KEY_PREFIX_STREAMS)[1],
        "prefix_read": ApiKey.issue("tenant reader", "read", KEY_PREFIX_STREAMS)[1],
    }


@pytest.fixture
def api(keys) -> Api:
    """A client with the write key."""
    return Api(keys["write"])


def use_snapshot_store(django_settings, alias: str) -> None:
    django_settings.FLIPBOOK_SNAPSHOT_STORE = {
        "BACKEND": "snapshots.backends.database.DatabaseSnapshotStore",
        "OPTIONS": {"using": alias},
    }


@pytest.fixture
def stores(db_backend, settings) -> str:
    """The event store and the snapshot store both on the database of ``db_backend`` (on
    DynamoDB and Redis: the snapshot store on the Django database beside it)."""
    if db_backend in ("dynamodb", "redis"):
        use_snapshot_store(settings, "default")
    else:
        use_stores(settings, db_backend)
    return db_backend


@pytest.fixture
def unreachable_store(db_backend, settings) -> Iterator[str]:
    """The store pointed at a database alias of the same vendor that cannot be reached (on
    DynamoDB and Redis: an endpoint where nothing listens)."""
    if db_backend == "dynamodb":
        working = settings.FLIPBOOK_EVENT_STORE
        options = {**working["OPTIONS"], "endpoint_url": "http://127.0.0.1:1", "client": None}
        settings.FLIPBOOK_EVENT_STORE = {**working, "OPTIONS": options}
        yield "unreachable"
        settings.FLIPBOOK_EVENT_STORE = working
        return
    if db_backend == "redis":
        working = settings.FLIPBOOK_EVENT_STORE
        options = {**working["OPTIONS"], "url": "redis://127.0.0.1:1/0", "socket_timeout": 2}
        settings.FLIPBOOK_EVENT_STORE = {**working, "OPTIONS": options}
        yield "unreachable"
        settings.FLIPBOOK_EVENT_STORE = working
        return
    broken = copy.deepcopy(connections[db_backend].settings_dict)
    if connections[db_backend].vendor == "sqlite":
        broken["NAME"] = "/nonexistent-flipbook-dir/flipbook.sqlite3"
    else:
        broken.update(HOST="127.0.0.1", PORT="1")
        broken["OPTIONS"] = {**broken.get("OPTIONS", {}), "connect_timeout": 2}
        if isinstance(broken["OPTIONS"].get("pool"), dict):
            broken["OPTIONS"]["pool"] = {**broken["OPTIONS"]["pool"], "timeout": 2}
    connection = load_backend(broken["ENGINE"]).DatabaseWrapper(broken, "unreachable")
    connections["unreachable"] = connection
    use_event_store(settings, "unreachable")
    try:
        yield "unreachable"
    finally:
        use_event_store(settings, db_backend)
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()  # else its pool keeps trying to connect in the background
        del connections["unreachable"]


async def through_asgi(
    method: str, path: str, body: bytes, key: str | None, *extra: tuple[bytes, bytes]
) -> dict:
    """One request through the ASGI application `serve` runs, with the raw path (and query)
    a real server passes: its status, headers and body."""
    from asgiref.testing import ApplicationCommunicator

    from flipbook_site.asgi import application

    headers = [(b"host", b"127.0.0.1")]
    if body:
        headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(body)).encode()))
    if key:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    headers.extend(extra)
    raw, _, query = path.partition("?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw),
        "raw_path": raw.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body})
    start = await communicator.receive_output(20)
    content = await communicator.receive_output(20)
    return {"status": start["status"], "headers": start["headers"], "body": content["body"]}


def wsgi_environ(
    method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> dict[str, Any]:
    """The WSGI environ `serve` makes of a request with a Bearer key (a JSON body if any)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.split("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "RAW_URI": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": "Bearer fbk_any_key",
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(body),
    }
    if method == "POST":
        environ["CONTENT_TYPE"] = "application/json"
    if method == "POST" or body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in headers:
        environ["HTTP_" + name.decode().upper()] = value.decode()
    return environ
