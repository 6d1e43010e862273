"""flipbook_client.Client against a real server, every test over REST and over gRPC:
append, commit, read, latest, stream, feed, state and snapshots round trips, and errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from flipbook_client import (
    Append,
    AppendedEvent,
    AppendResult,
    Client,
    Event,
    NewEvent,
    NotFound,
    Unauthenticated,
    Unavailable,
    Unsupported,
    ValidationError,
    VersionConflict,
)
from tests.processes import free_port


def new_id(prefix: str = "sdk") -> str:
    # Slashes on purpose: ids like paths must work over both transports.
    return f"/{prefix}/{uuid.uuid4().hex}/file"


def test_append_read_latest_stream_round_trip(client: Client):
    stream_id = new_id()
    when = datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
    result = client.append(
        stream_id,
        [
            NewEvent("Opened", {"owner": "alice"}, {"actor": "a"}, when),
            {"name": "Deposited", "payload": {"amount": 100}},
            {"name": "Withdrawn", "payload": {"amount": 30}, "metadata": {"n": [1, 2]}},
        ],
        expected_version=0,
        category="sdk-wallet",
    )
    assert isinstance(result, AppendResult)
    assert (result.stream_id, result.version, result.duplicate) == (stream_id, 3, False)
    assert [e.version for e in result.events] == [1, 2, 3]
    positions = [e.position for e in result.events]
    assert positions == sorted(positions) and len(set(positions)) == 3

    # The result says where each event went, not what it says (the caller sent that).
    assert all(isinstance(e, AppendedEvent) for e in result.events)
    assert not hasattr(result.events[0], "payload")
    assert all(e.recorded_at is not None and e.recorded_at.tzinfo for e in result.events)
    assert result.ids == [e.id for e in result.events]
    assert result.positions == positions

    events = list(client.read(stream_id))
    assert [
        AppendedEvent(e.id, e.version, e.position, e.recorded_at) for e in events
    ] == result.events
    first = events[0]
    assert isinstance(first, Event)
    assert (first.name, first.payload, first.metadata) == (
        "Opened",
        {"owner": "alice"},
        {"actor": "a"},
    )
    assert first.timestamp == when
    assert events[1].timestamp is None and events[1].metadata == {}
    assert events[2].metadata == {"n": [1, 2]}
    assert all(e.recorded_at is not None and e.recorded_at.tzinfo for e in events)

    assert client.latest(stream_id) == events[-1]
    info = client.stream(stream_id)
    assert (info.stream_id, info.kind, info.category, info.version, info.event_count) == (
        stream_id,
        "versioned",
        "sdk-wallet",
        3,
        3,
    )
    assert info.last_position == positions[-1]
    assert [e.version for e in client.read(stream_id, direction="backwards")] == [3, 2, 1]
    assert [e.version for e in client.read(stream_id, from_version=2, to_version=3)] == [2, 3]


def test_read_follows_cursors(client: Client):
    stream_id = new_id()
    client.append(stream_id, [{"name": "Tick", "payload": i} for i in range(7)])
    page = client.read_page(stream_id, limit=3)
    assert [e.payload for e in page.items] == [0, 1, 2]
    assert page.next_cursor
    page = client.read_page(stream_id, limit=3, cursor=page.next_cursor)
    assert [e.payload for e in page.items] == [3, 4, 5]
    # The iterator walks every page (batches of 2 here) without losing or repeating one.
    assert [e.payload for e in client.read(stream_id, batch=2)] == list(range(7))


def test_commit_is_atomic_across_streams(client: Client):
    a, b = new_id("a"), new_id("b")
    result = client.commit(
        [
            Append(a, [{"name": "Sent", "payload": {"amount": 5}}], expected_version=0),
            {"stream_id": b, "events": [{"name": "Received"}], "expected_version": 0},
        ]
    )
    assert [(s.stream_id, s.version) for s in result.streams] == [(a, 1), (b, 1)]
    assert result.last_position == max(e.position for e in result.events)

    with pytest.raises(VersionConflict) as conflict:
        client.commit(
            [
                Append(a, [{"name": "Sent"}], expected_version=1),
                Append(b, [{"name": "Received"}], expected_version=0),  # b is at 1
            ]
        )
    assert conflict.value.current_version == 1
    assert conflict.value.stream_id == b
    # Nothing of the refused commit was stored, on either stream.
    assert client.stream(a).version == 1 and client.stream(b).version == 1


def test_version_conflict_is_decoded_with_the_current_version(client: Client, transport):
    stream_id = new_id()
    client.append(stream_id, [{"name": "One"}, {"name": "Two"}], expected_version=0)
    with pytest.raises(VersionConflict) as caught:
        client.append(stream_id, [{"name": "Three"}], expected_version=1)
    error = caught.value
    assert error.code == "version_conflict"
    assert error.current_version == 2
    assert error.expected_version == 1
    assert error.stream_id == stream_id
    assert error.status == (409 if transport == "rest" else "FAILED_PRECONDITION")
    assert "version 2" in error.message


def test_errors_are_decoded(client: Client, flipbook_server, transport):
    with pytest.raises(NotFound) as missing:
        client.latest(new_id("missing"))
    assert missing.value.code == "not_found"

    with pytest.raises(ValidationError) as invalid:
        client.append(new_id(), [{"name": ""}])
    assert invalid.value.field == "events[0].name"

    url = flipbook_server.url(transport)
    with Client(url, "not-a-key", transport) as stranger, pytest.raises(Unauthenticated):
        stranger.stream(new_id())


def test_idempotent_resend_is_flagged_duplicate(client: Client):
    stream_id = new_id()
    events = [NewEvent("Created", {"n": 1}, id=str(uuid.uuid4()))]
    first = client.append(stream_id, events, expected_version=0)
    again = client.append(stream_id, events, expected_version=0)
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.events == first.events


def test_read_all_and_list_streams(client: Client):
    category = f"sdk-{uuid.uuid4().hex[:8]}"
    prefix = f"feed-{uuid.uuid4().hex}/"
    appended = [
        client.append(f"{prefix}{i}", [{"name": "Made", "payload": i}], category=category)
        for i in range(3)
    ]
    first = appended[0].events[0].position
    page = client.read_all(after=first - 1, limit=100, categories=[category])
    assert [e.payload for e in page.events] == [0, 1, 2]
    assert page.next_after >= appended[-1].events[0].position
    listed = client.list_streams(prefix=prefix, limit=2)
    assert [s.stream_id for s in listed.items] == [f"{prefix}0", f"{prefix}1"]
    rest = client.list_streams(prefix=prefix, limit=2, cursor=listed.next_cursor)
    assert [s.stream_id for s in rest.items] == [f"{prefix}2"]


def test_state_round_trip(client: Client):
    stream_id = new_id()
    client.append(
        stream_id,
        [
            {"name": "Set", "payload": {"a": 1}, "timestamp": "2024-01-01T00:00:00Z"},
            {"name": "Set", "payload": {"b": {"c": 2}}, "timestamp": "2024-02-01T00:00:00Z"},
        ],
    )
    state = client.state(stream_id)
    assert (state.version, state.state, state.reducer) == (2, {"a": 1, "b": {"c": 2}}, "merge")
    assert client.state(stream_id, version=1).state == {"a": 1}
    assert client.state(stream_id, at="2024-01-15T00:00:00Z").state == {"a": 1}
    assert client.state(stream_id, at=datetime(2024, 3, 1, tzinfo=UTC)).version == 2
    with pytest.raises(NotFound):
        client.state(stream_id, version=9)


def test_snapshots_round_trip(client: Client, transport):
    stream_id = new_id()
    client.append(stream_id, [{"name": "Tick"} for _ in range(4)])
    stored = client.snapshots.set(
        stream_id, 2, {"count": 2}, revision="test:1", label="two", ttl=3600
    )
    assert (stored.version, stored.revision, stored.label, stored.payload) == (
        2,
        "test:1",
        "two",
        {"count": 2},
    )
    assert stored.expires_at is not None
    client.snapshots.set(stream_id, 4, {"count": 4}, revision="test:1")
    assert client.snapshots.get(stream_id, revision="test:1").payload == {"count": 4}
    at_three = client.snapshots.get(stream_id, version=3, revision="test:1")
    assert (at_three.version, at_three.payload) == (2, {"count": 2})
    with pytest.raises(NotFound):
        client.snapshots.get(stream_id, version=1)
    with pytest.raises(NotFound):
        client.snapshots.get(stream_id, revision="other")
    with pytest.raises(ValidationError):
        client.snapshots.set(stream_id, 9, {}, revision="test:1")  # beyond the head
    if transport == "rest":
        assert [s.version for s in client.snapshots.list(stream_id)] == [2, 4]
    else:
        with pytest.raises(Unsupported):
            client.snapshots.list(stream_id)


def test_an_unreachable_server_is_unavailable(transport):
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}" if transport == "rest" else f"127.0.0.1:{port}"
    with Client(url, "key", transport, timeout=5) as nowhere, pytest.raises(Unavailable):
        nowhere.stream("anything")


@pytest.mark.parametrize(
    "suffix",
    ["/unique/path/to/file", "x/events", "y/events/latest", "z/snapshots/latest", "ünï cødé ✓ ?#%"],
)
def test_any_printable_id_round_trips(client: Client, suffix: str):
    stream_id = f"ids-{uuid.uuid4().hex[:8]}-{suffix}"
    client.append(stream_id, [{"name": "Named", "payload": {"id": stream_id}}])
    assert client.latest(stream_id).payload == {"id": stream_id}
    assert client.stream(stream_id).stream_id == stream_id
    assert [e.stream_id for e in client.read(stream_id)] == [stream_id]
    assert client.snapshots.set(stream_id, 1, {"ok": True}).stream_id == stream_id
    assert client.state(stream_id).stream_id == stream_id
