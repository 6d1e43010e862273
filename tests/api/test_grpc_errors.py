"""Every error code of the gRPC API, its message and its flipbook-error-bin details; the
request log line and the error metrics."""

from __future__ import annotations

import json
import logging
import threading
import uuid

import grpc
import pytest
from django.db import connections, transaction
from prometheus_client import REGISTRY

from api.grpc import messages
from api.logs import JsonFormatter
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from streams import services
from tests.api.grpc_helpers import (
    WAIT,
    bearer,
    error_of,
    event_store_stub,
    issue_keys,
    new_event,
    running_server,
)


@pytest.fixture(scope="module")
def stub():
    with running_server() as port, event_store_stub(port) as stub:
        yield stub


@pytest.fixture
def auth(db_backend):
    return bearer(issue_keys()["admin"])


@pytest.fixture
def default_auth(transactional_db):
    """For what does not depend on the backend: the default store only."""
    return bearer(issue_keys()["admin"])


def fails(call, request, auth, code: str) -> dict:
    """Make the call (draining a response stream), expect ``code``; return the details."""
    with pytest.raises(grpc.RpcError) as caught:
        response = call(request, metadata=auth, timeout=WAIT)
        if hasattr(response, "__next__"):  # a response stream: the error comes when read
            list(response)
    error = caught.value
    assert error.code().name == code, error.details()
    body = error_of(error)
    assert body["message"] == error.details()
    return body


def append(stream_id, *events, **fields):
    return pb.AppendRequest(stream_id=stream_id, events=events, **fields)


INVALID_APPENDS = [
    (append("", new_event("A")), "stream_id"),
    (append("s\n", new_event("A")), "stream_id"),
    (append("s"), "events"),
    (append("s", new_event("")), "events[0].name"),
    (append("s", pb.NewEvent(name="A", payload=b"{not json")), "events[0].payload"),
    (append("s", pb.NewEvent(name="A", payload=b"\xff\xfe")), "events[0].payload"),
    (append("s", pb.NewEvent(name="A", payload=b"NaN")), "events[0].payload"),
    (append("s", pb.NewEvent(name="A", payload=b'{"a": 1} {"b": 2}')), "events[0].payload"),
    (append("s", pb.NewEvent(name="A", payload=b"[1] x")), "events[0].payload"),
    (append("s", pb.NewEvent(name="A", payload=b" \n ")), "events[0].payload"),
    (append("s", pb.NewEvent(name="A", payload="\ufeff1".encode())), "events[0].payload"),
    (append("s", pb.NewEvent(name="A", payload=b"1", metadata=b'{"a":1}]')), "events[0].metadata"),
    (append("s", pb.NewEvent(name="A", metadata=b"[1]")), "events[0].metadata"),
    (append("s", new_event("A", id="not-a-uuid")), "events[0].id"),
    (append("s", new_event("A", version=1), new_event("B")), "events"),
    (append("s", new_event("A", version=2), new_event("B", version=4)), "events[1].version"),
    (append("s", new_event("A"), expected_version=-1), "expected_version"),
    (append("s", new_event("A"), kind=7), "kind"),
    (append("s", new_event("A"), expected_state=9), "expected_state"),
    (append("s", new_event("A"), category="\x00"), "category"),
]


def test_invalid_append_is_invalid_argument_naming_the_field(stub, auth):
    for request_message, field in INVALID_APPENDS:
        body = fails(stub.Append, request_message, auth, "INVALID_ARGUMENT")
        assert body["code"] == "validation_error"
        assert body["details"]["field"] == field, request_message
        assert body["message"].startswith(f"{field}: ")
    assert services.list_streams().items == []


INVALID_READS = [
    pb.ReadRequest(stream_id=""),
    pb.ReadRequest(stream_id="s", from_version=5, to_version=2),
    pb.ReadRequest(stream_id="s", limit=-1),
    pb.ReadRequest(stream_id="s", limit=10_000_000),
    pb.ReadRequest(stream_id="s", limit=5, cursor="garbage"),
    pb.ReadRequest(stream_id="s", direction=3),
]


