"""REST v1 endpoints on SQLite and PostgreSQL: append, read, info, latest, list, commit, feed."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

import uuid

from tests.api.rest_helpers import BASE, api, error_of, events, keys, stream_url  # noqa: F401


def test_append_then_info_read_and_latest(api):
    response = api.append("order-1", events("Opened", "Paid"), expected_version=0, category="order")
    assert response.status_code == 201
    body = response.json()
    assert body["stream_id"] == "order-1"
    assert body["version"] == 2
    assert body["duplicate"] is False
    # Where the events went, not what they say (the client sent that).
    assert [set(e) for e in body["events"]] == [{"id", "version", "position", "recorded_at"}] * 2
    assert [e["version"] for e in body["events"]] == [1, 2]

    info = api.get(stream_url("order-1")).json()
    assert info["kind"] == "versioned"
    assert info["category"] == "order"
    assert info["version"] == 2
    assert info["event_count"] == 2
    assert info["last_position"] == body["events"][-1]["position"]

    read = api.get(stream_url("order-1", "/events")).json()
    assert read["stream_id"] == "order-1"
    assert [e["name"] for e in read["events"]] == ["Opened", "Paid"]
    assert [
        {k: e[k] for k in ("id", "version", "position", "recorded_at")} for e in read["events"]
    ] == body["events"]
    assert read["next_cursor"] is None

    latest = api.get(stream_url("order-1", "/events/latest")).json()
    assert latest["name"] == "Paid"
    assert latest["version"] == 2

    event = {
        "id": str(uuid.uuid4()),
        "name": "Deposited",
        "payload": {"amount": 10, "note": "ünïcødé"},
        "metadata": {"actor": "alice"},
        "timestamp": "2024-05-01T10:00:00+02:00",
    }
    first = api.append("wallet-1", [event], expected_version=0)
    assert first.status_code == 201
    stored = first.json()["events"][0]
    assert stored["id"] == event["id"] and stored["version"] == 1
    assert "payload" not in stored and b"note" not in first.content
    read_back = api.get(stream_url("wallet-1", "/events/latest")).json()
    assert read_back["payload"] == event["payload"]
    assert read_back["metadata"] == event["metadata"]
    assert read_back["timestamp"] == "2024-05-01T08:00:00+00:00"
    again = api.append("wallet-1", [event], expected_version=0)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["events"][0]["position"] == stored["position"]


def test_expected_version_forms_and_version_neutral_streams(api):
    assert (
        api.append("v", [{"name": "A", "version": 1}, {"name": "B", "version": 2}]).status_code
        == 201
    )
    assert api.append("v", events("C"), expected_version="exists").json()["version"] == 3
    assert api.append("v", events("D"), expected_version="any").json()["version"] == 4
    assert api.append("v", events("E"), expected_version="4").json()["version"] == 5

    response = api.append("log", events("Line", "Line"), kind="neutral")
    assert response.status_code == 201
    assert response.json()["version"] is None
    assert [e["version"] for e in response.json()["events"]] == [None, None]
    assert api.get(stream_url("log")).json()["kind"] == "neutral"


def test_read_version_ranges_natural_time_direction_and_cursor_pages(api):
    api.append("r", events(*[f"E{i}" for i in range(1, 8)]))
    page = api.get(stream_url("r", "/events"), {"from_version": 2, "to_version": 6, "limit": 2})
    seen = []
    while True:
        body = page.json()
        seen += [e["version"] for e in body["events"]]
        if body["next_cursor"] is None:
            break
        page = api.get(
            stream_url("r", "/events"),
            {"from_version": 2, "to_version": 6, "limit": 2, "cursor": body["next_cursor"]},
        )
    assert seen == [2, 3, 4, 5, 6]
    backwards = api.get(stream_url("r", "/events"), {"direction": "backwards", "limit": 3})
    assert [e["version"] for e in backwards.json()["events"]] == [7, 6, 5]
    empty = api.get(stream_url("never-written", "/events"))
    assert empty.status_code == 200
    assert empty.json() == {"stream_id": "never-written", "events": [], "next_cursor": None}

    api.append(
        "t",
        [
            {"name": "A", "timestamp": "2024-01-01T00:00:00Z"},
            {"name": "B", "timestamp": "2024-01-02T00:00:00Z"},
            {"name": "Neutral"},
            {"name": "C", "timestamp": "2024-01-03T00:00:00Z"},
        ],
    )
    body = api.get(
        stream_url("t", "/events"),
        # "+00:00" unencoded arrives as " 00:00": read back as an offset.
        {"since": "2024-01-02T00:00:00Z", "until": "2024-01-03T00:00:00 00:00"},
    ).json()
    assert [e["name"] for e in body["events"]] == ["B", "C"]
    paged = api.get(stream_url("t", "/events"), {"since": "2024-01-01T00:00:00Z", "limit": 1})
    second = api.get(
        stream_url("t", "/events"),
        {"since": "2024-01-01T00:00:00Z", "limit": 1, "cursor": paged.json()["next_cursor"]},
    )
    assert [e["name"] for e in second.json()["events"]] == ["B"]


def test_list_streams_filters_and_cursor(api):
    for i in range(5):
        api.append(f"acct-{i}", events("Opened"), category="account")
    api.append("other-1", events("Opened"), category="other")
    listed, cursor = [], None
    while True:
        params = {"category": "account", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get(f"{BASE}/streams/", params).json()
        listed += [s["stream_id"] for s in body["streams"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert listed == [f"acct-{i}" for i in range(5)]
    by_prefix = api.get(f"{BASE}/streams/", {"prefix": "oth"}).json()
    assert [s["stream_id"] for s in by_prefix["streams"]] == ["other-1"]
    assert by_prefix["streams"][0]["category"] == "other"


def test_commit_is_atomic_across_streams(api):
    body = {
        "streams": [
            {"stream_id": "a", "expected_version": 0, "events": events("A1", "A2")},
            {"stream_id": "b", "expected_version": 0, "category": "bee", "events": events("B1")},
        ]
    }
    response = api.post(f"{BASE}/commits", body)
    assert response.status_code == 201
    result = response.json()
    assert result["duplicate"] is False
    assert [(s["stream_id"], s["version"]) for s in result["streams"]] == [("a", 2), ("b", 1)]
    assert result["last_position"] == max(
        e["position"] for s in result["streams"] for e in s["events"]
    )
    refused = api.post(
        f"{BASE}/commits",
        {
            "streams": [
                {"stream_id": "c", "expected_version": 0, "events": events("C1")},
                {"stream_id": "a", "expected_version": 1, "events": events("A3")},
            ]
        },
    )
    assert refused.status_code == 409
    assert error_of(refused)["details"]["current_version"] == 2
    assert api.get(stream_url("c")).status_code == 404  # nothing of the commit was stored


def test_all_feed_after_limit_and_filters(api):
    api.append("f1", events("Created", "Renamed"), category="doc")
    api.append("f2", events("Created"), category="img")
    api.append("f3", events("Deleted"), category="tmp")
    page = api.get(f"{BASE}/events", {"limit": 2}).json()
    assert [e["stream_id"] for e in page["events"]] == ["f1", "f1"]
    rest = api.get(f"{BASE}/events", {"after": page["next_after"]}).json()
    assert [e["stream_id"] for e in rest["events"]] == ["f2", "f3"]
    assert rest["next_after"] == rest["events"][-1]["position"]
    filtered = api.client.get(
        f"{BASE}/events?category=doc&category=img&name=Created",
        headers=api.headers({}),
    ).json()
    assert [(e["stream_id"], e["name"]) for e in filtered["events"]] == [
        ("f1", "Created"),
        ("f2", "Created"),
    ]


def test_positions_are_exact_integers_for_javascript_clients(api):
    """JSON numbers are doubles in JavaScript (the console follows feeds by position): every
    position must stay at most 2**53 - 1, so neighbours in one commit stay apart."""
    first = api.append("js-1", events("A", "B", "C")).json()["events"]
    second = api.post(
        f"{BASE}/commits",
        {
            "streams": [
                {"stream_id": "js-2", "events": events("D")},
                {"stream_id": "js-3", "events": events("E", "F")},
            ]
        },
    ).json()["streams"]
    positions = [e["position"] for e in first] + [
        e["position"] for s in second for e in s["events"]
    ]
    feed = api.get(f"{BASE}/events").json()
    assert [e["position"] for e in feed["events"]] == positions
    assert all(0 < p <= 2**53 - 1 for p in [*positions, feed["next_after"]]), positions
    assert len({float(p) for p in positions}) == len(positions)
