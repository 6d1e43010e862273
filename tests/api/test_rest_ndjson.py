"""Long reads stream as NDJSON, one event a line, read from the store as the body is sent."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

import json
import warnings

from asgiref.sync import async_to_sync
from django.test import AsyncClient

from streams import services
from streams.exceptions import Unavailable
from tests.api.conftest import Capabilities
from tests.api.rest_helpers import BASE, api, error_of, events, keys, stream_url  # noqa: F401

NDJSON = {"Accept": "application/x-ndjson"}


def lines(response) -> list[dict]:
    assert response["Content-Type"] == "application/x-ndjson"
    assert response.streaming
    body = b"".join(response.streaming_content)
    assert body == b"" or body.endswith(b"\n")
    return [json.loads(line) for line in body.splitlines()]


def fill(api, stream_id: str, count: int, capabilities: Capabilities) -> None:
    size = min(1000, capabilities.max_events_per_commit or 1000)
    for start in range(0, count, size):
        batch = [{"name": f"E{i}"} for i in range(start, min(count, start + size))]
        assert api.append(stream_id, batch).status_code == 201


def test_stream_and_all_feed_as_ndjson_lazily(api, monkeypatch, capabilities):
    fill(api, "big", 2500, capabilities)
    pulled = []
    iter_stream = services.iter_stream

    def counting(*args, **kwargs):
        for event in iter_stream(*args, **kwargs):  # the service reads a batch at a time
            pulled.append(event.version)
            yield event

    monkeypatch.setattr(services, "iter_stream", counting)
    response = api.get(stream_url("big", "/events"), headers=NDJSON)
    assert response.status_code == 200
    assert pulled == [1]  # only the first event is read before the body is consumed
    chunks = list(response.streaming_content)
    assert len(chunks) > 1  # sent in pieces, not built whole
    got = [json.loads(line) for line in b"".join(chunks).splitlines()]
    assert [e["version"] for e in got] == list(range(1, 2501))
    monkeypatch.undo()

    ranged = api.get(
        stream_url("big", "/events"),
        {"from_version": 10, "to_version": 20, "direction": "backwards", "format": "ndjson"},
    )
    assert [e["version"] for e in lines(ranged)] == list(range(20, 9, -1))
    capped = api.get(stream_url("big", "/events"), {"limit": 3}, headers=NDJSON)
    assert [e["version"] for e in lines(capped)] == [1, 2, 3]
    empty = api.get(stream_url("nothing", "/events"), headers=NDJSON)
    assert empty.status_code == 200 and lines(empty) == []

    api.append("y", events("Other"), category="cy")
    everything = lines(api.get(f"{BASE}/events", headers=NDJSON))
    assert len(everything) == 2501
    positions = [e["position"] for e in everything]
    assert positions == sorted(positions)
    after = lines(api.get(f"{BASE}/events", {"after": positions[2499]}, headers=NDJSON))
    assert [e["stream_id"] for e in after] == ["y"]
    only_y = lines(api.get(f"{BASE}/events?category=cy&name=Other&format=ndjson"))
    assert [e["name"] for e in only_y] == ["Other"]


def test_ndjson_errors_are_json_before_the_first_line_and_a_last_line_after(api, monkeypatch):
    for path, params, code in (
        (stream_url("s", "/events"), {"direction": "up"}, 400),
        (stream_url("s", "/events"), {"cursor": "abc"}, 400),
        (f"{BASE}/events", {"category": ""}, 400),
    ):
        response = api.get(path, params, headers=NDJSON)
        assert response.status_code == code, params
        assert error_of(response)["code"] == "validation_error"

    api.append("s", events("A", "B"))

    def failing(*args, **kwargs):
        yield from services.read_stream("s").items
        raise Unavailable()

    monkeypatch.setattr(services, "iter_stream", failing)
    got = lines(api.get(stream_url("s", "/events"), headers=NDJSON))
    assert [e.get("name") for e in got[:2]] == ["A", "B"]
    assert got[2]["error"]["code"] == "unavailable"


def test_ndjson_streams_asynchronously_under_asgi(api, keys, capabilities):
    fill(api, "a", 1500, capabilities)
    client = AsyncClient()
    headers = {"Authorization": f"Bearer {keys['read']}", **NDJSON}

    async def fetch() -> tuple[bool, bytes]:
        response = await client.get(stream_url("a", "/events"), headers=headers)
        assert response.status_code == 200, response.content
        body = b"".join([chunk async for chunk in response])
        return response.is_async, body

    with warnings.catch_warnings():
        # Django warns when it must read a synchronous iterator into memory under ASGI.
        warnings.simplefilter("error")
        is_async, body = async_to_sync(fetch)()
    assert is_async
    assert [json.loads(line)["version"] for line in body.splitlines()] == list(range(1, 1501))
