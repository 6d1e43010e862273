"""The event bus: WebSocket feeds catch up from the store, then go live, with no gap and no
duplicate, on the in-memory layer and on Redis, across reconnects and across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connections

from console import consumers
from streams import bus, services
from tests.conftest import IN_CI

pytestmark = pytest.mark.asyncio

REDIS_URL = os.environ.get("FLIPBOOK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BASE_DIR = Path(__file__).resolve().parents[2]
TIMEOUT = 10


def require_redis() -> None:
    """Skip (locally) or fail (CI=true) when the Redis server is missing."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        reason = f"NEEDS REDIS: {REDIS_URL} is not reachable: {exc} (set FLIPBOOK_TEST_REDIS_URL)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def redis_layers(prefix: str) -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": prefix},
        }
    }


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    """The bus on the in-memory layer, then on the Redis layer (a prefix per test)."""
    if request.param == "redis":
        require_redis()
        settings.CHANNEL_LAYERS = redis_layers(f"fbtest{uuid.uuid4().hex[:12]}")
    return request.param


@pytest.fixture
def small_pages(settings):
    settings.FLIPBOOK_BUS = {**bus.bus_settings(), "CATCH_UP_PAGE": 4}


@pytest.fixture
def read_key(db_backend):
    return issue_key("read")


def issue_key(scope: str, prefix: str = "") -> str:
    from api.models import ApiKey

    return ApiKey.issue(f"ws-{scope}-{prefix}", scope, prefix)[1]


def add(stream_id: str, count: int, category: str | None = None, tag: str = "e") -> list[int]:
    """Append ``count`` events (one commit) and return their positions."""
    events = [{"name": "Happened", "payload": {"tag": tag, "i": i}} for i in range(count)]
    result = services.append_to_stream(stream_id, events, category=category)
    return [e.position for e in result.events]


def add_in_thread(*args, **kwargs) -> list[int]:
    """``add`` from another thread (its own connection), waited for."""
    out: list[int] = []

    def run() -> None:
        try:
            out.extend(add(*args, **kwargs))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out


async def open_socket(path: str, headers=None) -> WebsocketCommunicator:
    from flipbook_site.asgi import application

    comm = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    return comm


async def subscribe(path: str, key: str, **start) -> WebsocketCommunicator:
    sep = "&" if "?" in path else "?"
    comm = await open_socket(f"{path}{sep}key={key}")
    await comm.send_json_to({"type": "subscribe", **start})
    return comm


async def until_caught_up(comm) -> tuple[list[dict], int]:
    events = []
    while True:
        message = await comm.receive_json_from(timeout=TIMEOUT)
        if message["type"] == "caught_up":
            return events, message["position"]
        assert message["type"] == "event", message
        events.append(message["event"])


async def receive_events(comm, count: int) -> list[dict]:
    events = []
    while len(events) < count:
        message = await comm.receive_json_from(timeout=TIMEOUT)
        assert message["type"] == "event", message
        events.append(message["event"])
    return events


async def assert_quiet(comm) -> None:
    assert await comm.receive_nothing(timeout=0.3), "unexpected extra message"


async def close_code(comm) -> int:
    """Skip data messages and return the close code the server sent."""
    while True:
        output = await comm.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return output.get("code")


def positions(events: list[dict]) -> list[int]:
    return [e["position"] for e in events]


# -- catch-up then live ------------------------------------------------------------------------


async def test_all_feed_catch_up_then_live_no_gap_no_duplicate(
    db_backend, layer, read_key, small_pages, monkeypatch
):
    before = await sync_to_async(add_in_thread)("feed-a", 10)
    during: list[int] = []
    real_read_all = services.read_all
    calls = 0
    tail_done = False

    def read_all_while_others_commit(**kwargs):
        # Commits land between the pages of the catch-up (then they are in the store AND
        # live: sent once), and after its last page (then they are only live).
        nonlocal calls, tail_done
        calls += 1
        page = real_read_all(**kwargs)
        last_page = len(page.events) < kwargs["limit"]
        if calls in (1, 2) or (last_page and not tail_done):
            tail_done = tail_done or last_page
            during.extend(add_in_thread("feed-b", 3))
        return page

    monkeypatch.setattr(consumers.services, "read_all", read_all_while_others_commit)
    comm = await subscribe("/ws/events", read_key, after=0)
    caught, high = await until_caught_up(comm)
    assert calls >= 3
    after = await sync_to_async(add_in_thread)("feed-a", 5)
    rest = await receive_events(comm, len(before) + len(during) + len(after) - len(caught))
    got = positions(caught) + positions(rest)
    assert got == sorted(before + during + after)  # every event, once, in order
    assert high >= max(positions(caught))
    await assert_quiet(comm)
    await comm.disconnect()