def test_invalid_commits_timestamps_reads_feeds_and_lists(stub, auth):
    event = new_event("A")
    event.timestamp.seconds = 253_402_300_800  # year 10000
    body = fails(stub.Append, append("s", event), auth, "INVALID_ARGUMENT")
    assert body["details"]["field"] == "events[0].timestamp"
    commit = pb.CommitRequest(
        streams=[append("a", new_event("A")), append("b", pb.NewEvent(name="B", payload=b"{"))]
    )
    body = fails(stub.Commit, commit, auth, "INVALID_ARGUMENT")
    assert body["details"]["field"] == "streams[1].events[0].payload"
    body = fails(stub.Commit, pb.CommitRequest(), auth, "INVALID_ARGUMENT")
    assert body["details"]["field"] == "streams"
    for request_message in INVALID_READS:
        fails(stub.Read, request_message, auth, "INVALID_ARGUMENT")
    fails(stub.ReadAll, pb.ReadAllRequest(after=-1), auth, "INVALID_ARGUMENT")
    fails(stub.ReadAll, pb.ReadAllRequest(limit=-3), auth, "INVALID_ARGUMENT")
    fails(stub.ReadAll, pb.ReadAllRequest(names=[""]), auth, "INVALID_ARGUMENT")
    fails(stub.ListStreams, pb.ListStreamsRequest(cursor="x"), auth, "INVALID_ARGUMENT")
    fails(stub.ListStreams, pb.ListStreamsRequest(limit=-1), auth, "INVALID_ARGUMENT")


def test_missing_stream_is_not_found(stub, auth):
    body = fails(stub.GetLatest, pb.GetLatestRequest(stream_id="nope"), auth, "NOT_FOUND")
    assert body == {
        "code": "not_found",
        "message": "stream 'nope' has no events",
        "details": {"stream_id": "nope"},
    }
    fails(stub.GetStream, pb.GetStreamRequest(stream_id="nope"), auth, "NOT_FOUND")


def test_version_conflict_is_failed_precondition_with_the_current_version(stub, auth):
    stub.Append(append("c", new_event("A"), new_event("B")), metadata=auth)
    behind = append("c", new_event("C"), expected_version=5)
    body = fails(stub.Append, behind, auth, "FAILED_PRECONDITION")
    assert body["code"] == "version_conflict"
    assert body["details"] == {"stream_id": "c", "expected_version": 5, "current_version": 2}
    new_only = append("c", new_event("C"), expected_version=0)
    body = fails(stub.Append, new_only, auth, "FAILED_PRECONDITION")
    assert body["details"]["current_version"] == 2
    exists = append("fresh", new_event("A"), expected_state=pb.EXPECTED_STATE_EXISTS)
    body = fails(stub.Append, exists, auth, "FAILED_PRECONDITION")
    assert body["details"]["current_version"] == 0


def test_same_id_with_other_content_is_already_exists(stub, auth):
    event_id = str(uuid.uuid4())
    stub.Append(append("i", new_event("A", 1, id=event_id)), metadata=auth)
    body = fails(stub.Append, append("i", new_event("A", 2, id=event_id)), auth, "ALREADY_EXISTS")
    assert body["code"] == "id_conflict" and body["details"]["event_ids"] == [event_id]


def test_too_large_payload_is_resource_exhausted(stub, auth, settings):
    settings.FLIPBOOK_LIMITS = {**settings.FLIPBOOK_LIMITS, "MAX_PAYLOAD_BYTES": 1000}
    big = append("big", new_event("A", "x" * 2000))
    body = fails(stub.Append, big, auth, "RESOURCE_EXHAUSTED")
    assert body["code"] == "too_large"
    assert body["details"] == {"field": "events[0].payload", "size": 2002, "limit": 1000}
    assert services.read_stream("big").items == []


def test_unexpected_error_is_internal_with_a_generic_message(
    stub, default_auth, monkeypatch, caplog
):
    def broken(stream_id):
        raise RuntimeError("secret detail at /srv/flipbook/internal.py")

    monkeypatch.setattr(services, "latest_event", broken)
    with caplog.at_level(logging.ERROR, logger="flipbook.grpc"):
        body = fails(stub.GetLatest, pb.GetLatestRequest(stream_id="s"), default_auth, "INTERNAL")
    assert body["code"] == "internal_error"
    assert "secret" not in json.dumps(body) and "/srv" not in body["message"]
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "secret detail" in str(logged[0].exc_info[1])


