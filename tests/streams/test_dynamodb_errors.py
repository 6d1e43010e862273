"""DynamoDB errors the emulator cannot produce on demand, answered by botocore's Stubber:
each driver error is translated at the backend boundary into a Flipbook error."""

from __future__ import annotations

import uuid

import boto3  # a dependency of the project: its absence is a failure, never a skip
import pytest
from botocore.stub import Stubber

from streams.backends.dynamodb import DynamoDBEventStore
from streams.exceptions import TooLarge, Unavailable, ValidationError, VersionConflict
from streams.records import FeedQuery, PreparedAppend, PreparedEvent

TABLE = "stub_events"


@pytest.fixture
def stubbed():
    client = boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",
    )
    store = DynamoDBEventStore(
        table_prefix="stub_", client=client, backoff_seconds=0, max_attempts=3, feed_shards=2
    )
    with Stubber(client) as stubber:
        yield store, stubber
        stubber.assert_no_pending_responses()


def prepared(stream_id="s", count=1, expected="any", payload_json="1") -> PreparedAppend:
    events = tuple(
        PreparedEvent(
            id=uuid.uuid4(),
            name="Happened",
            payload_json=payload_json,
            metadata_json="{}",
            payload=1,
            metadata={},
            timestamp=None,
            version=None,
            id_given=False,
        )
        for _ in range(count)
    )
    return PreparedAppend(stream_id, events, expected, None, None)


def head_item(stream_id="s", version=3) -> dict:
    return {
        "pk": {"S": "s#" + stream_id},
        "sk": {"N": "0"},
        "sid": {"S": stream_id},
        "kind": {"S": "versioned"},
        "version": {"N": str(version)},
        "event_count": {"N": str(version)},
        "created_at": {"S": "2024-01-01T00:00:00.000000"},
        "updated_at": {"S": "2024-01-01T00:00:00.000000"},
        "last_position": {"N": "1000"},
        "metadata": {"S": "{}"},
    }


def heads_answer(*items) -> dict:
    return {"Responses": {TABLE: list(items)}}


def cancelled(stubber, *codes: str) -> None:
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled",
        modeled_fields={"CancellationReasons": [{"Code": c} for c in codes]},
    )


def test_throttling_is_retried_a_bounded_number_of_times_then_unavailable(stubbed):
    store, stubber = stubbed
    for code in (
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    ):
        stubber.add_client_error("get_item", service_error_code=code, http_status_code=400)
    with pytest.raises(Unavailable) as info:
        store.head("s")
    assert info.value.code == "unavailable"
    assert "3 attempts" in info.value.message
    assert "Throttl" not in info.value.message or "RequestLimitExceeded" in info.value.message


def test_throttling_then_an_answer_succeeds(stubbed):
    store, stubber = stubbed
    stubber.add_client_error("get_item", service_error_code="ThrottlingException")
    stubber.add_client_error(
        "get_item", service_error_code="InternalServerError", http_status_code=500
    )
    stubber.add_response("get_item", {"Item": head_item(version=7)})
    assert store.head("s").version == 7


def test_cancelled_transaction_with_a_failed_head_check_is_a_version_conflict(stubbed):
    store, stubber = stubbed
    stubber.add_response("batch_get_item", heads_answer(head_item(version=3)))
    # head, event, claim, feed, shard: the head's condition failed (a racing writer).
    cancelled(stubber, "ConditionalCheckFailed", "None", "None", "None", "None")
    stubber.add_response("batch_get_item", heads_answer(head_item(version=5)))
    with pytest.raises(VersionConflict) as info:
        store.append([prepared(expected=3)])
    assert info.value.current_version == 5
    assert info.value.details == {"stream_id": "s", "expected_version": 3, "current_version": 5}


def test_transaction_conflict_is_retried_and_then_succeeds(stubbed):
    store, stubber = stubbed
    stubber.add_response("batch_get_item", heads_answer(head_item(version=3)))
    cancelled(stubber, "TransactionConflict", "None", "None", "None", "None")
    stubber.add_response("batch_get_item", heads_answer(head_item(version=3)))
    stubber.add_response("transact_write_items", {})
    result = store.append([prepared(expected=3)])
    assert result.streams[0].version == 4
    assert result.events[0].position > 1000  # past the stream's last position


def test_transaction_conflicts_that_never_end_are_unavailable_for_any(stubbed):
    # expected_version "any" cannot conflict: losing every race is "retry later".
    store, stubber = stubbed
    store.conflict_attempts = 3
    for _ in range(3):
        stubber.add_response("batch_get_item", heads_answer(head_item(version=3)))
        cancelled(stubber, "TransactionConflict", "None", "None", "None", "None")
    with pytest.raises(Unavailable) as info:
        store.append([prepared()])
    assert "3 attempts" in info.value.message


