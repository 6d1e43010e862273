"""The console's pages and JSON data endpoints through Django's test client, on SQLite and
PostgreSQL: login required, filters, sorts, cursor pagination, clear 400s for bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from streams import services
from tests.dynamodb_fixtures import dynamodb_client, dynamodb_local, dynamodb_store  # noqa: F401


@pytest.fixture
def client(db_backend) -> Client:
    user = get_user_model().objects.create_user("viewer", password="pw")
    client = Client()
    client.force_login(user)
    return client


def append(stream_id: str, *names: str, category: str | None = None, kind=None) -> None:
    services.append_to_stream(
        stream_id,
        [{"name": n, "payload": {"i": i}} for i, n in enumerate(names)],
        category=category,
        kind=kind,
    )


def error(response) -> dict:
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


@pytest.mark.parametrize(
    "url", ["/", "/streams/", "/timeline/?stream=a", "/data/dashboard", "/data/streams"]
)
def test_pages_and_data_need_a_login(db_backend, url):
    response = Client().get(url)
    if url.startswith("/data/"):
        assert response.status_code == 401
        assert error(response)["code"] == "unauthenticated"
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_pages_render(client):
    append("wallet/1", "Opened", category="wallet")
    for url, text in [
        ("/", "Events per minute"),
        ("/streams/", "Stream id starts with"),
        ("/timeline/?stream=wallet/1", "wallet/1"),
        ("/timeline/", "Name a stream"),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert text in response.content.decode()


def test_dashboard_totals_and_events_per_minute(client):
    append("a/1", "Opened", "Deposited", category="wallet")
    append("a/2", "Opened", category="order")
    append("b/1", "Noted")
    data = client.get("/data/dashboard").json()
    totals = data["totals"]
    assert {k: totals[k] for k in ("streams", "events", "categories")} == {
        "streams": 3,
        "events": 4,
        "categories": 2,
    }
    assert totals["last_position"] == services.latest_event("b/1").position
    series = data["per_minute"]
    assert len(series) == 60
    assert sum(point["count"] for point in series) == 4
    assert series[-1]["count"] + series[-2]["count"] == 4  # all just now


def test_events_per_minute_service_buckets_by_minute_and_fills_zeros(db_backend):
    append("c/1", "One", "Two")
    now = datetime.now(UTC)
    series = services.events_per_minute(now - timedelta(minutes=4), now)
    assert len(series) == 5
    assert [m.second for m, _ in series] == [0] * 5
    assert sum(n for _, n in series) == 2
    # A window in the past holds none of them.
    old = services.events_per_minute(now - timedelta(hours=3), now - timedelta(hours=2))
    assert sum(n for _, n in old) == 0


def test_explorer_prefix_category_and_cursor_pages(client):
    for i in range(5):
        append(f"orders/{i}", "Placed", category="order")
    append("other/1", "Placed", category="order")
    append("orders/x", "Noted")
    page = client.get("/data/streams", {"prefix": "orders/", "limit": 2}).json()
    ids = [s["stream_id"] for s in page["streams"]]
    assert ids == ["orders/0", "orders/1"]
    seen = list(ids)
    while page["next_cursor"]:
        cursor = page["next_cursor"]
        page = client.get(
            "/data/streams", {"prefix": "orders/", "limit": 2, "cursor": cursor}
        ).json()
        seen += [s["stream_id"] for s in page["streams"]]
    assert seen == [f"orders/{i}" for i in range(5)] + ["orders/x"]
    data = client.get("/data/streams", {"category": "order", "prefix": "o"}).json()
    assert {s["stream_id"] for s in data["streams"]} == {f"orders/{i}" for i in range(5)} | {
        "other/1"
    }


@pytest.mark.parametrize("filtered", [False, True])
def test_explorer_sorts_by_last_update_with_cursor(client, filtered):
    for i in range(4):
        append(f"s/{i}", "Opened", category="c")
    append("s/n", "Logged", kind="neutral")
    append("s/1", "Again")  # s/1 is now the most recently updated
    append("s/n", "Logged")
    append("s/2", "Again")
    params = {"sort": "updated", "limit": 2}
    if filtered:
        params["prefix"] = "s/"
    order: list[str] = []
    cursor = None
    while True:
        page = client.get("/data/streams", {**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.content
        body = page.json()
        order += [s["stream_id"] for s in body["streams"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert order == ["s/2", "s/n", "s/1", "s/3", "s/0"]


def test_recent_streams_walk_and_sort_agree(db_backend, settings):
    # The walk down the events (big filters) and the direct sort (small ones) give one order.
    from streams.backends import get_event_store

    for i in range(6):
        append(f"w/{i}", "Opened")
    append("w/2", "Again")
    append("w/0", "Again")
    store = get_event_store()
    walked = store.recent_streams(prefix=None, category=None, before=None, limit=10)
    sorted_ = store.recent_streams(prefix="w/", category=None, before=None, limit=10)
    expected = ["w/0", "w/2", "w/5", "w/4", "w/3", "w/1"]
    assert [h.stream_id for h in walked] == expected
    assert [h.stream_id for h in sorted_] == expected
    assert walked == sorted_


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "size"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"category": "bad\x01"}, "category"),
    ],
)
def test_explorer_bad_input_is_a_clear_400(client, params, field):
    response = client.get("/data/streams", params)
    assert response.status_code == 400
    body = error(response)
    assert body["code"] == "validation_error"
    assert field in body["message"]


def test_explorer_cursor_of_one_sort_is_refused_by_the_other(client):
    for i in range(3):
        append(f"k/{i}", "Opened")
    cursor = client.get("/data/streams", {"limit": 1}).json()["next_cursor"]
    response = client.get("/data/streams", {"limit": 1, "sort": "updated", "cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in error(response)["message"]


def test_timeline_data_newest_first_filters_and_pages(client):
    names = ["Opened", "Deposited", "Withdrawn", "Deposited", "Deposited", "Closed"]
    base = datetime(2024, 3, 1, 9, tzinfo=UTC)
    services.append_to_stream(
        "t/1",
        [
            {"name": n, "payload": {"i": i}, "timestamp": (base + timedelta(days=i)).isoformat()}
            for i, n in enumerate(names)
        ],
    )
    data = client.get("/data/events", {"stream": "t/1"}).json()
    assert [e["version"] for e in data["events"]] == [6, 5, 4, 3, 2, 1]
    assert data["stream"]["version"] == 6
    assert data["next_cursor"] is None
    named = client.get("/data/events", {"stream": "t/1", "name": "Deposited", "limit": 2}).json()
    assert [e["version"] for e in named["events"]] == [5, 4]
    more = client.get(
        "/data/events",
        {"stream": "t/1", "name": "Deposited", "limit": 2, "cursor": named["next_cursor"]},
    ).json()
    assert [e["version"] for e in more["events"]] == [2]
    jumped = client.get("/data/events", {"stream": "t/1", "version": 3}).json()
    assert [e["version"] for e in jumped["events"]] == [3, 4, 5, 6]  # starts there, goes up
    assert jumped["order"] == "ascending"
    window = client.get(
        "/data/events",
        {"stream": "t/1", "since": "2024-03-02T00:00", "until": "2024-03-04T12:00:00Z"},
    ).json()
    assert [e["version"] for e in window["events"]] == [4, 3, 2]


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        ({}, 400, "stream"),
        ({"stream": "t/2", "version": "x"}, 400, "version"),
        ({"stream": "t/2", "version": "0"}, 400, "version"),
        ({"stream": "t/2", "since": "yesterday"}, 400, "since"),
        ({"stream": "t/2", "version": "1", "since": "2024-01-01"}, 400, "version"),
        ({"stream": "t/2", "limit": "500"}, 400, "limit"),
        ({"stream": "t/2", "cursor": "nope"}, 400, "cursor"),
        ({"stream": "missing/stream"}, 404, "missing/stream"),
    ],
)
def test_timeline_data_bad_input(client, params, status, text):
    append("t/2", "Opened")
    response = client.get("/data/events", params)
    assert response.status_code == status
    assert text in error(response)["message"]


def test_console_reads_on_dynamodb(dynamodb_store):  # noqa: F811
    # The generic defaults of BaseEventStore, on a backend that does not override them.
    for i in range(3):
        append(f"d/{i}", "Opened", category="wallet" if i else None)
    append("d/0", "Again")
    totals = services.store_totals()
    assert {k: totals[k] for k in ("streams", "events", "categories")} == {
        "streams": 3,
        "events": 4,
        "categories": 1,
    }
    assert totals["last_position"] == services.latest_event("d/0").position
    assert services.stream_categories() == ["wallet"]
    page = services.recent_streams(limit=2)
    assert [h.stream_id for h in page.items] == ["d/0", "d/2"]
    rest = services.recent_streams(limit=2, cursor=page.next_cursor)
    assert [h.stream_id for h in rest.items] == ["d/1"]
    now = datetime.now(UTC)
    series = services.events_per_minute(now - timedelta(minutes=5), now)
    assert sum(n for _, n in series) == 4


def test_totals_of_a_big_store_are_estimates(postgres_backend, monkeypatch):
    from django.db import connections

    from streams.backends.database.postgresql import PostgreSQLOperations

    for i in range(4):
        append(f"big/{i}", "Opened", "Again", category=f"c{i % 2}")
    exact = services.store_totals()
    assert exact["approximate"] is False
    with connections["postgres"].cursor() as cursor:
        cursor.execute("ANALYZE flipbook_stream")
        cursor.execute("ANALYZE flipbook_event")
    monkeypatch.setattr(PostgreSQLOperations, "EXACT_TOTALS_MAX", 2)
    estimated = services.store_totals()
    assert estimated["approximate"] is True
    # ANALYZE of a small table reads every row, so here the estimates are the counts.
    assert {k: estimated[k] for k in ("streams", "events", "categories", "last_position")} == {
        k: exact[k] for k in ("streams", "events", "categories", "last_position")
    }


def test_explorer_offers_the_categories_of_the_streams(client):
    from snapshots.models import Category

    append("e/1", "Opened", category="wallet")
    append("e/2", "Opened", category="order")
    append("e/3", "Opened")
    Category.objects.create(name="configured-only")
    assert services.stream_categories() == ["order", "wallet"]
    page = client.get("/streams/").content.decode()
    for name in ("order", "wallet", "configured-only"):
        assert f'<option value="{name}"' in page


def test_explorer_data_has_a_total_unfiltered_and_none_filtered(client):
    for n in range(3):
        append(f"tot/{n}", "Opened", category="tot")
    append("other/1", "Opened")
    data = client.get("/data/streams", {"limit": 2}).json()
    assert data["total"] == 4 and data["next_cursor"]
    filtered = client.get("/data/streams", {"prefix": "tot/", "limit": 2}).json()
    assert filtered["total"] is None and len(filtered["streams"]) == 2
