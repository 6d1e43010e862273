"""The event store contract on DynamoDB Local, plus what only DynamoDB has: racing writers on
its conditional writes, atomic multi-stream transactions and the sharded all-feed."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from streams import services
from streams.backends import get_event_store
from streams.exceptions import ValidationError, VersionConflict
from tests.contracts.event_store import (
    EventStoreContract,
    ev,
    events,
    feed,
    race_writers_to_one_stream,
)
from tests.dynamodb_fixtures import dynamodb_client, dynamodb_local, dynamodb_store  # noqa: F401


class TestDynamoDBEventStore(EventStoreContract):
    max_events_per_commit = 48
    concurrent_feed_writers = 8

    @pytest.fixture
    def event_store(self, dynamodb_store):  # noqa: F811
        return dynamodb_store


WRITERS = 16
TARGET_VERSION = 40


def test_racing_writers_get_exactly_one_winner_per_version(dynamodb_store):  # noqa: F811
    race_writers_to_one_stream()


def test_racing_any_appends_all_land_without_gaps(dynamodb_store):  # noqa: F811
    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(
            pool.map(lambda n: services.append_to_stream("any", events(2)), range(WRITERS))
        )
    assert sorted(v for r in results for v in (e.version for e in r.events)) == list(
        range(1, 2 * WRITERS + 1)
    )
    assert services.stream_head("any").version == 2 * WRITERS


def test_multi_stream_commit_is_one_transaction(dynamodb_store):  # noqa: F811
    """A failing check on one stream stores nothing on any, also when the failure is only
    found inside the transaction (a racing writer moved a head after it was read)."""
    services.append_to_stream("a", events(2))
    services.append_to_stream("b", events(1))
    before = feed()
    store = get_event_store()
    real_batch_get = store._batch_get
    moved = []

    def racing_batch_get(keys):
        items = real_batch_get(keys)
        if not moved:  # another writer slips in between this read and the transaction
            moved.append(None)
            moved[0] = services.append_to_stream("b", [ev("Racer")])
        return items

    store._batch_get = racing_batch_get
    try:
        with pytest.raises(VersionConflict) as info:
            services.commit(
                [
                    {"stream_id": "new", "expected_version": 0, "events": events(3)},
                    {"stream_id": "a", "expected_version": 2, "events": [ev()]},
                    {"stream_id": "b", "expected_version": 1, "events": [ev()]},
                ]
            )
    finally:
        store._batch_get = real_batch_get
    assert info.value.details["stream_id"] == "b" and info.value.current_version == 2
    assert [e.id for e in feed()] == [e.id for e in before] + [moved[0].events[0].id]
    assert services.stream_head("a").version == 2
    assert services.read_stream("new").items == []


def test_a_commit_over_one_transaction_is_a_clear_validation_error(dynamodb_store):  # noqa: F811
    with pytest.raises(ValidationError) as info:
        services.append_to_stream("s", events(49))
    assert info.value.details["field"] == "events"
    assert "at most 48 events" in info.value.message
    assert services.append_to_stream("s", events(48)).version == 48
    with pytest.raises(ValidationError):
        services.commit([{"stream_id": f"s{i}", "events": events(3)} for i in range(25)])
    assert len(feed()) == 48


def test_positions_are_sparse_but_increase_per_stream_and_per_commit(dynamodb_store):  # noqa: F811
    first = services.commit(
        [{"stream_id": "a", "events": events(3)}, {"stream_id": "b", "events": events(2)}]
    )
    positions = [e.position for e in first.events]
    assert positions == list(range(positions[0], positions[0] + 5))
    second = services.append_to_stream("a", events(1))
    assert second.events[0].position > positions[-1]
    assert services.stream_head("a").last_position == second.events[0].position


def test_shards_start_in_distinct_blocks_below_javascripts_exact_integers(dynamodb_store):  # noqa: F811
    # Browsers compare positions as JavaScript numbers: above 2**53 neighbours collapse.
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    store = dynamodb_store
    firsts = {store._next_position(s, None, [], now) for s in range(store.feed_shards)}
    assert len(firsts) == store.feed_shards
    assert max(firsts) < 2**53


def test_manage_py_flipbook_dynamodb_creates_and_describes_the_table(
    dynamodb_local,  # noqa: F811
    settings,
):
    import json
    from io import StringIO

    from django.core.management import call_command

    prefix = f"cmd{uuid.uuid4().hex[:8]}_"
    settings.FLIPBOOK_EVENT_STORE = {
        "BACKEND": "streams.backends.dynamodb.DynamoDBEventStore",
        "OPTIONS": {"endpoint_url": dynamodb_local, "table_prefix": prefix},
    }
    out = StringIO()
    call_command("flipbook_dynamodb", "describe", stdout=out)
    assert json.loads(out.getvalue())[0]["status"] == "MISSING"
    call_command("flipbook_dynamodb", "create-tables", stdout=out)
    assert f"created {prefix}events (on-demand capacity)" in out.getvalue()
    call_command("flipbook_dynamodb", "create-tables", stdout=out)
    assert "exists already" in out.getvalue()
    out = StringIO()
    call_command("flipbook_dynamodb", "describe", stdout=out)
    (table,) = json.loads(out.getvalue())
    assert table["status"] == "ACTIVE" and table["billing_mode"] == "PAY_PER_REQUEST"
    assert set(table["indexes"]) == {"by_time", "by_stream_id", "by_category"}
