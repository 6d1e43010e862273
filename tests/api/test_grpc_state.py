"""EventStore.GetState and the SnapshotStore service through a real gRPC server, on SQLite and
PostgreSQL: states by version and by time, snapshots set and got, and their status codes."""

from __future__ import annotations

import datetime as dt
import json

import grpc
import pytest

from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from snapshots.models import Category
from tests.api.grpc_helpers import (
    WAIT,
    bearer,
    error_of,
    issue_keys,
    new_event,
    running_server,
    snapshot_stubs,
    timestamp,
)
from tests.api.rest_helpers import stores  # noqa: F401  (fixture)

WALLET = "wallet/alice"
T1 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)


def boom_on_2(state, event):
    if event.version == 2:
        raise ValueError("two is right out")
    return {"n": (state or {}).get("n", 0) + 1}


@pytest.fixture(scope="module")
def stubs():
    with running_server() as port, snapshot_stubs(port) as stubs:
        yield stubs


@pytest.fixture
def events_stub(stubs):
    return stubs[0]


@pytest.fixture
def snapshots_stub(stubs):
    return stubs[1]


@pytest.fixture
def keys(stores):  # noqa: F811  (the stores fixture)
    return issue_keys()


@pytest.fixture
def auth(keys):
    return bearer(keys["admin"])


def append(stub, auth, stream_id, *events, **fields):
    request = pb.AppendRequest(stream_id=stream_id, events=events, **fields)
    return stub.Append(request, metadata=auth, timeout=WAIT)


def get_state(stub, auth, stream_id, **fields):
    request = pb.GetStateRequest(stream_id=stream_id, **fields)
    return stub.GetState(request, metadata=auth, timeout=WAIT)


def set_snapshot(stub, auth, stream_id, version, payload, **fields):
    request = pb.SetSnapshotRequest(
        stream_id=stream_id, version=version, payload=json.dumps(payload).encode(), **fields
    )
    return stub.Set(request, metadata=auth, timeout=WAIT)


def get_snapshot(stub, auth, stream_id, **fields):
    request = pb.GetSnapshotRequest(stream_id=stream_id, **fields)
    return stub.Get(request, metadata=auth, timeout=WAIT)


def fails(call, code: str) -> dict:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code().name == code, caught.value.details()
    body = error_of(caught.value)
    assert body["message"] == caught.value.details()
    return body


def test_wallet_balance_is_70_at_version_3(events_stub, snapshots_stub, auth):
    Category.objects.create(
        name="wallet", reducer="python", python_path="snapshots.demo_reducers.wallet"
    )
    append(
        events_stub,
        auth,
        WALLET,
        new_event("Opened", {"owner": "alice", "currency": "EUR"}),
        new_event("Deposited", {"amount": 100}),
        new_event("Withdrawn", {"amount": 30}),
        expected_version=0,
        category="wallet",
    )
    state = get_state(events_stub, auth, WALLET, version=3)
    assert json.loads(state.state) == {"owner": "alice", "currency": "EUR", "balance": 70}
    assert state.stream_id == WALLET and state.HasField("version") and state.version == 3
    assert state.category == "wallet" and state.reducer == "python"
    assert state.revision == "python:snapshots.demo_reducers.wallet:1"
    assert not state.HasField("snapshot") and state.events_read == 3
    assert not state.HasField("at") and not state.HasField("known_at")
    assert state.HasField("recorded_at")
    assert get_state(events_stub, auth, WALLET).version == 3  # unset: the latest
    assert get_state(events_stub, auth, WALLET, version=0).version == 3
    assert json.loads(get_state(events_stub, auth, WALLET, version=2).state)["balance"] == 100

    # A snapshot of the reducer's revision is where the fold starts.
    set_snapshot(snapshots_stub, auth, WALLET, 2, {"balance": 100}, revision=state.revision)
    from_snapshot = get_state(events_stub, auth, WALLET, version=3)
    assert json.loads(from_snapshot.state) == {"balance": 70}
    assert from_snapshot.events_read == 1
    assert from_snapshot.snapshot.version == 2
    assert from_snapshot.snapshot.revision == state.revision
    assert from_snapshot.snapshot.payload == b""


