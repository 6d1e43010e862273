"""Authentication and authorisation of the gRPC API (no key, read, write, prefix keys), and
the health and reflection services, which answer without a key."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from api.models import ApiKey
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from tests.api.grpc_helpers import WAIT, bearer, error_of, issue_keys, new_event, running_server

MINE, OTHERS = "tenant-a/1", "tenant-b/1"


@pytest.fixture(scope="module")
def channel():
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=WAIT)
        yield channel


@pytest.fixture
def stub(channel):
    return eventstore_pb2_grpc.EventStoreStub(channel)


def calls(stub):
    """Each method, on a stream inside the prefix key's streams and outside."""

    def unary(method, request):
        return lambda metadata: method(request, metadata=metadata, timeout=WAIT)

    def stream(method, request):
        return lambda metadata: list(method(request, metadata=metadata, timeout=WAIT))

    def append(*stream_ids):
        return [pb.AppendRequest(stream_id=s, events=[new_event("A")]) for s in stream_ids]

    return {
        "Append mine": unary(stub.Append, append(MINE)[0]),
        "Append others": unary(stub.Append, append(OTHERS)[0]),
        "Commit mine": unary(stub.Commit, pb.CommitRequest(streams=append(MINE))),
        "Commit both": unary(stub.Commit, pb.CommitRequest(streams=append(MINE, OTHERS))),
        "Read mine": stream(stub.Read, pb.ReadRequest(stream_id=MINE)),
        "Read others": stream(stub.Read, pb.ReadRequest(stream_id=OTHERS)),
        "GetLatest mine": unary(stub.GetLatest, pb.GetLatestRequest(stream_id=MINE)),
        "GetLatest others": unary(stub.GetLatest, pb.GetLatestRequest(stream_id=OTHERS)),
        "GetStream mine": unary(stub.GetStream, pb.GetStreamRequest(stream_id=MINE)),
        "GetStream others": unary(stub.GetStream, pb.GetStreamRequest(stream_id=OTHERS)),
        "ReadAll": stream(stub.ReadAll, pb.ReadAllRequest()),
        "ListStreams": unary(stub.ListStreams, pb.ListStreamsRequest()),
        "ListStreams others": unary(stub.ListStreams, pb.ListStreamsRequest(prefix="tenant-b/")),
    }


OK, DENIED = "OK", "PERMISSION_DENIED"
# What each key may do; every stream exists (GetLatest and GetStream would be NOT_FOUND).
MATRIX = {
    "read": {
        "Append mine": DENIED,
        "Append others": DENIED,
        "Commit mine": DENIED,
        "Commit both": DENIED,
    },
    "write": {},
    "admin": {},
    "prefix": {
        "Append others": DENIED,
        "Commit both": DENIED,
        "Read others": DENIED,
        "GetLatest others": DENIED,
        "GetStream others": DENIED,
        "ReadAll": DENIED,
    },
}


def outcome(call, metadata) -> str:
    try:
        call(metadata)
    except grpc.RpcError as error:
        assert error_of(error)["message"] == error.details()
        return error.code().name
    return OK


def test_key_scopes_and_prefixes(stub, db_backend):
    keys = issue_keys()
    admin = bearer(keys["admin"])
    for stream_id in (MINE, OTHERS):
        stub.Append(pb.AppendRequest(stream_id=stream_id, events=[new_event("A")]), metadata=admin)
    table = calls(stub)
    for key, refused in MATRIX.items():
        for name, call in table.items():
            expected = refused.get(name, OK)
            assert outcome(call, bearer(keys[key])) == expected, f"{key} key, {name}"


def test_prefix_key_lists_only_its_own_streams(stub, db_backend):
    keys = issue_keys()
    for stream_id in (MINE, "tenant-a/2", OTHERS, "z"):
        request = pb.AppendRequest(stream_id=stream_id, events=[new_event("A")])
        stub.Append(request, metadata=bearer(keys["admin"]))
    prefix_key = bearer(keys["prefix"])

    def listed(prefix):
        page = stub.ListStreams(pb.ListStreamsRequest(prefix=prefix), metadata=prefix_key)
        return [s.stream_id for s in page.streams]

    assert listed("") == listed("tenant") == [MINE, "tenant-a/2"]
    assert listed("tenant-a/2") == ["tenant-a/2"]
    assert listed("tenant-b/") == listed("z") == []  # not its streams: it sees none


def test_missing_or_bad_keys_are_unauthenticated(stub, db_backend):
    key, raw = ApiKey.issue("revoked", "admin")
    key.active = False
    key.save()
    keys = issue_keys()
    _, key_id, _ = keys["admin"].split("_", 2)
    bad = {
        "no key": (),
        "empty": (("authorization", ""),),
        "not bearer": (("authorization", f"Basic {keys['admin']}"),),
        "malformed": bearer("nonsense"),
        "unknown": bearer(f"fbk_{key_id}_wrong-secret"),
        "revoked": bearer(raw),
    }
    table = calls(stub)
    for name, metadata in bad.items():
        for method, call in table.items():
            with pytest.raises(grpc.RpcError) as caught:
                call(metadata)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED, (name, method)
            assert error_of(caught.value)["code"] == "unauthenticated"
    # The key goes in the "authorization" metadata as a Bearer token, any case of "Bearer".
    request = pb.ListStreamsRequest()
    stub.ListStreams(request, metadata=(("authorization", f"bearer {keys['read']}"),))


def test_health_answers_serving_without_a_key(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "flipbook.v1.EventStore", "flipbook.v1.SnapshotStore"):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=WAIT)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as caught:
        health.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=WAIT)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=WAIT)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()


def test_reflection_lists_the_services_and_files_without_a_key(channel):
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="flipbook.v1.EventStore"),
    ]
    listing, files = list(reflection.ServerReflectionInfo(iter(requests), timeout=WAIT))
    names = {s.name for s in listing.list_services_response.service}
    assert names == {
        "flipbook.v1.EventStore",
        "flipbook.v1.SnapshotStore",
        "flipbook.v1.Subscriptions",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    assert files.file_descriptor_response.file_descriptor_proto  # the .proto, for grpcurl


def test_unknown_method_is_unimplemented(channel):
    call = channel.unary_unary("/flipbook.v1.EventStore/Nope")
    with pytest.raises(grpc.RpcError) as caught:
        call(b"", timeout=WAIT)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
