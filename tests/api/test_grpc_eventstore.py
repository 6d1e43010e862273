"""Every EventStore method through a real gRPC server, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import grpc
import pytest

from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from tests.api.grpc_helpers import (
    WAIT,
    bearer,
    event_store_stub,
    issue_keys,
    new_event,
    running_server,
    timestamp,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def stub():
    with running_server() as port, event_store_stub(port) as stub:
        yield stub


@pytest.fixture
def auth(db_backend):
    return bearer(issue_keys()["admin"])


def append(stub, auth, stream_id, *events, **fields):
    request = pb.AppendRequest(stream_id=stream_id, events=events, **fields)
    return stub.Append(request, metadata=auth, timeout=WAIT)


def read(stub, auth, stream_id, **fields):
    responses = list(stub.Read(pb.ReadRequest(stream_id=stream_id, **fields), metadata=auth))
    events = [r.event for r in responses if r.WhichOneof("item") == "event"]
    cursors = [r.next_cursor for r in responses if r.WhichOneof("item") == "next_cursor"]
    assert len(cursors) <= 1 and (not cursors or responses[-1].next_cursor)
    return events, (cursors[0] if cursors else None)


def read_all(stub, auth, **fields):
    responses = list(stub.ReadAll(pb.ReadAllRequest(**fields), metadata=auth))
    assert responses[-1].WhichOneof("item") == "checkpoint"
    assert all(r.WhichOneof("item") == "event" for r in responses[:-1])
    return [r.event for r in responses[:-1]], responses[-1].checkpoint.position


def test_append_returns_ids_and_positions_and_read_gives_every_field_back(stub, auth):
    event_id = str(uuid.uuid4())
    result = append(
        stub,
        auth,
        "wallet-1",
        new_event(
            "Opened",
            {"owner": "ada", "nested": [1, 2.5, None, "ü"]},
            metadata={"actor": "ada"},
            timestamp=T0,
            id=event_id,
        ),
        new_event("Deposited", 10),
        expected_version=0,
        category="wallet",
    )
    assert result.stream_id == "wallet-1"
    assert result.HasField("version") and result.version == 2
    assert not result.duplicate
    # The answer says where the events went, never what they say: the client sent that.
    assert {f.name for f in pb.AppendedEvent.DESCRIPTOR.fields} == {
        "id",
        "version",
        "position",
        "recorded_at",
    }
    assert b"ada" not in result.SerializeToString()
    opened, deposited = result.events
    assert opened.id == event_id and opened.version == 1
    assert opened.position > 0 and deposited.position > opened.position
    assert opened.recorded_at.ToDatetime(dt.UTC) > T0
    # No id sent: the store made one.
    assert uuid.UUID(deposited.id) and deposited.version == 2

    events, cursor = read(stub, auth, "wallet-1")
    assert cursor is None
    assert [(e.id, e.version, e.position, e.recorded_at) for e in events] == [
        (e.id, e.version, e.position, e.recorded_at) for e in result.events
    ]
    stored_opened, stored_deposited = events
    assert stored_opened.stream_id == "wallet-1" and stored_opened.name == "Opened"
    assert json.loads(stored_opened.payload) == {"owner": "ada", "nested": [1, 2.5, None, "ü"]}
    assert json.loads(stored_opened.metadata) == {"actor": "ada"}
    assert stored_opened.timestamp.ToDatetime(dt.UTC) == T0
    # No timestamp sent: a time-neutral event.
    assert not stored_deposited.HasField("timestamp")
    assert json.loads(stored_deposited.payload) == 10
    assert json.loads(stored_deposited.metadata) == {}

    append(stub, auth, "s", pb.NewEvent(name="Nothing"))
    # JSON text may have whitespace around the value; the store keeps the value compactly.
    append(stub, auth, "s", pb.NewEvent(name="Spaced", payload=b'\n {"a": [1, 2]}\t '))
    stored, _ = read(stub, auth, "s")
    assert json.loads(stored[0].payload) is None  # empty payload: null
    assert stored[1].payload == b'{"a":[1,2]}'


def test_identical_resend_is_a_duplicate_with_the_original_result(stub, auth):
    events = [new_event("A", 1, id=str(uuid.uuid4())), new_event("B", 2, id=str(uuid.uuid4()))]
    first = append(stub, auth, "idem", *events, expected_version=0)
    again = append(stub, auth, "idem", *events, expected_version=0)
    assert again.duplicate and not first.duplicate
    assert list(again.events) == list(first.events) and again.version == 2


def test_expected_states_and_explicit_versions(stub, auth):
    any_state = pb.EXPECTED_STATE_ANY
    assert append(stub, auth, "v", new_event("A"), expected_state=any_state).version == 1
    exists = pb.EXPECTED_STATE_EXISTS
    assert append(stub, auth, "v", new_event("B"), expected_state=exists).version == 2
    assert append(stub, auth, "v", new_event("C")).version == 3  # unset: any
    result = append(stub, auth, "v", new_event("D", version=4), new_event("E", version=5))
    assert [e.version for e in result.events] == [4, 5]
    assert append(stub, auth, "v", new_event("F"), expected_version=5).version == 6


def test_version_neutral_stream_has_no_versions(stub, auth):
    kind = pb.STREAM_KIND_NEUTRAL
    first = append(stub, auth, "log", new_event("Line", 1), kind=kind)
    second = append(stub, auth, "log", new_event("Line", 2), new_event("Line", 3))
    assert not first.HasField("version") and not second.HasField("version")
    assert not any(e.HasField("version") for e in [*first.events, *second.events])
    info = stub.GetStream(pb.GetStreamRequest(stream_id="log"), metadata=auth)
    assert info.kind == pb.STREAM_KIND_NEUTRAL and not info.HasField("version")
    assert info.event_count == 3
    events, _ = read(stub, auth, "log", direction=pb.DIRECTION_BACKWARDS)
    assert [json.loads(e.payload) for e in events] == [3, 2, 1]


def test_commit_appends_to_several_streams_atomically(stub, auth):
    request = pb.CommitRequest(
        streams=[
            pb.AppendRequest(stream_id="order-1", events=[new_event("Placed")], expected_version=0),
            pb.AppendRequest(
                stream_id="stock-1",
                events=[new_event("Reserved"), new_event("Picked")],
                category="stock",
            ),
        ]
    )
    result = stub.Commit(request, metadata=auth)
    assert [s.stream_id for s in result.streams] == ["order-1", "stock-1"]
    assert [s.version for s in result.streams] == [1, 2]
    assert result.last_position == result.streams[1].events[-1].position
    assert not result.duplicate
    # A failing check on one stream stores nothing on the other.
    failing = pb.CommitRequest(
        streams=[
            pb.AppendRequest(stream_id="order-2", events=[new_event("Placed")]),
            pb.AppendRequest(stream_id="stock-1", events=[new_event("X")], expected_version=1),
        ]
    )
    with pytest.raises(grpc.RpcError) as caught:
        stub.Commit(failing, metadata=auth)
    assert caught.value.code().name == "FAILED_PRECONDITION"
    page = stub.ListStreams(pb.ListStreamsRequest(), metadata=auth)
    assert [s.stream_id for s in page.streams] == ["order-1", "stock-1"]


def test_read_by_version_range_direction_limit_and_cursor(stub, auth, settings):
    append(stub, auth, "r", *[new_event("N", i) for i in range(1, 11)], expected_version=0)

    def versions(**fields):
        events, cursor = read(stub, auth, "r", **fields)
        return [e.version for e in events], cursor

    assert versions(from_version=3, to_version=5) == ([3, 4, 5], None)
    assert read(stub, auth, "nothing-here") == ([], None)  # a missing stream reads empty
    assert versions(to_version=3, direction=pb.DIRECTION_BACKWARDS) == ([3, 2, 1], None)
    first, cursor = versions(limit=4)
    assert first == [1, 2, 3, 4] and cursor
    assert versions(limit=4, cursor=cursor)[0] == [5, 6, 7, 8]
    assert versions(from_version=8, limit=5) == ([8, 9, 10], None)
    # limit 0 streams everything, whatever the store's read limit (it reads in batches).
    settings.FLIPBOOK_LIMITS = {**settings.FLIPBOOK_LIMITS, "MAX_READ_LIMIT": 3}
    assert versions() == (list(range(1, 11)), None)
    assert versions(direction=pb.DIRECTION_BACKWARDS)[0] == list(range(10, 0, -1))
    assert versions(from_version=2, to_version=9, direction=pb.DIRECTION_BACKWARDS)[0] == list(
        range(9, 1, -1)
    )


def test_read_by_natural_time_range(stub, auth, settings):
    events = [new_event("T", i, timestamp=T0 + dt.timedelta(hours=i)) for i in range(5)]
    append(stub, auth, "t", *events, new_event("Neutral"), expected_version=0)
    since, until = timestamp(T0 + dt.timedelta(hours=1)), timestamp(T0 + dt.timedelta(hours=3))
    request = pb.ReadRequest(stream_id="t", since=since, until=until)
    got = [json.loads(r.event.payload) for r in stub.Read(request, metadata=auth)]
    assert got == [1, 2, 3]  # inclusive, time-neutral events left out
    request.direction = pb.DIRECTION_BACKWARDS
    request.limit = 2
    responses = list(stub.Read(request, metadata=auth))
    assert [json.loads(r.event.payload) for r in responses[:2]] == [3, 2]
    request.cursor = responses[2].next_cursor
    rest, cursor = read(stub, auth, **_fields(request))
    assert [json.loads(e.payload) for e in rest] == [1] and cursor is None
    # limit 0 by time, in batches of the store's read limit.
    settings.FLIPBOOK_LIMITS = {**settings.FLIPBOOK_LIMITS, "MAX_READ_LIMIT": 2}
    request = pb.ReadRequest(stream_id="t", since=timestamp(T0))
    payloads = [json.loads(r.event.payload) for r in stub.Read(request, metadata=auth)]
    assert payloads == [0, 1, 2, 3, 4]


def _fields(message):
    return {f.name: v for f, v in message.ListFields()}


def test_read_all_from_a_position_with_filters_ends_with_a_checkpoint(stub, auth, settings):
    append(stub, auth, "a-1", new_event("Opened"), new_event("Closed"), category="a")
    append(stub, auth, "b-1", new_event("Opened"), category="b")
    append(stub, auth, "c-1", new_event("Opened"))
    events, checkpoint = read_all(stub, auth)
    assert [(e.stream_id, e.name) for e in events] == [
        ("a-1", "Opened"),
        ("a-1", "Closed"),
        ("b-1", "Opened"),
        ("c-1", "Opened"),
    ]
    positions = [e.position for e in events]
    assert positions == sorted(positions) and checkpoint == positions[-1]
    assert all(e.recorded_at.seconds and e.id for e in events)

    only_a, _ = read_all(stub, auth, categories=["a"])
    assert [e.name for e in only_a] == ["Opened", "Closed"]
    opened, _ = read_all(stub, auth, names=["Opened"], categories=["a", "b"])
    assert [e.stream_id for e in opened] == ["a-1", "b-1"]
    after_second, _ = read_all(stub, auth, after=positions[1])
    assert [e.position for e in after_second] == positions[2:]
    two, checkpoint = read_all(stub, auth, limit=2)
    assert [e.position for e in two] == positions[:2] and checkpoint == positions[1]
    rest, checkpoint = read_all(stub, auth, after=checkpoint)
    assert [e.position for e in rest] == positions[2:] and checkpoint == positions[-1]
    # Filtered-out events still move the checkpoint: a caught-up reader resumes after them.
    none, checkpoint = read_all(stub, auth, categories=["nothing"])
    assert none == [] and checkpoint == positions[-1]
    assert read_all(stub, auth, after=checkpoint) == ([], checkpoint)
    # limit 0 reads the whole feed in batches of the store's read limit.
    settings.FLIPBOOK_LIMITS = {**settings.FLIPBOOK_LIMITS, "MAX_READ_LIMIT": 3}
    assert [e.position for e in read_all(stub, auth)[0]] == positions


def test_get_stream_and_get_latest(stub, auth):
    append(stub, auth, "head", new_event("A"), new_event("B", {"x": 1}), category="cat")
    latest = stub.GetLatest(pb.GetLatestRequest(stream_id="head"), metadata=auth)
    assert latest.name == "B" and latest.version == 2 and json.loads(latest.payload) == {"x": 1}
    info = stub.GetStream(pb.GetStreamRequest(stream_id="head"), metadata=auth)
    assert (info.stream_id, info.kind, info.category) == ("head", pb.STREAM_KIND_VERSIONED, "cat")
    assert info.version == 2 and info.event_count == 2 and info.last_position > 0
    assert info.first_recorded_at.ToDatetime() <= info.last_recorded_at.ToDatetime()
    assert json.loads(info.metadata) == {}


def test_list_streams_by_prefix_and_category_with_cursor(stub, auth):
    for stream_id, category in [("x/1", "c"), ("x/2", ""), ("x/3", "c"), ("y/1", "c")]:
        append(stub, auth, stream_id, new_event("A"), category=category)

    def ids(**fields):
        page = stub.ListStreams(pb.ListStreamsRequest(**fields), metadata=auth)
        return [s.stream_id for s in page.streams], page.next_cursor

    assert ids() == (["x/1", "x/2", "x/3", "y/1"], "")
    assert ids(prefix="x/") == (["x/1", "x/2", "x/3"], "")
    assert ids(category="c") == (["x/1", "x/3", "y/1"], "")
    first, cursor = ids(prefix="x/", limit=2)
    assert first == ["x/1", "x/2"] and cursor
    assert ids(prefix="x/", limit=2, cursor=cursor) == (["x/3"], "")


def test_any_printable_state_id_works_in_every_method(stub, auth):
    for stream_id in ["/unique/path/to/file", "some.nickname", "ünï ✓/ß", "a" * 256]:
        append(stub, auth, stream_id, new_event("A"))
        assert read(stub, auth, stream_id)[0][0].stream_id == stream_id
        request = pb.GetLatestRequest(stream_id=stream_id)
        assert stub.GetLatest(request, metadata=auth).stream_id == stream_id
        info = stub.GetStream(pb.GetStreamRequest(stream_id=stream_id), metadata=auth)
        assert info.stream_id == stream_id
        page = stub.ListStreams(pb.ListStreamsRequest(prefix=stream_id), metadata=auth)
        assert [s.stream_id for s in page.streams] == [stream_id]
