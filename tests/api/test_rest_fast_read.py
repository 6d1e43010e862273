"""The fast path of stream reads (api/rest/fast.py) answers exactly as the DRF view: the
same status, body and headers for pages and for every kind of error, through the ASGI
application `serve` runs; requests it must not take go through Django."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from api.models import ApiKey
from api.rest import fast
from streams import lifecycle, services
from tests.api.rest_helpers import through_asgi, wsgi_environ

pytestmark = pytest.mark.django_db(transaction=True)
# Headers that differ between any two responses.
VARYING = {b"date", b"x-request-id"}
# Sent to force Django's path: an Accept the fast path does not take, DRF negotiates to JSON.
THROUGH_DJANGO = (b"accept", b"application/json; q=1")


async def get(path: str, key: str | None, *extra: tuple[bytes, bytes]) -> dict:
    return await through_asgi("GET", path, b"", key, *extra)


def comparable(response: dict) -> tuple[int, dict, dict]:
    headers = {name: value for name, value in response["headers"] if name not in VARYING}
    return response["status"], headers, json.loads(response["body"])


@pytest.fixture
def keys():
    return {
        "write": ApiKey.issue("read-w", "write")[1],
        "read": ApiKey.issue("read-r", "read")[1],
        "prefixed": ApiKey.issue("read-p", "read", stream_prefix="mine/")[1],
    }


@pytest.fixture
def answered(monkeypatch) -> Iterator[list[bool]]:
    """Per request the fast read route was offered: whether it answered."""
    from flipbook_site import asgi

    taken: list[bool] = []
    real = fast.fast_read

    def spy(environ, body):
        response = real(environ, body)
        taken.append(response is not None)
        return response

    routes = tuple(
        (match, spy if answer is real else answer)
        for match, answer in asgi.http_application.fast_routes
    )
    assert any(answer is spy for _, answer in routes), "serve has no fast read route"
    monkeypatch.setattr(asgi.http_application, "fast_routes", routes)
    yield taken
    # No session left on the test database: the HTTP threads keep theirs.
    asgi.http_application.close()


@pytest.fixture
def stream(db_backend):
    """``a/b`` with five events, on each store (their cursors differ); ``gone``, deleted."""
    services.append_to_stream("gone", [{"name": "Opened"}], expected_version=0)
    lifecycle.delete_stream("gone")
    services.append_to_stream(
        "a/b",
        [{"name": "Moved", "payload": {"n": n, "ü": "✓"}} for n in range(5)],
        expected_version=0,
    )
    return "a%2Fb"


PAGES = [
    "",
    "?limit=2",
    "?from_version=2&to_version=4",
    "?direction=backwards&limit=3",
    "?limit=",  # empty: the default, as int_param reads it
    "?from_version=9",  # past the head: an empty page
]


@pytest.mark.asyncio
@pytest.mark.parametrize("query", PAGES)
async def test_a_page_answers_as_the_view(keys, stream, answered, query):
    path = f"/api/v1/streams/{stream}/events{query}"
    quick = await get(path, keys["read"])
    slow = await get(path, keys["read"], THROUGH_DJANGO)
    assert answered == [True, False]
    assert quick["status"] == 200, quick["body"]
    assert comparable(quick) == comparable(slow)
    body = json.loads(quick["body"])
    assert body["stream_id"] == "a/b"
    if query == "":
        assert [e["version"] for e in body["events"]] == [1, 2, 3, 4, 5]
        assert body["events"][0]["payload"] == {"n": 0, "ü": "✓"}


@pytest.mark.asyncio
async def test_the_cursor_pages_through_as_the_view(keys, stream, answered):
    seen = []
    path = f"/api/v1/streams/{stream}/events?limit=2"
    while True:
        quick = await get(path, keys["read"])
        assert comparable(quick) == comparable(await get(path, keys["read"], THROUGH_DJANGO))
        page = json.loads(quick["body"])
        seen += [e["version"] for e in page["events"]]
        if page["next_cursor"] is None:
            break
        path = f"/api/v1/streams/{stream}/events?limit=2&cursor={page['next_cursor']}"
    assert seen == [1, 2, 3, 4, 5]
    assert answered == [True, False] * 3


ERRORS = {
    "limit not a number": ("a%2Fb", "?limit=ten", "read", 400),
    "limit zero": ("a%2Fb", "?limit=0", "read", 400),
    "limit too large": ("a%2Fb", "?limit=100000", "read", 400),
    "negative version": ("a%2Fb", "?from_version=-1", "read", 400),
    "bad direction": ("a%2Fb", "?direction=sideways", "read", 400),
    "bad cursor": ("a%2Fb", "?cursor=not-a-cursor", "read", 400),
    "outside the prefix": ("a%2Fb", "", "prefixed", 403),
    "unknown key": ("a%2Fb", "", "fbk_nope_nope", 401),
    "bad stream id": ("%09tab", "", "read", 400),
    "deleted stream": ("gone", "", "read", 404),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", list(ERRORS))
async def test_errors_answer_as_the_view(keys, stream, answered, case):
    stream_id, query, key_name, status = ERRORS[case]
    key = keys.get(key_name, key_name)
    path = f"/api/v1/streams/{stream_id}/events{query}"
    quick = await get(path, key)
    slow = await get(path, key, THROUGH_DJANGO)
    assert answered == [True, False]
    assert quick["status"] == status, quick["body"]
    assert comparable(quick) == comparable(slow)


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/api/v1/streams/x/events?stream_id=y", [], b""),  # read by Django's route
        ("/api/v1/streams/x/events?since=2024-01-01T00:00:00Z", [], b""),
        ("/api/v1/streams/x/events?format=json", [], b""),
        ("/api/v1/streams/x/events?colour=red", [], b""),  # Django's 400 names the known ones
        ("/api/v1/streams/x/events?limit=1&limit=2", [], b""),  # a parameter twice
        ("/api/v1/streams/a/b/events", [], b""),  # a literal "/"
        ("/api/v1/streams/-/events", [], b""),  # the placeholder id
        ("/api/v1/streams/x/events", [(b"cookie", b"sessionid=1")], b""),
        ("/api/v1/streams/x/events", [(b"accept", b"application/x-ndjson")], b""),
        ("/api/v1/streams/x/events", [(b"host", b"evil.example")], b""),
        ("/api/v1/streams/x/events", [], b"{}"),  # a body
    ],
)
def test_requests_it_does_not_take_go_to_django(path, headers, body):
    environ = wsgi_environ("GET", path, body, headers)
    scope = {"method": "GET", "raw_path": path.split("?")[0].encode()}
    assert fast.is_fast_read(scope)
    assert fast.fast_read(environ, body) is None


@pytest.mark.asyncio
async def test_an_unknown_parameter_is_refused_by_django(keys, stream, answered):
    answer = await get(f"/api/v1/streams/{stream}/events?colour=red", keys["read"])
    assert answered == [False]
    assert answer["status"] == 400
    assert "colour" in json.loads(answer["body"])["error"]["message"]