async def test_sockets_of_one_feed_share_one_store_read_per_commit(
    db_backend, layer, read_key, monkeypatch
):
    await sync_to_async(add_in_thread)("shared-a", 2)
    reads: list[dict] = []
    real_read_all = services.read_all

    def counting_read_all(**kwargs):
        reads.append(kwargs)
        return real_read_all(**kwargs)

    monkeypatch.setattr(consumers.services, "read_all", counting_read_all)
    sockets = [await subscribe("/ws/events", read_key, after=0) for _ in range(4)]
    for comm in sockets:
        caught, _ = await until_caught_up(comm)
        assert len(caught) == 2
    reads.clear()
    live = await sync_to_async(add_in_thread)("shared-b", 3)
    for comm in sockets:
        assert positions(await receive_events(comm, 3)) == live
    # One settled read of the feed served all four sockets (one per socket before FeedTail).
    assert len(reads) == 1, reads
    for comm in sockets:
        await assert_quiet(comm)
        await comm.disconnect()


async def test_stream_catch_up_then_live_with_concurrent_writer(
    db_backend, layer, read_key, small_pages, monkeypatch
):
    stream_id = "/unique/path/to/file"
    await sync_to_async(add_in_thread)(stream_id, 9)
    stop = threading.Event()
    written: list[int] = []
    real_read_stream = services.read_stream
    tail: list[int] = []

    def read_stream_then_commit(*args, **kwargs):
        page = real_read_stream(*args, **kwargs)
        if page.next_cursor is None and not tail:  # after the last page: only live
            tail.extend(add_in_thread(stream_id, 1, tag="tail"))
            written.extend(tail)
        return page

    monkeypatch.setattr(consumers.services, "read_stream", read_stream_then_commit)

    def writer() -> None:
        try:
            while not stop.is_set() and len(written) < 40:
                written.extend(add(stream_id, 1, tag="racing"))
                add("other-stream", 1)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        comm = await subscribe(
            f"/ws/streams/{quote(stream_id, safe='')}", read_key, after_version=0
        )
        caught, _ = await until_caught_up(comm)
    finally:
        stop.set()
        await sync_to_async(thread.join)()
    total = 9 + len(written)
    events = caught + await receive_events(comm, total - len(caught))
    assert [e["version"] for e in events] == list(range(1, total + 1))
    assert {e["stream_id"] for e in events} == {stream_id}
    await sync_to_async(add_in_thread)(stream_id, 2)
    live = await receive_events(comm, 2)
    assert [e["version"] for e in live] == [total + 1, total + 2]
    await assert_quiet(comm)
    await comm.disconnect()


async def test_category_feed_has_only_its_category(db_backend, read_key):
    await sync_to_async(add_in_thread)("wallet-1", 2, category="wallet")
    await sync_to_async(add_in_thread)("order-1", 2, category="order")
    comm = await subscribe("/ws/categories/wallet", read_key, after=0)
    caught, _ = await until_caught_up(comm)
    assert [e["stream_id"] for e in caught] == ["wallet-1", "wallet-1"]
    await sync_to_async(add_in_thread)("order-1", 1)
    await sync_to_async(add_in_thread)("wallet-2", 1, category="wallet")
    live = await receive_events(comm, 1)
    assert live[0]["stream_id"] == "wallet-2"
    await assert_quiet(comm)
    await comm.disconnect()


async def test_stream_by_query_parameter(db_backend, read_key):
    await sync_to_async(add_in_thread)("q/stream", 2)
    comm = await subscribe(f"/ws/streams?stream_id={quote('q/stream', safe='')}", read_key)
    caught, _ = await until_caught_up(comm)
    assert [e["version"] for e in caught] == [1, 2]
    await comm.disconnect()


# -- reconnect ---------------------------------------------------------------------------------


async def test_reconnect_with_last_position_gets_exactly_the_missed_events(db_backend, read_key):
    await sync_to_async(add_in_thread)("r", 3)
    comm = await subscribe("/ws/events", read_key, after=0)
    caught, _ = await until_caught_up(comm)
    await sync_to_async(add_in_thread)("r", 2)
    live = await receive_events(comm, 2)
    last = positions(caught + live)[-1]
    await comm.disconnect()
    missed = await sync_to_async(add_in_thread)("r", 4)
    comm = await subscribe("/ws/events", read_key, after=last)
    again, _ = await until_caught_up(comm)
    assert positions(again) == missed
    await comm.disconnect()

    # The same by version on the stream.
    comm = await subscribe("/ws/streams/r", read_key, after_version=7)
    again, _ = await until_caught_up(comm)
    assert [e["version"] for e in again] == [8, 9]
    await assert_quiet(comm)
    await comm.disconnect()


