"""The gRPC Subscriptions service records its management calls in the audit trail (who: the
key; from where: the peer's address) and not its reads, acks or nacks."""

from __future__ import annotations

import grpc
import pytest

from api.audit import peer_ip
from api.models import ApiKey, AuditRecord
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from tests.api.grpc_helpers import WAIT, bearer, issue_keys, new_event, running_server


@pytest.fixture(scope="module")
def stubs():
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=WAIT)
        yield (
            eventstore_pb2_grpc.EventStoreStub(channel),
            eventstore_pb2_grpc.SubscriptionsStub(channel),
        )


def test_management_calls_are_audited_and_reads_are_not(stubs, db_backend):
    store, subs = stubs
    keys = issue_keys()
    auth = bearer(keys["write"])
    appended = store.Append(
        pb.AppendRequest(stream_id="g-1", events=[new_event("A"), new_event("B")]),
        metadata=auth,
        timeout=WAIT,
    )
    first = appended.events[0].position
    subs.CreateSubscription(
        pb.CreateSubscriptionRequest(name="g.sub", max_attempts=1), metadata=auth, timeout=WAIT
    )
    subs.Next(pb.NextRequest(name="g.sub"), metadata=auth, timeout=WAIT)
    subs.Nack(pb.NackRequest(name="g.sub", position=first, error="x"), metadata=auth, timeout=WAIT)
    parked = pb.ParkedEventRequest(name="g.sub", position=first)
    subs.RetryParked(parked, metadata=auth, timeout=WAIT)
    subs.SkipParked(parked, metadata=auth, timeout=WAIT)
    subs.ResetSubscription(
        pb.ResetSubscriptionRequest(name="g.sub", start=pb.SUBSCRIPTION_START_END),
        metadata=auth,
        timeout=WAIT,
    )
    subs.PauseSubscription(pb.PauseSubscriptionRequest(name="g.sub"), metadata=auth, timeout=WAIT)
    subs.ResumeSubscription(pb.ResumeSubscriptionRequest(name="g.sub"), metadata=auth, timeout=WAIT)
    subs.DeleteSubscription(pb.DeleteSubscriptionRequest(name="g.sub"), metadata=auth, timeout=WAIT)
    trail = list(AuditRecord.objects.order_by("id"))
    assert [r.action for r in trail] == [
        "subscription.create",
        "parked.retry",
        "parked.skip",
        "subscription.reset",
        "subscription.pause",
        "subscription.resume",
        "subscription.delete",
    ]
    key = ApiKey.objects.get(name="grpc-write")
    assert {r.actor for r in trail} == {f"key:{key.name}#{key.pk}"}
    assert {(r.interface, r.ip) for r in trail} == {("grpc", "127.0.0.1")}
    assert trail[1].details == {"position": first}


def test_peer_addresses():
    assert peer_ip("ipv4:127.0.0.1:50051") == "127.0.0.1"
    assert peer_ip("ipv6:[::1]:50051") == "::1"
    assert peer_ip("unix:/tmp/socket") is None
