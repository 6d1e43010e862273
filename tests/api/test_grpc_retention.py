"""gRPC: GetRetention, SetRetention, ClearRetention, Scavenge and Erase, their errors, scopes
and audit records."""

from __future__ import annotations

import grpc
import pytest

from api.models import AuditRecord
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


def test_set_get_clear_and_scavenge(stub, keys, settings):
    settings.FLIPBOOK_RETENTION = {"g-cat": {"max_count": 3}}
    auth, admin = keys["write"], keys["admin"]
    append(stub, auth, "g-ret", 5, category="g-cat")
    get = pb.GetRetentionRequest(stream_id="g-ret")
    inherited = stub.GetRetention(get, metadata=auth, timeout=WAIT)
    assert (inherited.source, inherited.max_count, inherited.category) == ("category", 3, "g-cat")
    assert not inherited.HasField("max_age") and not inherited.HasField("updated_at")
    own = stub.SetRetention(
        pb.SetRetentionRequest(stream_id="g-ret", max_count=1), metadata=auth, timeout=WAIT
    )
    assert (own.source, own.max_count, own.HasField("max_age")) == ("stream", 1, False)
    assert own.HasField("updated_at")
    report = stub.Scavenge(pb.ScavengeRequest(limit=2), metadata=admin, timeout=WAIT)
    assert (report.truncated_streams, report.removed_events, report.complete) == (1, 2, False)
    report = stub.Scavenge(pb.ScavengeRequest(), metadata=admin, timeout=WAIT)
    assert (report.truncated_streams, report.removed_events, report.complete) == (0, 2, True)
    assert [e.version for e in services.read_stream("g-ret").items] == [5]
    back = stub.ClearRetention(get, metadata=auth, timeout=WAIT)
    assert (back.source, back.max_count) == ("category", 3)
    error = refused(lambda: stub.ClearRetention(get, metadata=auth), grpc.StatusCode.NOT_FOUND)
    assert error["code"] == "not_found"
    trail = list(AuditRecord.objects.order_by("id").values_list("interface", "action"))
    assert trail == [
        ("grpc", "stream.retention_set"),
        ("grpc", "store.scavenge"),
        ("grpc", "store.scavenge"),
        ("grpc", "stream.retention_clear"),
    ]


def test_bad_policies_and_scavenge_requests(stub, keys):
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    for request in (
        pb.SetRetentionRequest(stream_id="g-bad"),
        pb.SetRetentionRequest(stream_id="g-bad", max_count=0),
        pb.SetRetentionRequest(stream_id="g-bad", max_age=-1),
        pb.SetRetentionRequest(stream_id="", max_age=1),
    ):
        error = refused(lambda r=request: stub.SetRetention(r, metadata=keys["write"]), invalid)
        assert error["code"] == "validation_error"
    for request in (pb.ScavengeRequest(limit=100_001), pb.ScavengeRequest(batch=-1)):
        refused(lambda r=request: stub.Scavenge(r, metadata=keys["admin"]), invalid)


def test_scopes(stub, keys):
    denied = grpc.StatusCode.PERMISSION_DENIED
    policy = pb.SetRetentionRequest(stream_id="tenant-b/x", max_age=60)
    for key in ("read", "prefix"):
        refused(lambda k=key: stub.SetRetention(policy, metadata=keys[k]), denied)
    mine = pb.SetRetentionRequest(stream_id="tenant-a/x", max_age=60)
    assert stub.SetRetention(mine, metadata=keys["prefix"], timeout=WAIT).max_age == 60
    get = pb.GetRetentionRequest(stream_id="tenant-a/x")
    assert stub.GetRetention(get, metadata=keys["read"], timeout=WAIT).source == "stream"
    for key in ("read", "write", "prefix"):
        refused(lambda k=key: stub.Scavenge(pb.ScavengeRequest(), metadata=keys[k]), denied)
        erase = pb.EraseRequest(subject="m-1")
        refused(lambda k=key, r=erase: stub.Erase(r, metadata=keys[k]), denied)
    refused(lambda: stub.Scavenge(pb.ScavengeRequest()), grpc.StatusCode.UNAUTHENTICATED)


def test_erase(stub, keys, settings):
    settings.FLIPBOOK_PERSONAL_DATA = {
        "CATEGORIES": {"member": {"fields": ["$.email"], "subject": "$.member"}}
    }
    services.append_to_stream(
        "member/g1",
        [{"name": "Joined", "payload": {"member": "m-g", "email": "g@example.com", "n": 1}}],
        category="member",
    )
    erased = stub.Erase(pb.EraseRequest(subject="m-g"), metadata=keys["admin"], timeout=WAIT)
    assert (erased.subject, erased.keys_destroyed, erased.streams) == ("m-g", 1, 1)
    assert erased.erased_by.startswith("key:grpc-admin#") and erased.HasField("erased_at")
    payload = services.read_stream("member/g1").items[0].payload
    assert payload["email"] == {"erased": True} and payload["n"] == 1
    again = pb.EraseRequest(subject="m-g")
    refused(lambda: stub.Erase(again, metadata=keys["admin"]), grpc.StatusCode.NOT_FOUND)
    record = AuditRecord.objects.get(action="subject.erase")
    assert (record.interface, record.target) == ("grpc", "m-g")