async def test_overflow_tells_the_client_and_closes(db_backend, read_key, settings, monkeypatch):
    settings.FLIPBOOK_BUS = {**bus.bus_settings(), "QUEUE_SIZE": 3}
    real_read_all = services.read_all

    def slow_catch_up(**kwargs):
        page = real_read_all(**kwargs)
        add_in_thread("flood", 10)  # more live events than the buffer holds, mid catch-up
        return page

    monkeypatch.setattr(consumers.services, "read_all", slow_catch_up)
    comm = await subscribe("/ws/events", read_key, after=0)
    messages = []
    while True:
        output = await comm.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            break
        messages.append(output["text"])
    assert output["code"] == consumers.CLOSE_OVERFLOW
    assert messages[-1] == '{"type": "overflow"}'
    # The client catches up from the store instead.
    monkeypatch.setattr(consumers.services, "read_all", real_read_all)
    comm = await subscribe("/ws/events", read_key, after=0)
    caught, _ = await until_caught_up(comm)
    assert len(caught) == 10
    await comm.disconnect()


# -- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "key_scope", "key_prefix", "code"),
    [
        ("/ws/events", None, "", consumers.CLOSE_UNAUTHENTICATED),
        ("/ws/events?key=fbk_nope_nope", None, "", consumers.CLOSE_UNAUTHENTICATED),
        ("/ws/events", "read", "tenant-a/", consumers.CLOSE_FORBIDDEN),
        ("/ws/categories/wallet", "read", "tenant-a/", consumers.CLOSE_FORBIDDEN),
        ("/ws/streams/tenant-b%2Fx", "read", "tenant-a/", consumers.CLOSE_FORBIDDEN),
    ],
)
async def test_refusals(transactional_db, path, key_scope, key_prefix, code):
    if key_scope is not None:
        key = await sync_to_async(issue_key)(key_scope, key_prefix)
        path = f"{path}?key={key}"
    comm = await open_socket(path)
    assert await close_code(comm) == code


async def test_bearer_header_prefix_key_and_session(transactional_db):
    from django.contrib.auth.models import User
    from django.test import Client

    key = await sync_to_async(issue_key)("write", "tenant-a/")
    headers = [(b"authorization", f"Bearer {key}".encode())]
    comm = await open_socket("/ws/streams/tenant-a%2Fx", headers=headers)
    await comm.send_json_to({"type": "subscribe", "after_version": 0})
    assert await until_caught_up(comm) == ([], 0)
    await comm.disconnect()

    def session_cookie() -> str:
        user = User.objects.create_user("viewer", password="x")
        client = Client()
        client.force_login(user)
        return client.cookies[django_settings.SESSION_COOKIE_NAME].value

    cookie = await sync_to_async(session_cookie)()
    headers = [(b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode())]
    comm = await open_socket("/ws/events", headers=headers)
    await comm.send_json_to({"type": "subscribe", "after": 0})
    assert await until_caught_up(comm) == ([], 0)
    await comm.disconnect()


async def test_browser_from_another_site_is_refused(settings):
    from flipbook_site import asgi

    settings.ALLOWED_HOSTS = ["flipbook.example"]
    app = asgi._websocket_application()
    comm = WebsocketCommunicator(app, "/ws/events", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert not connected


async def test_bad_subscribe_is_refused(transactional_db):
    read_key = await sync_to_async(issue_key)("read")
    comm = await open_socket(f"/ws/events?key={read_key}")
    await comm.send_json_to({"type": "subscribe", "after": -1})
    assert await close_code(comm) == consumers.CLOSE_BAD_REQUEST


# -- across processes --------------------------------------------------------------------------


def database_url(alias: str) -> str:
    db = connections[alias].settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


async def test_commit_in_another_process_reaches_a_socket(db_backend, read_key, settings):
    require_redis()
    prefix = f"fbtest{uuid.uuid4().hex[:12]}"
    settings.CHANNEL_LAYERS = redis_layers(prefix)
    await sync_to_async(add_in_thread)("remote", 1)
    comm = await subscribe("/ws/streams/remote", read_key, after_version=0)
    caught, _ = await until_caught_up(comm)
    assert [e["version"] for e in caught] == [1]

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flipbook_site.settings",
        "FLIPBOOK_DATABASE_URL": database_url(db_backend),
        "FLIPBOOK_REDIS_URL": REDIS_URL,
        "FLIPBOOK_BUS_PREFIX": prefix,
        "FLIPBOOK_LOG_LEVEL": "WARNING",
    }
    script = (
        "from streams import services; "
        "services.append_to_stream('remote', [{'name': 'FromAfar', 'payload': {'pid': 1}}])"
    )
    done = await sync_to_async(subprocess.run)(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (event,) = await receive_events(comm, 1)
    assert (event["stream_id"], event["version"], event["name"]) == ("remote", 2, "FromAfar")
    await comm.disconnect()