def test_unexpected_error_in_a_stream_after_some_events_is_internal(
    stub, default_auth, monkeypatch
):
    stub.Append(append("s", *[new_event("A", i) for i in range(3)]), metadata=default_auth)
    real = messages.event_message

    def third_breaks(event):
        if event.version == 3:
            raise RuntimeError("boom")
        return real(event)

    monkeypatch.setattr(messages, "event_message", third_breaks)
    received = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in stub.Read(
            pb.ReadRequest(stream_id="s"), metadata=default_auth, timeout=WAIT
        ):
            received.append(response.event.version)
    assert received == [1, 2]
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert error_of(caught.value)["code"] == "internal_error"


def test_feed_waiting_too_long_for_a_writer_is_unavailable(postgres_backend, settings):
    """The all-feed cannot pass a position an open write transaction may still fill; when
    that transaction stays open past the backend's wait, the feed is UNAVAILABLE."""
    settings.FLIPBOOK_EVENT_STORE = {
        "BACKEND": "streams.backends.database.DatabaseEventStore",
        "OPTIONS": {"using": "postgres", "feed_wait_seconds": 0.2},
    }
    auth = bearer(issue_keys()["admin"])
    with running_server() as port, event_store_stub(port) as stub:
        stub.Append(append("u", new_event("A")), metadata=auth)
        holding, release = threading.Event(), threading.Event()

        def open_writer():
            try:
                with transaction.atomic(using="postgres"):
                    with connections["postgres"].cursor() as cursor:
                        # What an appending transaction holds while it is open: an xid, the
                        # writer's lock on the event table, and a position drawn.
                        cursor.execute("SELECT pg_current_xact_id()")
                        cursor.execute("LOCK TABLE flipbook_event IN ROW EXCLUSIVE MODE")
                        cursor.execute(
                            "SELECT nextval(pg_get_serial_sequence('flipbook_event', 'position'))"
                        )
                    holding.set()
                    release.wait(WAIT)
            finally:
                connections["postgres"].close()

        writer = threading.Thread(target=open_writer)
        writer.start()
        try:
            assert holding.wait(WAIT)
            # Another writer commits meanwhile: its events are in, the open one may still
            # fill a position below them.
            stub.Append(append("u2", new_event("B")), metadata=auth)
            body = fails(stub.ReadAll, pb.ReadAllRequest(), auth, "UNAVAILABLE")
            assert body["code"] == "unavailable" and "retry" in body["message"]
        finally:
            release.set()
            writer.join(WAIT)
        events = list(stub.ReadAll(pb.ReadAllRequest(), metadata=auth))
        assert [r.WhichOneof("item") for r in events] == ["event", "event", "checkpoint"]


def test_one_json_log_line_per_call_with_the_request_id(stub, default_auth, caplog):
    metadata = (*default_auth, ("x-request-id", "req-42"))
    with caplog.at_level(logging.INFO, logger="flipbook.grpc"):
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetStream(pb.GetStreamRequest(stream_id="x"), metadata=metadata, timeout=WAIT)
        list(stub.Read(pb.ReadRequest(stream_id="x"), metadata=default_auth, timeout=WAIT))
    assert ("x-request-id", "req-42") in caught.value.initial_metadata()
    lines = [r for r in caplog.records if r.name == "flipbook.grpc" and hasattr(r, "code")]
    get, read = lines
    assert (get.method, get.code, get.request_id) == (
        "/flipbook.v1.EventStore/GetStream",
        "NOT_FOUND",
        "req-42",
    )
    assert get.duration_ms >= 0 and get.transport == "grpc"
    assert (read.method, read.code) == ("/flipbook.v1.EventStore/Read", "OK")
    assert read.request_id != "req-42" and len(read.request_id) == 32
    entry = json.loads(JsonFormatter().format(get))
    assert entry["request_id"] == "req-42" and entry["code"] == "NOT_FOUND"


def test_errors_and_latency_are_counted(stub, default_auth):
    def sample(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    errors = {"transport": "grpc", "code": "not_found"}
    latency = {"transport": "grpc", "method": "flipbook.v1.EventStore/GetStream"}
    before = sample("flipbook_errors_total", **errors)
    calls = sample("flipbook_request_seconds_count", **latency)
    fails(stub.GetStream, pb.GetStreamRequest(stream_id="x"), default_auth, "NOT_FOUND")
    assert sample("flipbook_errors_total", **errors) == before + 1
    assert sample("flipbook_request_seconds_count", **latency) == calls + 1
    appends = sample("flipbook_appends_total", transport="grpc")
    stub.Append(append("m", new_event("A")), metadata=default_auth)
    assert sample("flipbook_appends_total", transport="grpc") == appends + 1
