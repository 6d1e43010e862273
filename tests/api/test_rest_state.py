"""REST v1 state and snapshot endpoints on SQLite and PostgreSQL: the reduced state by version
and by time, the snapshot store (list, set, latest, at-or-before), and their error codes."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from snapshots import services as snapshots
from snapshots.demo_reducers import WALLET_RULES
from snapshots.models import Category
from tests.api.rest_helpers import (  # noqa: F401
    BASE,
    KEY_PREFIX_STREAMS,
    Api,
    api,
    error_of,
    events,
    keys,
    stores,
    stream_url,
)
from tests.waiting import wait_until

WALLET = "wallet/alice"
WALLET_EVENTS = [
    {"name": "Opened", "payload": {"owner": "alice", "currency": "EUR"}},
    {"name": "Deposited", "payload": {"amount": 100}},
    {"name": "Withdrawn", "payload": {"amount": 30}},
]


def boom_on_2(state, event):
    if event.version == 2:
        raise ValueError("two is right out")
    return {"n": (state or {}).get("n", 0) + 1}


@pytest.fixture
def wallet(api, stores):
    Category.objects.create(
        name="wallet", reducer="python", python_path="snapshots.demo_reducers.wallet"
    )
    response = api.append(WALLET, WALLET_EVENTS, expected_version=0, category="wallet")
    assert response.status_code == 201
    return WALLET


def test_wallet_balance_is_70_at_version_3(api, wallet):
    response = api.get(stream_url(wallet, "/state"), {"version": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == {"owner": "alice", "currency": "EUR", "balance": 70}
    assert body["stream_id"] == wallet and body["version"] == 3
    assert body["category"] == "wallet" and body["reducer"] == "python"
    assert body["revision"] == "python:snapshots.demo_reducers.wallet:1"
    assert body["snapshot"] is None and body["events_read"] == 3
    assert body["at"] is None and body["known_at"] is None
    assert api.get(stream_url(wallet, "/state")).json()["state"]["balance"] == 70  # latest
    assert api.get(stream_url(wallet, "/state"), {"version": 0}).json()["version"] == 3
    assert api.get(stream_url(wallet, "/state"), {"version": 2}).json()["state"]["balance"] == 100

    # The declarative rules give the same state.
    Category.objects.filter(name="wallet").update(reducer="declarative", rules=WALLET_RULES)
    body = api.get(stream_url(wallet, "/state"), {"version": 3}).json()
    assert body["state"]["balance"] == 70 and body["reducer"] == "declarative"


def test_state_starts_from_a_snapshot_of_the_reducer_revision(api, wallet):
    revision = api.get(stream_url(wallet, "/state")).json()["revision"]
    put = api.put(
        stream_url(wallet, "/snapshots"),
        {"version": 2, "payload": {"owner": "alice", "balance": 100}, "revision": revision},
    )
    assert put.status_code == 201
    body = api.get(stream_url(wallet, "/state"), {"version": 3}).json()
    assert body["state"] == {"owner": "alice", "balance": 70}
    assert body["events_read"] == 1
    assert body["snapshot"]["version"] == 2 and body["snapshot"]["revision"] == revision
    assert "payload" not in body["snapshot"]


def test_state_at_a_time_and_as_known_at_a_time(api, stores):
    first = api.append(
        "t", [{"name": "A", "payload": {"a": 1}, "timestamp": "2024-01-02T00:00:00Z"}]
    )
    # B is recorded strictly after A: the store stamps commits with this process's clock.
    recorded_a = datetime.fromisoformat(first.json()["events"][0]["recorded_at"])
    wait_until(lambda: datetime.now(UTC) > recorded_a, timeout=1, interval=0.001)
    second = api.append(
        "t", [{"name": "B", "payload": {"b": 2}, "timestamp": "2024-01-01T00:00:00Z"}]
    )
    recorded_b = second.json()["events"][0]["recorded_at"]
    late = api.get(stream_url("t", "/state"), {"at": "2024-06-01T00:00:00Z"}).json()
    assert late["state"] == {"a": 1, "b": 2} and late["version"] == 2
    assert late["at"] == "2024-06-01T00:00:00+00:00"
    # An unencoded "+" of an offset arrives as a space: read back as an offset.
    early = api.get(stream_url("t", "/state"), {"at": "2024-01-01T12:00:00 00:00"}).json()
    assert early["state"] == {"b": 2} and early["events_applied"] == 1
    before_b = api.get(
        stream_url("t", "/state"),
        {"at": "2024-06-01T00:00:00Z", "known_at": "2024-01-01T00:00:00Z"},
    ).json()
    assert before_b["state"] == {} and before_b["version"] == 0
    assert before_b["known_at"] == "2024-01-01T00:00:00+00:00"
    known = api.get(
        stream_url("t", "/state"), {"at": "2024-06-01T00:00:00Z", "known_at": recorded_b}
    ).json()
    assert known["state"] == {"a": 1, "b": 2}


def test_snapshots_set_list_latest_and_at_or_before(api, stores):
    api.append("/unique/path/to/file", events("A", "B", "C", "D"))
    url = stream_url("/unique/path/to/file", "/snapshots")
    assert api.get(url).json() == {"snapshots": []}
    created = api.put(
        url,
        {
            "version": 2,
            "payload": {"size": 2},
            "label": "nightly",
            "timestamp": "2024-05-01T10:00:00+02:00",
            "ttl": 3600,
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["stream_id"] == "/unique/path/to/file" and body["version"] == 2
    assert body["payload"] == {"size": 2} and body["label"] == "nightly"
    assert body["revision"] == "client" and body["recorded_at"] is None
    assert body["timestamp"] == "2024-05-01T08:00:00+00:00"
    assert body["created_at"] is not None and body["expires_at"] is not None
    assert api.put(url, {"version": 4, "payload": [4], "revision": "mine:1"}).status_code == 201
    replaced = api.put(url, {"version": 2, "payload": {"size": 22}, "label": "again"})
    assert replaced.status_code == 201

    listed = api.get(url).json()["snapshots"]
    assert [(s["version"], s["revision"], s["label"]) for s in listed] == [
        (2, "client", "again"),
        (4, "mine:1", ""),
    ]
    assert all("payload" not in s for s in listed)
    only = api.get(url, {"revision": "mine:1"}).json()["snapshots"]
    assert [s["version"] for s in only] == [4]

    latest_url = stream_url("/unique/path/to/file", "/snapshots/latest")
    latest = api.get(latest_url)
    assert latest.status_code == 200
    assert (latest.json()["version"], latest.json()["payload"]) == (4, [4])
    at_3 = api.get(latest_url, {"version": 3}).json()
    assert (at_3["version"], at_3["payload"]) == (2, {"size": 22})
    of_client = api.get(latest_url, {"revision": "client"}).json()
    assert of_client["version"] == 2
    none_at_1 = api.get(latest_url, {"version": 1})
    assert none_at_1.status_code == 404
    assert error_of(none_at_1)["code"] == "not_found"

    # The query-parameter form of the id works for the new routes too.
    via_query = api.get(f"{BASE}/streams/-/snapshots/latest", {"stream_id": "/unique/path/to/file"})
    assert via_query.json()["version"] == 4
    state = api.get(f"{BASE}/streams/-/state", {"stream_id": "/unique/path/to/file"})
    assert state.status_code == 200 and state.json()["version"] == 4


def test_ids_ending_in_operation_names_resolve_with_the_raw_path(api, stores):
    for stream_id in ("a/state", "a/snapshots", "a/snapshots/latest", "state", "snapshots"):
        assert api.append(stream_id, events("A")).status_code == 201
        info_url = stream_url(stream_id)
        info = api.get(info_url, REQUEST_URI=info_url, RAW_URI=info_url)
        assert info.status_code == 200 and info.json()["stream_id"] == stream_id
        snaps_url = stream_url(stream_id, "/snapshots")
        put = api.put(snaps_url, {"version": 1, "payload": 1}, REQUEST_URI=snaps_url)
        assert put.status_code == 201 and put.json()["stream_id"] == stream_id
        latest_url = stream_url(stream_id, "/snapshots/latest")
        latest = api.get(latest_url, REQUEST_URI=latest_url)
        assert latest.json()["stream_id"] == stream_id
        state_url = stream_url(stream_id, "/state")
        state = api.get(state_url, REQUEST_URI=state_url)
        assert state.json()["stream_id"] == stream_id
        info = api.get(f"{BASE}/streams/-", {"stream_id": stream_id})
        assert info.json()["stream_id"] == stream_id
    # Decoded (no raw path), "a%2Fstate" is the state of "a", which has no events.
    assert error_of(api.get(stream_url("a/state")))["code"] == "not_found"
    encoded = f"{BASE}/streams/{quote('a/events', safe='')}/state"
    assert api.get(encoded, REQUEST_URI=encoded).status_code == 404  # "a/events" has none


BAD_STATE_QUERIES = [
    ({"version": "x"}, "version"),
    ({"version": "-1"}, "version"),
    ({"at": "yesterday"}, "at"),
    ({"at": "2024-01-01T00:00:00Z", "version": "1"}, "at"),
    ({"known_at": "2024-01-01T00:00:00Z"}, "known_at"),
    ({"at": "2024-01-01T00:00:00Z", "known_at": "soon"}, "known_at"),
    ({"stream_id": "s"}, "stream_id"),
]

BAD_SNAPSHOTS = [
    ("[1]", "body"),
    ('{"version": 1}', "payload"),
    ('{"payload": 1}', "version"),
    ('{"version": 0, "payload": 1}', "version"),
    ('{"version": "1", "payload": 1}', "version"),
    ('{"version": 9, "payload": 1}', "version"),
    ('{"version": 1, "payload": 1, "colour": "red"}', "colour"),
    ('{"version": 1, "payload": 1, "revision": ""}', "revision"),
    ('{"version": 1, "payload": 1, "label": null}', "label"),
    ('{"version": 1, "payload": 1, "label": "a\\u0000"}', "label"),
    ('{"version": 1, "payload": 1, "ttl": 0}', "ttl"),
    ('{"version": 1, "payload": 1, "ttl": true}', "ttl"),
    ('{"version": 1, "payload": 1, "timestamp": "later"}', "timestamp"),
    ('{"version": 1, "payload": NaN}', "body"),
]


def test_bad_requests_are_400_naming_the_field(api, stores):
    api.append("s", events("A", "B"))
    api.append("log", events("Line"), kind="neutral")
    for params, field in BAD_STATE_QUERIES:
        response = api.get(stream_url("s", "/state"), params)
        assert response.status_code == 400, params
        assert error_of(response)["details"]["field"] == field, params
    for body, field in BAD_SNAPSHOTS:
        response = api.put(stream_url("s", "/snapshots"), body)
        assert response.status_code == 400, (body, response.content)
        assert error_of(response)["details"]["field"] == field, body
    for params, field in (({"version": "0"}, "version"), ({"revision": "\x01"}, "revision")):
        response = api.get(stream_url("s", "/snapshots/latest"), params)
        assert error_of(response)["details"]["field"] == field, params
    neutral_state = api.get(stream_url("log", "/state"), {"version": 1})
    assert error_of(neutral_state)["details"]["field"] == "version"
    neutral_snapshot = api.put(stream_url("log", "/snapshots"), {"version": 1, "payload": 1})
    assert error_of(neutral_snapshot)["details"]["field"] == "version"
    assert api.get(stream_url("log", "/state")).status_code == 200  # its latest state
    form = api.put(
        stream_url("s", "/snapshots"), "version=1", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 415


def test_not_found_and_methods(api, stores):
    api.append("s", events("A", "B"))
    missing = api.get(stream_url("missing", "/state"))
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    beyond = api.get(stream_url("s", "/state"), {"version": 5})
    assert beyond.status_code == 404
    assert error_of(beyond)["details"]["current_version"] == 2
    no_stream = api.put(stream_url("missing", "/snapshots"), {"version": 1, "payload": 1})
    assert no_stream.status_code == 404
    assert api.get(stream_url("missing", "/snapshots")).json() == {"snapshots": []}
    none = api.get(stream_url("s", "/snapshots/latest"))
    assert none.status_code == 404 and error_of(none)["code"] == "not_found"
    for method, path in (
        ("POST", stream_url("s", "/state")),
        ("DELETE", stream_url("s", "/snapshots")),
        ("PUT", stream_url("s", "/snapshots/latest")),
    ):
        response = api.request(method, path)
        assert response.status_code == 405, (method, path)
        assert error_of(response)["code"] == "method_not_allowed"


def test_large_snapshots_are_413(api, stores, settings):
    settings.FLIPBOOK_LIMITS = {**settings.FLIPBOOK_LIMITS, "MAX_SNAPSHOT_BYTES": 1000}
    api.append("s", events("A"))
    response = api.put(stream_url("s", "/snapshots"), {"version": 1, "payload": "x" * 2000})
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


def test_a_failing_reducer_is_422(api, stores):
    api.append("broken-1", events("A", "B", "C"), category="broken")
    Category.objects.create(
        name="broken", reducer="python", python_path="tests.api.test_rest_state.boom_on_2"
    )
    assert api.get(stream_url("broken-1", "/state"), {"version": 1}).status_code == 200
    for params in ({}, {"version": 2}, {"at": "2999-01-01T00:00:00Z"}):
        response = api.get(stream_url("broken-1", "/state"), params)
        assert response.status_code == 422, params
        error = error_of(response)
        assert error["code"] == "reducer_error"
        assert "two is right out" in error["message"]
    Category.objects.filter(name="broken").update(python_path="tests.api.nowhere.reducer")
    misconfigured = api.get(stream_url("broken-1", "/state"))
    assert misconfigured.status_code == 422
    assert error_of(misconfigured)["code"] == "reducer_error"


def test_auth_for_state_and_snapshots(keys, stores):
    mine, other = KEY_PREFIX_STREAMS + "w", "tenant-b/w"
    admin = Api(keys["admin"])
    for stream_id in (mine, other):
        admin.append(stream_id, events("A"))
        snapshots.set_snapshot(stream_id, 1, {"a": 1})

    def statuses(api: Api, stream_id: str) -> dict[str, int]:
        got = {
            "state": api.get(stream_url(stream_id, "/state")),
            "list": api.get(stream_url(stream_id, "/snapshots")),
            "latest": api.get(stream_url(stream_id, "/snapshots/latest")),
            "set": api.put(stream_url(stream_id, "/snapshots"), {"version": 1, "payload": 2}),
        }
        for response in got.values():
            if response.status_code >= 400:
                error_of(response)
        return {name: response.status_code for name, response in got.items()}

    reads = {"state": 200, "list": 200, "latest": 200}
    expected = {
        None: ({c: 401 for c in (*reads, "set")},) * 2,
        "read": (reads | {"set": 403},) * 2,
        "write": (reads | {"set": 201},) * 2,
        "admin": (reads | {"set": 201},) * 2,
        "prefix": (reads | {"set": 201}, {c: 403 for c in (*reads, "set")}),
        "prefix_read": (reads | {"set": 403}, {c: 403 for c in (*reads, "set")}),
    }
    for key_name, per_stream in expected.items():
        api = Api(keys[key_name] if key_name else None)
        for stream_id, wanted in zip((mine, other), per_stream, strict=True):
            assert statuses(api, stream_id) == wanted, (key_name, stream_id)
    refused = Api(keys["read"]).put(stream_url(mine, "/snapshots"), {"version": 1, "payload": 3})
    assert error_of(refused)["details"]["needed_scope"] == "write"


def test_unreachable_snapshot_store_is_503_but_states_are_still_served(api, stores, settings):
    api.append("s", events("A"))
    settings.FLIPBOOK_SNAPSHOT_STORE = {
        "BACKEND": "snapshots.backends.redis.RedisSnapshotStore",
        "OPTIONS": {"url": "redis://127.0.0.1:1/0"},
    }
    for response in (
        api.get(stream_url("s", "/snapshots")),
        api.get(stream_url("s", "/snapshots/latest")),
        api.put(stream_url("s", "/snapshots"), {"version": 1, "payload": 1}),
    ):
        assert response.status_code == 503, response.content
        assert error_of(response)["code"] == "unavailable"
    state = api.get(stream_url("s", "/state"))
    assert state.status_code == 200 and state.json()["snapshot"] is None
