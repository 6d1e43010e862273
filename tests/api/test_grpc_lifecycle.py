"""gRPC: Delete and Truncate, their errors (stream_deleted is FAILED_PRECONDITION) and scopes."""

from __future__ import annotations

import grpc
import pytest

from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
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
def keys(db_backend):
    return {name: bearer(raw) for name, raw in issue_keys().items()}


def append(stub, auth, stream_id, count=1, **fields):
    events = [new_event("Happened", {"n": i}) for i in range(count)]
    request = pb.AppendRequest(stream_id=stream_id, events=events, **fields)
    return stub.Append(request, metadata=auth, timeout=WAIT)


def refused(call, code: grpc.StatusCode) -> dict:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    assert raised.value.code() == code
    return error_of(raised.value)


def test_soft_and_hard_delete(stub, keys):
    auth = keys["write"]
    append(stub, auth, "g-soft", 3)
    head = stub.Delete(pb.DeleteRequest(stream_id="g-soft"), metadata=auth, timeout=WAIT)
    assert head.version == 3
    get = pb.GetStreamRequest(stream_id="g-soft")
    assert refused(lambda: stub.GetStream(get, metadata=auth), grpc.StatusCode.NOT_FOUND)
    assert append(stub, auth, "g-soft", 1).events[0].version == 4
    append(stub, auth, "g-hard", 1)
    stub.Delete(pb.DeleteRequest(stream_id="g-hard", hard=True), metadata=auth, timeout=WAIT)
    for call in (
        lambda: append(stub, auth, "g-hard", 1),
        lambda: stub.GetStream(pb.GetStreamRequest(stream_id="g-hard"), metadata=auth),
        lambda: stub.Delete(pb.DeleteRequest(stream_id="g-hard"), metadata=auth),
    ):
        error = refused(call, grpc.StatusCode.FAILED_PRECONDITION)
        assert error["code"] == "stream_deleted"
    missing = pb.DeleteRequest(stream_id="g-missing")
    refused(lambda: stub.Delete(missing, metadata=auth), grpc.StatusCode.NOT_FOUND)


def test_truncate(stub, keys):
    auth = keys["write"]
    append(stub, auth, "g-trunc", 5)
    head = stub.Truncate(
        pb.TruncateRequest(stream_id="g-trunc", before=4), metadata=auth, timeout=WAIT
    )
    assert (head.version, head.event_count) == (5, 2)
    too_far = pb.TruncateRequest(stream_id="g-trunc", before=9)
    refused(lambda: stub.Truncate(too_far, metadata=auth), grpc.StatusCode.INVALID_ARGUMENT)


def test_read_keys_and_keys_outside_their_prefix_may_not_delete(stub, keys):
    append(stub, keys["admin"], "tenant-b/x", 2)
    append(stub, keys["admin"], "tenant-a/x", 2)
    denied = grpc.StatusCode.PERMISSION_DENIED
    for key, sid in (("read", "tenant-a/x"), ("prefix", "tenant-b/x")):
        request = pb.DeleteRequest(stream_id=sid)
        refused(lambda r=request, k=key: stub.Delete(r, metadata=keys[k]), denied)
        truncate = pb.TruncateRequest(stream_id=sid, before=2)
        refused(lambda r=truncate, k=key: stub.Truncate(r, metadata=keys[k]), denied)
    stub.Delete(pb.DeleteRequest(stream_id="tenant-a/x"), metadata=keys["prefix"], timeout=WAIT)