def test_head_checks_that_keep_failing_for_an_exact_version_stay_a_version_conflict(stubbed):
    store, stubber = stubbed
    store.conflict_attempts = 2
    for _ in range(2):
        stubber.add_response("batch_get_item", heads_answer(head_item(version=3)))
        cancelled(stubber, "ConditionalCheckFailed", "None", "None", "None", "None")
    stubber.add_response("get_item", {"Item": head_item(version=3)})
    with pytest.raises(VersionConflict) as info:
        store.append([prepared(expected=3)])
    assert info.value.current_version == 3


def test_throttled_transaction_is_unavailable_after_bounded_retries(stubbed):
    store, stubber = stubbed
    stubber.add_response("batch_get_item", heads_answer(head_item(version=3)))
    for _ in range(3):
        stubber.add_client_error(
            "transact_write_items", service_error_code="ProvisionedThroughputExceededException"
        )
    with pytest.raises(Unavailable):
        store.append([prepared()])


def test_validation_errors_become_validation_errors(stubbed):
    store, stubber = stubbed
    stubber.add_client_error(
        "get_item",
        service_error_code="ValidationException",
        service_message="One or more parameter values were invalid: Size of hashkey...",
    )
    with pytest.raises(ValidationError) as info:
        store.head("s")
    assert "hashkey" not in info.value.message  # no driver internals reach a client
    stubber.add_response("batch_get_item", heads_answer(head_item(version=3)))
    cancelled(stubber, "ValidationError", "None", "None", "None", "None")
    with pytest.raises(ValidationError):
        store.append([prepared()])


def test_more_than_one_transaction_can_hold_is_refused_before_any_call(stubbed):
    store, _ = stubbed
    with pytest.raises(ValidationError) as info:
        store.append([prepared(count=49)])
    assert info.value.details["field"] == "events"
    assert info.value.details["max_events"] == 48
    assert "at most 48 events" in info.value.message
    with pytest.raises(ValidationError) as info:
        store.append([prepared(f"s{i}", count=2) for i in range(20)])
    assert info.value.details["max_events"] == 39
    with pytest.raises(TooLarge):
        store.append([prepared(payload_json='"' + "x" * 410_000 + '"')])


def test_a_missing_table_is_unavailable_and_names_the_fix(stubbed):
    store, stubber = stubbed
    stubber.add_client_error("get_item", service_error_code="ResourceNotFoundException")
    with pytest.raises(Unavailable) as info:
        store.head("s")
    assert "create-tables" in info.value.message


def test_all_feed_fence_retries_a_transaction_conflict(stubbed):
    store, stubber = stubbed
    shard = {"pk": {"S": "shard#0"}, "sk": {"N": "0"}, "last": {"N": "256"}, "first": {"N": "128"}}
    stubber.add_response("batch_get_item", heads_answer(shard))
    stubber.add_client_error("update_item", service_error_code="TransactionConflictException")
    stubber.add_response("update_item", {})  # shard 0 fenced
    stubber.add_response("update_item", {})  # shard 1 fenced
    stubber.add_response("batch_get_item", heads_answer(shard))  # first positions again
    for _ in range(2):
        stubber.add_response("query", {"Items": []})
    page = store.read_all(FeedQuery())
    assert page.events == [] and page.next_after == 256


def test_an_unreachable_endpoint_is_unavailable():
    store = DynamoDBEventStore(
        endpoint_url="http://127.0.0.1:9", table_prefix="x_", backoff_seconds=0, max_attempts=2
    )
    with pytest.raises(Unavailable) as info:
        store.head("s")
    assert "EndpointConnectionError" in info.value.message or "2 attempts" in info.value.message
    store.close()


def test_a_transaction_throttled_on_every_attempt_is_unavailable(stubbed):
    store, stubber = stubbed
    store.conflict_attempts = 2
    for _ in range(2):
        stubber.add_response("batch_get_item", heads_answer(head_item(version=3)))
        cancelled(stubber, "None", "None", "None", "None", "ThrottlingError")
    with pytest.raises(Unavailable):
        store.append([prepared()])


def test_a_commit_that_keeps_conflicting_names_the_refused_stream(stubbed):
    store, stubber = stubbed
    store.conflict_attempts = 2
    heads = heads_answer(head_item("a", 1), head_item("b", 3))
    for _ in range(2):
        stubber.add_response("batch_get_item", heads)
        # heads come first (b's, then a's), then events, claims, feed, shard
        cancelled(stubber, "ConditionalCheckFailed", "None", *["None"] * 6)
    stubber.add_response("get_item", {"Item": head_item("b", 4)})
    with pytest.raises(VersionConflict) as info:
        store.append([prepared("a"), prepared("b", expected=3)])
    assert info.value.details["stream_id"] == "b"
    assert info.value.current_version == 4
