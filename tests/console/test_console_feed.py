"""The feed browser's data, event and export endpoints through Django's test client, on SQLite
and PostgreSQL: each filter, paging by position, JSON Lines and CSV exports, bad input 400,
the export switch."""

from __future__ import annotations

import csv
import io
import json

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from streams import search, services
from tests.console.roles import user_with_role


@pytest.fixture
def client(db_backend) -> Client:
    # An operator: exports need the export permission (tests/console/test_console_personal.py).
    user = user_with_role("operator", "operator")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def feed(db_backend) -> list:
    """Twelve events over three streams: names, categories, times and metadata vary."""
    services.append_to_stream(
        "order-1",
        [
            {
                "name": "Placed" if i % 2 == 0 else "Paid",
                "payload": {"i": i, "note": "x" * 10},
                "metadata": {"tenant": "acme" if i < 3 else "globex", "n": i},
                "timestamp": f"2026-01-0{i + 1}T10:00:00Z",
            }
            for i in range(6)
        ],
        category="order",
    )
    services.append_to_stream(
        "user-1",
        [
            {"name": "Registered", "payload": {"k": i}, "metadata": {"tenant": "acme"}}
            for i in range(4)
        ],
        category="user",
    )
    services.append_to_stream(
        "log-1", [{"name": "Line", "payload": {"t": i}} for i in range(2)], kind="neutral"
    )
    return list(services.iter_all())


def data(client, **query) -> dict:
    response = client.get("/data/feed", query)
    assert response.status_code == 200, response.content
    return response.json()


def positions(answer) -> list[int]:
    return [e["position"] for e in answer["events"]]


def test_unfiltered_pages_forward_and_end(client, feed):
    first = data(client, limit=5)
    assert positions(first) == [e.position for e in feed[:5]]
    assert first["more"] is True
    second = data(client, limit=5, after=first["next_after"])
    assert positions(second) == [e.position for e in feed[5:10]]
    last = data(client, limit=5, after=second["next_after"])
    assert positions(last) == [e.position for e in feed[10:]]
    assert last["more"] is False


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"category": "order"}, lambda e: e.stream_id == "order-1"),
        ({"name": "Paid"}, lambda e: e.name == "Paid"),
        ({"metadata": "tenant=acme"}, lambda e: e.metadata.get("tenant") == "acme"),
        ({"metadata": "n=4"}, lambda e: e.metadata.get("n") == 4),
        ({"metadata": "n"}, lambda e: "n" in e.metadata),
        (
            {"since": "2026-01-02T00:00:00Z", "until": "2026-01-04T23:00:00Z"},
            lambda e: e.timestamp is not None and 2 <= e.timestamp.day <= 4,
        ),
        (
            {"category": "order", "name": "Placed", "metadata": "tenant=globex"},
            lambda e: e.name == "Placed" and e.metadata.get("tenant") == "globex",
        ),
    ],
)
def test_filters(client, feed, query, expected):
    answer = data(client, **query)
    wanted = [e.position for e in feed if expected(e)]
    assert wanted, "the fixture must hold matches"
    assert positions(answer) == wanted


def test_id_prefix_finds_one_event(client, feed):
    target = feed[7]
    answer = data(client, id=str(target.id)[:13].upper())
    assert positions(answer) == [target.position]


def test_open_an_event_by_position(client, feed):
    response = client.get("/data/event", {"position": feed[3].position})
    assert response.status_code == 200
    assert response.json()["id"] == str(feed[3].id)
    missing = client.get("/data/event", {"position": feed[-1].position + 100})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"id": "xyz!"}, "id"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"metadata": "=v"}, "metadata"),
        ({"after": "-1"}, "after"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_filters_are_400(client, feed, query, field):
    response = client.get("/data/feed", query)
    assert response.status_code == 400
    assert field in json.dumps(response.json())


def test_search_scan_budget_moves_on(db_backend, feed):
    query = search.feed_filter(metadata="tenant=nobody")
    page = search.search_feed(query, after=0, limit=10, scan_max=5)
    assert page.events == []
    assert page.next_after > 0  # the reader goes on from where the scan stopped


def export(client, **query) -> bytes:
    response = client.get("/feed/export", query)
    assert response.status_code == 200, response.content
    assert response.streaming
    assert "attachment" in response["Content-Disposition"]
    return collect(response)


def collect(response) -> bytes:
    """The body of a streamed answer, read chunk by chunk as the ASGI server does."""

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(read)()


def test_export_jsonl_follows_the_filter(client, feed):
    body = export(client, format="jsonl", category="order", name="Paid")
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert [line["position"] for line in lines] == [
        e.position for e in feed if e.stream_id == "order-1" and e.name == "Paid"
    ]
    assert lines[0]["payload"]["note"] == "x" * 10
    assert set(lines[0]) == {
        "stream_id",
        "version",
        "timestamp",
        "name",
        "payload",
        "metadata",
        "id",
        "position",
        "recorded_at",
    }


def test_export_csv_has_a_header_and_every_row(client, feed):
    body = export(client, format="csv").decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [int(r["position"]) for r in rows] == [e.position for e in feed]
    neutral = next(r for r in rows if r["stream_id"] == "log-1")
    assert neutral["version"] == ""
    assert json.loads(rows[0]["metadata"]) == feed[0].metadata


def test_export_refuses_bad_format_logged_out_and_when_switched_off(client, feed, settings):
    assert client.get("/feed/export", {"format": "xml"}).status_code == 400
    assert Client().get("/feed/export").status_code == 401
    settings.FLIPBOOK_CONSOLE_EXPORT = False
    response = client.get("/feed/export", {"format": "csv"})
    assert response.status_code == 403
    page = client.get("/feed/")
    assert page.status_code == 200
    assert b"export-csv" not in page.content


def test_feed_page_keeps_filters(client, feed):
    page = client.get("/feed/", {"name": "Paid", "metadata": "tenant=acme"})
    assert page.status_code == 200
    assert b'value="Paid"' in page.content
    assert b'value="tenant=acme"' in page.content


def test_feed_head_only_when_asked(client, feed):
    assert data(client)["head"] is None
    answer = data(client, head="1", limit=2)
    assert answer["head"] == feed[-1].position  # live updates start after the last event
    assert [e["position"] for e in answer["events"]] == [e.position for e in feed[:2]]
