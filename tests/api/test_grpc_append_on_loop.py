"""One-stream Appends answered on the gRPC server's event loop (api/grpc/aio.py, PostgreSQL,
a key verified recently) answer exactly as the threads' path behind the interceptors: the
same response, status, message, error details and request id, the same log line; what the
loop's path leaves to the threads (a key not verified lately, ids the client chose that a
refusal may be re-sending) still answers as before."""

from __future__ import annotations

import logging
import uuid

import grpc
import pytest

from api.grpc import aio
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
from tests.waiting import wait_until


@pytest.fixture
def answered(monkeypatch) -> dict[str, bool]:
    """Per Append, by its request id: whether the loop's path answered it (it still runs).
    Noted once the call is over, which may be after its client has the answer."""
    seen: dict[str, bool] = {}
    real = aio.append

    async def spy(request, context, executor):
        outcome = await real(request, context, executor)
        seen[dict(context.invocation_metadata())["x-request-id"]] = outcome[0]
        return outcome

    monkeypatch.setattr(aio, "append", spy)
    return seen


def taken(answered: dict[str, bool], request_id: str) -> bool:
    wait_until(lambda: request_id in answered, timeout=WAIT, message=f"no call {request_id}")
    return answered[request_id]


@pytest.fixture
def stub(postgres_backend):
    with running_server() as port, event_store_stub(port) as stub:
        yield stub


def call(stub, request, auth, request_id: str | None = None):
    """(response, request id sent back) or (RpcError, request id)."""
    metadata = (*auth, ("x-request-id", request_id or uuid.uuid4().hex))
    try:
        response, call_ = stub.Append.with_call(request, metadata=metadata, timeout=WAIT)
    except grpc.RpcError as error:
        return error, dict(error.initial_metadata() or ()).get("x-request-id")
    return response, dict(call_.initial_metadata()).get("x-request-id")


def append(stream_id: str, *events, **fields) -> pb.AppendRequest:
    return pb.AppendRequest(stream_id=stream_id, events=list(events), **fields)


def test_an_append_by_a_verified_key_is_answered_on_the_loop(stub, answered, caplog):
    keys = issue_keys()
    auth = bearer(keys["write"])
    # The first call verifies the key (a database read): the threads answer it.
    first, first_id = call(stub, append("warm", new_event("Opened")), auth)
    assert not taken(answered, first_id) and first.version == 1
    with caplog.at_level(logging.INFO, logger="flipbook.grpc"):
        response, request_id = call(
            stub, append("acct-1", new_event("Opened", {"n": 1}), expected_version=0), auth, "r-1"
        )
    assert taken(answered, "r-1")
    assert request_id == "r-1"
    assert response.stream_id == "acct-1" and response.version == 1
    assert [e.version for e in response.events] == [1] and response.events[0].position > 0
    stored = services.read_stream("acct-1").items
    assert [(e.name, e.payload, e.position) for e in stored] == [
        ("Opened", {"n": 1}, response.events[0].position)
    ]
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == "r-1"]
    assert [(r.method, r.code) for r in lines] == [("/flipbook.v1.EventStore/Append", "OK")]


ERRORS = {
    # case: (request of a stream that holds one event, key, status)
    "version conflict": (lambda s: append(s, new_event("A"), expected_version=5), "write", 9),
    "bad event": (lambda s: append(s, pb.NewEvent(name="")), "write", 3),
    "read key": (lambda s: append(s, new_event("A")), "read", 7),
    "outside the prefix": (lambda s: append(s, new_event("A")), "prefix", 7),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_on_the_loop_answer_as_the_threads(stub, answered, case):
    request_of, key_name, status = ERRORS[case]
    keys = issue_keys()
    auth = bearer(keys[key_name])
    services.append_to_stream("one", [{"name": "Opened"}], expected_version=0)
    services.append_to_stream("other", [{"name": "Opened"}], expected_version=0)
    call(stub, append(f"warm-{uuid.uuid4()}", new_event("A")), bearer(keys["write"]))
    call(stub, pb.AppendRequest(), auth)  # verifies the key (whatever it answers)
    on_loop, loop_id = call(stub, request_of("one"), auth, "r-loop")
    assert taken(answered, "r-loop")
    # The same call on the threads' path: a key not verified yet there (a new one of the
    # same scope and prefix) is left to the threads by the loop.
    again = {"write": "write", "read": "read", "prefix": "write"}[key_name]
    from api.models import ApiKey

    fresh = ApiKey.issue(f"fresh-{case}", again, "tenant-a/" if key_name == "prefix" else "")[1]
    on_threads, thread_id = call(stub, request_of("other"), bearer(fresh), "r-threads")
    assert not taken(answered, "r-threads")
    assert isinstance(on_loop, grpc.RpcError) and isinstance(on_threads, grpc.RpcError)
    assert on_loop.code().value[0] == status
    assert on_loop.code() == on_threads.code()
    loop_error, thread_error = error_of(on_loop), error_of(on_threads)
    assert loop_error["code"] == thread_error["code"]
    assert loop_error["message"].replace("'one'", "'other'") == thread_error["message"]
    assert (loop_id, thread_id) == ("r-loop", "r-threads")


def test_what_the_loop_leaves_to_the_threads(stub, answered):
    auth = bearer(issue_keys()["write"])
    call(stub, append("warm", new_event("A")), auth)
    event_id = str(uuid.uuid4())
    sent = append("s", new_event("A", id=event_id), expected_version=0)
    first, first_id = call(stub, sent, auth)
    assert first.version == 1 and not first.duplicate and taken(answered, first_id)
    # An identical re-send is refused by the statement; the threads find the original.
    again, again_id = call(stub, sent, auth)
    assert again.duplicate and again.events[0].position == first.events[0].position
    assert not taken(answered, again_id)
    assert [str(e.id) for e in services.read_stream("s").items] == [event_id]