def test_state_at_a_time_and_as_known_at_a_time(events_stub, auth):
    first = append(events_stub, auth, "t", new_event("A", {"a": 1}, timestamp=T2))
    second = append(events_stub, auth, "t", new_event("B", {"b": 2}, timestamp=T1))
    late = timestamp(dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    state = get_state(events_stub, auth, "t", at=late)
    assert json.loads(state.state) == {"a": 1, "b": 2} and state.version == 2
    assert state.at == late and not state.HasField("known_at")
    early = get_state(events_stub, auth, "t", at=timestamp(T1 + dt.timedelta(hours=12)))
    assert json.loads(early.state) == {"b": 2} and early.events_applied == 1
    known = get_state(events_stub, auth, "t", at=late, known_at=first.events[0].recorded_at)
    assert json.loads(known.state) == {"a": 1} and known.version == 1
    assert known.known_at == first.events[0].recorded_at
    assert known.HasField("timestamp") and known.timestamp.ToDatetime(dt.UTC) == T2
    both = get_state(events_stub, auth, "t", at=late, known_at=second.events[0].recorded_at)
    assert json.loads(both.state) == {"a": 1, "b": 2}


def test_set_and_get_snapshots(events_stub, snapshots_stub, auth):
    append(events_stub, auth, "/unique/path/to/file", *[new_event(n) for n in "ABCD"])
    stored = set_snapshot(
        snapshots_stub,
        auth,
        "/unique/path/to/file",
        2,
        {"size": 2, "ü": [1, None]},
        label="nightly",
        timestamp=timestamp(T1),
        ttl=3600,
    )
    assert stored.stream_id == "/unique/path/to/file" and stored.version == 2
    assert json.loads(stored.payload) == {"size": 2, "ü": [1, None]}
    assert stored.revision == "client" and stored.label == "nightly"
    assert stored.timestamp.ToDatetime(dt.UTC) == T1
    assert not stored.HasField("recorded_at")
    assert stored.HasField("created_at") and stored.HasField("expires_at")
    set_snapshot(snapshots_stub, auth, "/unique/path/to/file", 4, [4], revision="mine:1")
    empty = snapshots_stub.Set(
        pb.SetSnapshotRequest(stream_id="/unique/path/to/file", version=3),
        metadata=auth,
        timeout=WAIT,
    )
    assert json.loads(empty.payload) is None and not empty.HasField("expires_at")

    latest = get_snapshot(snapshots_stub, auth, "/unique/path/to/file")
    assert (latest.version, json.loads(latest.payload)) == (4, [4])
    at_3 = get_snapshot(snapshots_stub, auth, "/unique/path/to/file", version=3)
    assert at_3.version == 3
    at_2 = get_snapshot(snapshots_stub, auth, "/unique/path/to/file", version=2)
    assert json.loads(at_2.payload) == {"size": 2, "ü": [1, None]}
    of_client = get_snapshot(snapshots_stub, auth, "/unique/path/to/file", revision="client")
    assert of_client.version == 3


def test_not_found(events_stub, snapshots_stub, auth):
    append(events_stub, auth, "s", new_event("A"), new_event("B"))
    body = fails(lambda: get_state(events_stub, auth, "missing"), "NOT_FOUND")
    assert body["code"] == "not_found"
    beyond = fails(lambda: get_state(events_stub, auth, "s", version=5), "NOT_FOUND")
    assert beyond["details"]["current_version"] == 2
    fails(lambda: set_snapshot(snapshots_stub, auth, "missing", 1, 1), "NOT_FOUND")
    none = fails(lambda: get_snapshot(snapshots_stub, auth, "s"), "NOT_FOUND")
    assert none["code"] == "not_found"
    set_snapshot(snapshots_stub, auth, "s", 2, {})
    fails(lambda: get_snapshot(snapshots_stub, auth, "s", version=1), "NOT_FOUND")


def test_invalid_arguments_name_the_field(events_stub, snapshots_stub, auth):
    append(events_stub, auth, "s", new_event("A"))
    append(events_stub, auth, "log", new_event("Line"), kind=pb.STREAM_KIND_NEUTRAL)
    at = timestamp(T1)
    bad = [
        (lambda: get_state(events_stub, auth, "", version=1), "stream_id"),
        (lambda: get_state(events_stub, auth, "s", version=-1), "version"),
        (lambda: get_state(events_stub, auth, "s", known_at=at), "known_at"),
        (lambda: get_state(events_stub, auth, "log", version=1), "version"),
        (lambda: set_snapshot(snapshots_stub, auth, "s", 0, 1), "version"),
        (lambda: set_snapshot(snapshots_stub, auth, "s", 2, 1), "version"),
        (lambda: set_snapshot(snapshots_stub, auth, "log", 1, 1), "version"),
        (lambda: set_snapshot(snapshots_stub, auth, "s", 1, 1, ttl=0), "ttl"),
        (lambda: set_snapshot(snapshots_stub, auth, "s", 1, 1, label="a\x00"), "label"),
        (
            lambda: snapshots_stub.Set(
                pb.SetSnapshotRequest(stream_id="s", version=1, payload=b"{nope"),
                metadata=auth,
                timeout=WAIT,
            ),
            "payload",
        ),
        (lambda: get_snapshot(snapshots_stub, auth, "s", version=-1), "version"),
        (lambda: get_snapshot(snapshots_stub, auth, "\x01"), "stream_id"),
    ]
    for call, field in bad:
        body = fails(call, "INVALID_ARGUMENT")
        assert body["code"] == "validation_error"
        assert body["details"]["field"] == field, body


def test_a_failing_reducer_is_failed_precondition(events_stub, auth):
    append(events_stub, auth, "b", *[new_event(n) for n in "ABC"], category="broken")
    Category.objects.create(
        name="broken", reducer="python", python_path="tests.api.test_grpc_state.boom_on_2"
    )
    assert json.loads(get_state(events_stub, auth, "b", version=1).state) == {"n": 1}
    body = fails(lambda: get_state(events_stub, auth, "b"), "FAILED_PRECONDITION")
    assert body["code"] == "reducer_error" and "two is right out" in body["message"]


def test_keys_scopes_and_prefixes(events_stub, snapshots_stub, keys):
    admin = bearer(keys["admin"])
    mine, others = "tenant-a/1", "tenant-b/1"
    for stream_id in (mine, others):
        append(events_stub, admin, stream_id, new_event("A"))
        set_snapshot(snapshots_stub, admin, stream_id, 1, {})

    def outcomes(key: str, stream_id: str) -> dict[str, str]:
        auth = bearer(keys[key])
        calls = {
            "GetState": lambda: get_state(events_stub, auth, stream_id),
            "Get": lambda: get_snapshot(snapshots_stub, auth, stream_id),
            "Set": lambda: set_snapshot(snapshots_stub, auth, stream_id, 1, {"k": key}),
        }
        got = {}
        for name, call in calls.items():
            try:
                call()
                got[name] = "OK"
            except grpc.RpcError as error:
                got[name] = error.code().name
        return got

    ok = {"GetState": "OK", "Get": "OK", "Set": "OK"}
    denied = {"GetState": "PERMISSION_DENIED", "Get": "PERMISSION_DENIED"}
    assert outcomes("read", mine) == ok | {"Set": "PERMISSION_DENIED"}
    assert outcomes("write", others) == ok
    assert outcomes("admin", others) == ok
    assert outcomes("prefix", mine) == ok
    assert outcomes("prefix", others) == denied | {"Set": "PERMISSION_DENIED"}
    body = fails(
        lambda: set_snapshot(snapshots_stub, bearer(keys["read"]), mine, 1, {}),
        "PERMISSION_DENIED",
    )
    assert body["details"]["needed_scope"] == "write"
    for call in (
        lambda: get_state(events_stub, (), mine),
        lambda: get_snapshot(snapshots_stub, bearer("fbk_nope_x"), mine),
    ):
        fails(call, "UNAUTHENTICATED")
