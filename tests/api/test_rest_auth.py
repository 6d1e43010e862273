"""Who may do what: no key, read, write, admin and stream-prefix keys on every endpoint."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

from django.test import Client

from tests.api.rest_helpers import (  # noqa: F401
    BASE,
    KEY_PREFIX_STREAMS,
    Api,
    error_of,
    events,
    keys,
    stream_url,
)

MINE = KEY_PREFIX_STREAMS + "doc"
OTHER = "tenant-b/doc"


def calls(stream_id: str) -> dict[str, tuple]:
    """Every endpoint, as (method, path, body)."""
    return {
        "list": ("GET", f"{BASE}/streams/", None),
        "info": ("GET", stream_url(stream_id), None),
        "read": ("GET", stream_url(stream_id, "/events"), None),
        "latest": ("GET", stream_url(stream_id, "/events/latest"), None),
        "feed": ("GET", f"{BASE}/events", None),
        "append": ("POST", stream_url(stream_id, "/events"), {"events": events("A")}),
        "commit": (
            "POST",
            f"{BASE}/commits",
            {"streams": [{"stream_id": stream_id, "events": events("A")}]},
        ),
    }


def status(api: Api, call: tuple) -> int:
    method, path, body = call
    response = api.get(path) if method == "GET" else api.post(path, body)
    if response.status_code >= 400:
        error_of(response)  # every refusal has the one error body
    return response.status_code


def test_auth_matrix(keys):
    Api(keys["admin"]).append(MINE, events("Seed"))
    Api(keys["admin"]).append(OTHER, events("Seed"))
    ok_read, ok_write = 200, 201
    expected = {
        # key: {call: status} on the stream MINE, then on OTHER
        None: ({c: 401 for c in calls(MINE)}, {c: 401 for c in calls(OTHER)}),
        "read": (
            {"list": 200, "info": 200, "read": 200, "latest": 200, "feed": 200}
            | {"append": 403, "commit": 403},
            {"list": 200, "info": 200, "read": 200, "latest": 200, "feed": 200}
            | {"append": 403, "commit": 403},
        ),
        "write": (
            {c: ok_read for c in ("list", "info", "read", "latest", "feed")}
            | {"append": ok_write, "commit": ok_write},
            {c: ok_read for c in ("list", "info", "read", "latest", "feed")}
            | {"append": ok_write, "commit": ok_write},
        ),
        "admin": (
            {c: ok_read for c in ("list", "info", "read", "latest", "feed")}
            | {"append": ok_write, "commit": ok_write},
            {c: ok_read for c in ("list", "info", "read", "latest", "feed")}
            | {"append": ok_write, "commit": ok_write},
        ),
        "prefix": (
            {"list": 200, "info": 200, "read": 200, "latest": 200, "feed": 403}
            | {"append": ok_write, "commit": ok_write},
            {c: 403 for c in ("info", "read", "latest", "feed", "append", "commit")}
            | {"list": 200},
        ),
        "prefix_read": (
            {"list": 200, "info": 200, "read": 200, "latest": 200, "feed": 403}
            | {"append": 403, "commit": 403},
            {c: 403 for c in ("info", "read", "latest", "feed", "append", "commit")}
            | {"list": 200},
        ),
    }
    for key_name, per_stream in expected.items():
        api = Api(keys[key_name] if key_name else None)
        for stream_id, wanted in zip((MINE, OTHER), per_stream, strict=True):
            got = {name: status(api, call) for name, call in calls(stream_id).items()}
            assert got == wanted, (key_name, stream_id)

    api = Api(keys["prefix"])
    mine = KEY_PREFIX_STREAMS + "new"
    body = {
        "streams": [
            {"stream_id": mine, "events": events("A")},
            {"stream_id": OTHER, "events": events("B")},
        ]
    }
    response = api.post(f"{BASE}/commits", body)
    assert response.status_code == 403
    assert error_of(response)["details"]["stream_id"] == OTHER
    assert api.get(stream_url(mine)).status_code == 404  # nothing of the commit was stored


def test_prefix_key_lists_only_its_streams(keys):
    admin = Api(keys["admin"])
    for stream_id in (MINE, KEY_PREFIX_STREAMS + "img", OTHER, "tenant-a-lookalike"):
        admin.append(stream_id, events("A"))
    api = Api(keys["prefix"])

    def listed(**params) -> list[str]:
        response = api.get(f"{BASE}/streams/", params)
        assert response.status_code == 200
        return [s["stream_id"] for s in response.json()["streams"]]

    mine = [MINE, KEY_PREFIX_STREAMS + "img"]
    assert listed() == mine
    assert listed(prefix="tenant") == mine  # a wider prefix narrows to the key's
    assert listed(prefix=KEY_PREFIX_STREAMS + "i") == [KEY_PREFIX_STREAMS + "img"]
    assert listed(prefix="tenant-b/") == []
    assert [s["stream_id"] for s in admin.get(f"{BASE}/streams/").json()["streams"]] == sorted(
        [*mine, OTHER, "tenant-a-lookalike"]
    )


def test_ops_schema_and_docs_need_no_key():
    client = Client()
    for path in ("/healthz", f"{BASE}/schema/", f"{BASE}/docs/", f"{BASE}/redoc/"):
        assert client.get(path).status_code == 200, path
