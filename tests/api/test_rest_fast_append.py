"""The fast path of one-stream appends (api/rest/fast.py) answers exactly as the DRF view:
the same status, body and headers for successes and for every kind of error, through the
ASGI application `serve` runs; requests it must not take go through Django."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections

from api.auth import authenticate_key
from api.models import ApiKey
from api.rest import fast
from streams import services
from tests.api.rest_helpers import through_asgi, wsgi_environ

pytestmark = pytest.mark.django_db(transaction=True)
# Headers that differ between any two responses.
VARYING = {b"date", b"x-request-id"}
# Sent to force Django's path: an Accept the fast path does not take, DRF negotiates to JSON.
THROUGH_DJANGO = (b"accept", b"application/json; q=1")


async def post(path: str, body: bytes, key: str | None, *extra: tuple[bytes, bytes]) -> dict:
    return await through_asgi("POST", path, body, key, *extra)


def comparable(response: dict) -> tuple[int, dict, dict]:
    headers = {name: value for name, value in response["headers"] if name not in VARYING}
    body = json.loads(response["body"])
    for event in body.get("events", []):  # store-assigned per event
        event.pop("position", None)
        event.pop("recorded_at", None)
    return response["status"], headers, body


@pytest.fixture
def keys():
    write = ApiKey.issue("fast-w", "write")[1]
    read = ApiKey.issue("fast-r", "read")[1]
    prefixed = ApiKey.issue("fast-p", "write", stream_prefix="mine/")[1]
    return {"write": write, "read": read, "prefixed": prefixed}


def append_body(expected, ids: list[str], **extra) -> bytes:
    events = [{"name": "Moved", "payload": {"n": n}, "id": i} for n, i in enumerate(ids)]
    return json.dumps({"expected_version": expected, "events": events, **extra}).encode()


@dataclass
class Taken:
    path: str  # "thread" or "loop"
    answered: list[bool] = field(default_factory=list)  # per request: the fast path answered


@pytest.fixture
def path_name(db_backend) -> str:
    # The store answers on an event loop on PostgreSQL only: SQLite shows the thread's path.
    return "loop" if db_backend == "postgres" else "thread"


@pytest_asyncio.fixture
async def fast_path(path_name, keys, monkeypatch):
    """Which fast path answers: on a thread (any store), or on the event loop (PostgreSQL,
    a key verified recently), as `serve` turns on. Yields what the fast path answered."""
    from flipbook_site import asgi
    from streams.backends import get_event_store

    taken = Taken(path_name)
    app = asgi.http_application
    if path_name == "thread":
        real = fast.fast_append

        def spy(environ, body):
            response = real(environ, body)
            taken.answered.append(response is not None)
            return response

        monkeypatch.setattr(app, "fast_routes", ((fast.is_fast_append, spy),))
        yield taken
        return

    async def loop_spy(environ, body, offload):
        response = await fast.fast_append_async(environ, body, offload)
        taken.answered.append(response is not None)
        return response

    monkeypatch.setattr(app, "loop_routes", ((fast.is_fast_append, loop_spy),))
    monkeypatch.setattr(app, "loop_routes_on", True)
    for key in keys.values():  # verified once, as the thread's path does on a first call
        await sync_to_async(authenticate_key)(key)
    try:
        yield taken
    finally:
        await get_event_store().close_async()
        # No session left on the test database: the HTTP threads' and asgiref's.
        await sync_to_async(app.close)()
        await sync_to_async(connections.close_all)()


@pytest.mark.asyncio
async def test_a_fast_append_answers_as_the_view(keys, fast_path):
    taken = fast_path.answered
    ids_fast, ids_django = [str(uuid.uuid4())], [str(uuid.uuid4())]
    quick = await post("/api/v1/streams/a%2Fb/events", append_body(0, ids_fast), keys["write"])
    slow = await post(
        "/api/v1/streams/c%2Fd/events", append_body(0, ids_django), keys["write"], THROUGH_DJANGO
    )
    assert taken == [True, False]
    status, headers, body = comparable(quick)
    assert (status, headers) == comparable(slow)[:2]
    assert status == 201
    assert body["stream_id"] == "a/b" and body["version"] == 1
    assert body["events"][0]["id"] == ids_fast[0]
    stored = await sync_to_async(services.read_stream)("a/b")
    assert [str(e.id) for e in stored.items] == ids_fast
    # An identical re-send: 200 and the original result, on both paths (the loop's path
    # leaves it to the thread's, which reads the stored original).
    again = await post("/api/v1/streams/a%2Fb/events", append_body(0, ids_fast), keys["write"])
    assert again["status"] == 200 and json.loads(again["body"])["duplicate"] is True
    assert taken[-1] is (fast_path.path == "thread")


ERRORS = {
    "version conflict": ("s1", lambda k: append_body(5, [str(uuid.uuid4())]), "write", 409),
    "version conflict, no id": (
        "s10",
        lambda k: json.dumps({"expected_version": 5, "events": [{"name": "Moved"}]}).encode(),
        "write",
        409,
    ),
    "bad JSON": ("s2", lambda k: b'{"events": [', "write", 400),
    "NaN": ("s3", lambda k: b'{"expected_version": NaN, "events": []}', "write", 400),
    "not an object": ("s4", lambda k: b"[1, 2]", "write", 400),
    "unknown field": ("s5", lambda k: append_body(0, [str(uuid.uuid4())], color=1), "write", 400),
    "bad event": ("s6", lambda k: b'{"events": [{"name": ""}]}', "write", 400),
    "read key": ("s7", lambda k: append_body(0, [str(uuid.uuid4())]), "read", 403),
    "outside the prefix": ("s8", lambda k: append_body(0, [str(uuid.uuid4())]), "prefixed", 403),
    "unknown key": ("s9", lambda k: append_body(0, [str(uuid.uuid4())]), "fbk_nope_nope", 401),
    "bad stream id": ("%09tab", lambda k: append_body(0, [str(uuid.uuid4())]), "write", 400),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", list(ERRORS))
async def test_errors_answer_as_the_view(keys, case, fast_path):
    stream, body_of, key_name, status = ERRORS[case]
    key = keys.get(key_name, key_name)
    if case.startswith("version conflict"):
        await sync_to_async(services.append_to_stream)(
            stream, [{"name": "Opened", "payload": {}}], expected_version=0
        )
    body = body_of(key)
    quick = await post(f"/api/v1/streams/{stream}/events", body, key)
    slow = await post(f"/api/v1/streams/{stream}/events", body, key, THROUGH_DJANGO)
    assert quick["status"] == status, quick["body"]
    assert comparable(quick) == comparable(slow)
    # The fast path taken answers every error, but the loop's leaves to the thread's a key
    # it has not verified and a refusal of ids the client chose (maybe an identical re-send).
    on_thread = case in ("unknown key", "version conflict")
    assert fast_path.answered[0] is (fast_path.path == "thread" or not on_thread)


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/api/v1/streams/x/events?stream_id=y", [], b'{"events": []}'),  # a query string
        ("/api/v1/streams/a/b/events", [], b'{"events": []}'),  # a literal "/"
        ("/api/v1/streams/-/events", [], b'{"events": []}'),  # the placeholder id
        ("/api/v1/streams/x/events", [(b"cookie", b"sessionid=1")], b'{"events": []}'),
        ("/api/v1/streams/x/events", [(b"accept", b"application/x-ndjson")], b"{}"),
        ("/api/v1/streams/x/events", [(b"host", b"evil.example")], b'{"events": []}'),
        ("/api/v1/streams/x/events", [], b""),  # empty: DRF reads it as {}
    ],
)
def test_requests_it_does_not_take_go_to_django(path, headers, body):
    environ = wsgi_environ("POST", path, body, headers)
    scope = {
        "method": "POST",
        "raw_path": path.split("?")[0].encode(),
        "query_string": path.partition("?")[2].encode(),
    }
    assert not fast.is_fast_append(scope) or fast.fast_append(environ, body) is None


@pytest.mark.asyncio
async def test_an_id_of_any_printable_characters(keys, fast_path):
    stream_id = "ids-ün ï/c✓ ?#%"
    quoted = "ids-%C3%BCn%20%C3%AF%2Fc%E2%9C%93%20%3F%23%25"
    path = f"/api/v1/streams/{quoted}/events"
    # A key not verified yet: the loop's path leaves it to the thread's, which must see the
    # request as the server passed it.
    fresh = await sync_to_async(ApiKey.issue)("fast-fresh", "write")
    first = await post(path, append_body("any", [str(uuid.uuid4())]), fresh[1])
    assert first["status"] == 201, first["body"]
    answer = await post(path, append_body("any", [str(uuid.uuid4())]), fresh[1])
    assert answer["status"] == 201, answer["body"]
    assert [json.loads(a["body"])["stream_id"] for a in (first, answer)] == [stream_id] * 2
    assert [json.loads(a["body"])["version"] for a in (first, answer)] == [1, 2]
    # The thread's path took the first (it verifies keys), the loop's the second.
    assert fast_path.answered == ([True, True] if fast_path.path == "thread" else [False, True])
