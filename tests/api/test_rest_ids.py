"""Stream ids with slashes, spaces, %, ?, # and unicode resolve on every stream route.

Ids travel percent-encoded as one path segment. Servers that pass the raw path (ASGI
raw_path, WSGI RAW_URI/REQUEST_URI) route every id unambiguously; behind a server that only
gives the decoded path (Django's test client, runserver), the info of an id ending in
"/events" or "/events/latest" is reached with ?stream_id= (see api/rest/routing.py)."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

from urllib.parse import quote, unquote

from asgiref.sync import async_to_sync
from django.test import AsyncClient

from tests.api.rest_helpers import BASE, Api, api, error_of, events, keys, stream_url  # noqa: F401

IDS = [
    "/unique/path/to/file",
    "a/events",
    "a/events/latest",
    "events",
    "events/latest",
    "with space ",
    "100%",
    "%2F",
    "what?x=1&y",
    "hash#tag",
    "ünïcødé/日本語/🙂",
    "-",
    "a//b/",
    "a+b;c=d",
]
AMBIGUOUS_WHEN_DECODED = {"a/events", "a/events/latest"}


def raw(path: str) -> dict[str, str]:
    """The environ a raw-path WSGI server (gunicorn, uWSGI) adds."""
    return {"REQUEST_URI": path, "RAW_URI": path}


def test_ids_resolve_with_the_raw_path(api):
    for stream_id in IDS:
        events_url = stream_url(stream_id, "/events")
        appended = api.post(events_url, {"events": events("A", "B")}, **raw(events_url))
        assert appended.status_code == 201, stream_id
        assert appended.json()["stream_id"] == stream_id
        info_url = stream_url(stream_id)
        info = api.get(info_url, **raw(info_url))
        assert info.status_code == 200, stream_id
        assert info.json()["stream_id"] == stream_id
        assert info.json()["event_count"] == 2
        read = api.get(events_url, **raw(events_url)).json()
        assert read["stream_id"] == stream_id
        assert [e["stream_id"] for e in read["events"]] == [stream_id, stream_id]
        latest_url = stream_url(stream_id, "/events/latest")
        latest = api.get(latest_url, **raw(latest_url)).json()
        assert (latest["stream_id"], latest["name"]) == (stream_id, "B")
    listed = api.get(f"{BASE}/streams/", {"limit": 100}).json()["streams"]
    assert sorted(s["stream_id"] for s in listed) == sorted(IDS)


def test_ids_resolve_with_the_decoded_path_and_the_query_parameter(api):
    for stream_id in IDS:
        assert api.append(stream_id, events("A", "B")).status_code == 201, stream_id
        read = api.get(stream_url(stream_id, "/events")).json()
        assert [e["stream_id"] for e in read["events"]] == [stream_id, stream_id]
        latest = api.get(stream_url(stream_id, "/events/latest")).json()
        assert (latest["stream_id"], latest["name"]) == (stream_id, "B")
        if stream_id not in AMBIGUOUS_WHEN_DECODED:
            assert api.get(stream_url(stream_id)).json()["stream_id"] == stream_id
    # Decoded, "a%2Fevents" is "a/events": the events of "a", which has none.
    assert api.get(stream_url("a/events")).json()["events"] == []
    for stream_id in AMBIGUOUS_WHEN_DECODED:
        info = api.get(f"{BASE}/streams/-", {"stream_id": stream_id})
        assert info.status_code == 200
        assert info.json()["stream_id"] == stream_id

    stream_id = "a/events/events"
    created = api.post(
        f"{BASE}/streams/-/events?stream_id={quote(stream_id)}", {"events": events("A")}
    )
    assert created.json()["stream_id"] == stream_id
    read = api.get(f"{BASE}/streams/-/events", {"stream_id": stream_id}).json()
    assert [e["name"] for e in read["events"]] == ["A"]
    latest = api.get(f"{BASE}/streams/-/events/latest", {"stream_id": stream_id}).json()
    assert latest["stream_id"] == stream_id
    both = api.get(f"{BASE}/streams/x", {"stream_id": stream_id})
    assert both.status_code == 400
    assert error_of(both)["details"]["field"] == "stream_id"
    for path in (
        f"{BASE}/streams/%01bad",
        f"{BASE}/streams/{'x' * 300}",
        f"{BASE}/streams//events",
    ):
        response = api.get(path)
        assert response.status_code == 400, path
        assert error_of(response)["code"] == "validation_error"


def test_ids_resolve_with_the_asgi_raw_path(api, keys):
    stream_id = "a/events"
    api.append(stream_id, events("A"))
    path = stream_url(stream_id)
    scope = {
        "method": "GET",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {keys['read']}".encode()),
        ],
    }
    response = async_to_sync(AsyncClient().request)(**scope)
    assert response.status_code == 200
    assert response.json()["stream_id"] == stream_id
    assert response.json()["event_count"] == 1  # the stream's info, not the events of "a"
