"""gRPC durable subscriptions: the Subscriptions service and EventStore.Subscribe through a
real server, on every backend."""

from __future__ import annotations

import queue
import threading

import grpc
import pytest

from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from subscriptions.notifier import notifier
from tests.api.grpc_helpers import WAIT, bearer, error_of, issue_keys, new_event, running_server
from tests.waiting import wait_until

ABSENCE_WINDOW = 0.3  # seconds to watch that nothing more is sent


@pytest.fixture(scope="module")
def stubs():
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=WAIT)
        yield (
            eventstore_pb2_grpc.EventStoreStub(channel),
            eventstore_pb2_grpc.SubscriptionsStub(channel),
        )


@pytest.fixture
def keys(db_backend):
    return issue_keys()


def append(store, auth, stream_id, *names, category=""):
    request = pb.AppendRequest(
        stream_id=stream_id, events=[new_event(n) for n in names], category=category
    )
    return [e.position for e in store.Append(request, metadata=auth, timeout=WAIT).events]


def test_manage_pull_and_park(stubs, keys):
    store, subs = stubs
    auth = bearer(keys["write"])
    first = append(store, auth, "w-1", "Opened", "Deposited", "Closed", category="wallet")
    created = subs.CreateSubscription(
        pb.CreateSubscriptionRequest(
            name="ledger", filter=pb.SubscriptionFilter(category="wallet"), max_attempts=2
        ),
        metadata=auth,
        timeout=WAIT,
    )
    assert (created.name, created.filter.category, created.checkpoint, created.lag) == (
        "ledger",
        "wallet",
        0,
        3,
    )
    with pytest.raises(grpc.RpcError) as taken:
        subs.CreateSubscription(pb.CreateSubscriptionRequest(name="ledger"), metadata=auth)
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_of(taken.value)["code"] == "already_exists"

    batch = subs.Next(pb.NextRequest(name="ledger", max=2), metadata=auth, timeout=WAIT)
    assert [e.position for e in batch.events] == first[:2] and batch.checkpoint == 0
    acked = subs.Ack(pb.AckRequest(name="ledger", position=first[0]), metadata=auth)
    assert acked.checkpoint == first[0] and acked.lag == 2
    for attempt in (1, 2):
        result = subs.Nack(
            pb.NackRequest(name="ledger", position=first[1], error="boom"), metadata=auth
        )
        assert (result.attempts, result.parked) == (attempt, attempt == 2)
    parked = subs.ListParked(pb.ListParkedRequest(name="ledger"), metadata=auth).items
    assert [(p.position, p.name, p.error) for p in parked] == [(first[1], "Deposited", "boom")]
    retried = subs.RetryParked(
        pb.ParkedEventRequest(name="ledger", position=first[1]), metadata=auth
    )
    assert retried.status == "retry"
    batch = subs.Next(pb.NextRequest(name="ledger"), metadata=auth, timeout=WAIT)
    assert [e.position for e in batch.events] == [first[1], first[2]]
    subs.Ack(pb.AckRequest(name="ledger", position=first[2]), metadata=auth)
    info = subs.GetSubscription(pb.GetSubscriptionRequest(name="ledger"), metadata=auth)
    assert (info.lag, info.parked, info.status) == (0, 0, "live")
    reset = subs.ResetSubscription(
        pb.ResetSubscriptionRequest(name="ledger", start=pb.SUBSCRIPTION_START_BEGINNING),
        metadata=auth,
    )
    assert reset.checkpoint == 0
    listed = subs.ListSubscriptions(pb.ListSubscriptionsRequest(), metadata=auth)
    assert [s.name for s in listed.items] == ["ledger"]
    subs.DeleteSubscription(pb.DeleteSubscriptionRequest(name="ledger"), metadata=auth)
    with pytest.raises(grpc.RpcError) as missing:
        subs.GetSubscription(pb.GetSubscriptionRequest(name="ledger"), metadata=auth)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_scopes(stubs, keys):
    _, subs = stubs
    with pytest.raises(grpc.RpcError) as denied:
        subs.CreateSubscription(
            pb.CreateSubscriptionRequest(name="r"), metadata=bearer(keys["read"])
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    subs.CreateSubscription(pb.CreateSubscriptionRequest(name="r"), metadata=bearer(keys["write"]))
    subs.Next(pb.NextRequest(name="r"), metadata=bearer(keys["read"]), timeout=WAIT)
    with pytest.raises(grpc.RpcError) as prefixed:
        subs.Next(pb.NextRequest(name="r"), metadata=bearer(keys["prefix"]), timeout=WAIT)
    assert prefixed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as anonymous:
        subs.Next(pb.NextRequest(name="r"), timeout=WAIT)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


def _reader(call, received: queue.Queue) -> threading.Thread:
    def run() -> None:
        try:
            for response in call:
                received.put(response)
        except grpc.RpcError as exc:
            received.put(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _take(received: queue.Queue) -> pb.SubscribeResponse:
    item = received.get(timeout=WAIT)
    assert not isinstance(item, grpc.RpcError), item
    return item


def _assert_nothing_arrives(received: queue.Queue, seconds: float) -> None:
    """An absence can only be watched for a while: fail if anything arrives within
    ``seconds`` (a message the server sent just before it began to wait is in flight)."""
    try:
        item = received.get(timeout=seconds)
    except queue.Empty:
        return
    raise AssertionError(f"nothing should have been sent, got {item}")


def test_subscribe_catches_up_goes_live_and_waits_for_acks(stubs, keys):
    store, subs = stubs
    auth = bearer(keys["write"])
    old = append(store, auth, "s", "E1", "E2", "E3")
    subs.CreateSubscription(pb.CreateSubscriptionRequest(name="live"), metadata=auth)
    received: queue.Queue = queue.Queue()
    call = store.Subscribe(pb.SubscribeRequest(name="live", max_in_flight=2), metadata=auth)
    _reader(call, received)
    try:
        assert [_take(received).event.position for _ in range(2)] == old[:2]
        # Two in flight: the stream waits on the notifier for an ack, having sent all it will.
        wait_until(
            lambda: notifier.waiting >= 1,
            timeout=WAIT,
            message="the Subscribe stream did not wait for an ack",
        )
        _assert_nothing_arrives(received, ABSENCE_WINDOW)
        subs.Ack(pb.AckRequest(name="live", position=old[1]), metadata=auth)
        assert _take(received).event.position == old[2]
        caught_up = _take(received)
        assert caught_up.WhichOneof("item") == "caught_up"
        assert caught_up.caught_up.position >= old[2]
        # a nack: the event is sent again
        subs.Nack(pb.NackRequest(name="live", position=old[2], error="x"), metadata=auth)
        assert _take(received).event.position == old[2]
        subs.Ack(pb.AckRequest(name="live", position=old[2]), metadata=auth)
        new = append(store, auth, "s", "E4")
        assert _take(received).event.position == new[0]
    finally:
        call.cancel()


def test_subscribe_needs_a_subscription_and_a_read_key(stubs, keys):
    store, _ = stubs
    with pytest.raises(grpc.RpcError) as missing:
        list(store.Subscribe(pb.SubscribeRequest(name="nope"), metadata=bearer(keys["read"])))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as prefixed:
        list(store.Subscribe(pb.SubscribeRequest(name="nope"), metadata=bearer(keys["prefix"])))
    assert prefixed.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_subscribe_sends_retries_of_parked_events(stubs, keys):
    store, subs = stubs
    auth = bearer(keys["write"])
    old = append(store, auth, "r", "E1", "E2")
    subs.CreateSubscription(
        pb.CreateSubscriptionRequest(name="retrying", max_attempts=2), metadata=auth
    )
    for _ in range(2):
        subs.Nack(pb.NackRequest(name="retrying", position=old[0], error="x"), metadata=auth)
    subs.Ack(pb.AckRequest(name="retrying", position=old[1]), metadata=auth)
    received: queue.Queue = queue.Queue()
    call = store.Subscribe(pb.SubscribeRequest(name="retrying"), metadata=auth)
    _reader(call, received)
    try:
        assert _take(received).WhichOneof("item") == "caught_up"
        subs.RetryParked(pb.ParkedEventRequest(name="retrying", position=old[0]), metadata=auth)
        assert _take(received).event.position == old[0]
        subs.Nack(pb.NackRequest(name="retrying", position=old[0], error="y"), metadata=auth)
        assert _take(received).event.position == old[0]  # one attempt left: sent again
        subs.Ack(pb.AckRequest(name="retrying", position=old[0]), metadata=auth)
        info = subs.GetSubscription(pb.GetSubscriptionRequest(name="retrying"), metadata=auth)
        assert (info.parked, info.lag) == (0, 0)
    finally:
        call.cancel()


def test_streams_beyond_the_cap_are_refused_and_the_room_comes_back(stubs, keys):
    from api.grpc.subscriptions import MAX_WAITING_CALLS

    store, subs = stubs
    auth = bearer(keys["write"])
    subs.CreateSubscription(pb.CreateSubscriptionRequest(name="many"), metadata=auth)
    calls, queues = [], []
    try:
        for _ in range(MAX_WAITING_CALLS):
            received: queue.Queue = queue.Queue()
            call = store.Subscribe(pb.SubscribeRequest(name="many"), metadata=auth)
            _reader(call, received)
            assert _take(received).WhichOneof("item") == "caught_up"
            calls.append(call)
            queues.append(received)
        with pytest.raises(grpc.RpcError) as refused:
            list(store.Subscribe(pb.SubscribeRequest(name="many"), metadata=auth, timeout=WAIT))
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        # a waiting Next is answered at once instead of taking a thread (an empty batch)
        batch = subs.Next(pb.NextRequest(name="many", wait_seconds=1), metadata=auth)
        assert list(batch.events) == []
    finally:
        for call in calls:
            call.cancel()

    def a_stream_is_accepted() -> bool:
        received: queue.Queue = queue.Queue()
        call = store.Subscribe(pb.SubscribeRequest(name="many"), metadata=auth)
        _reader(call, received)
        item = received.get(timeout=WAIT)
        call.cancel()
        return not isinstance(item, grpc.RpcError)

    # Cancelled streams give their room back (each ends when its server thread sees it).
    wait_until(
        a_stream_is_accepted,
        timeout=WAIT,
        interval=0.1,
        message="the cancelled streams did not give their room back",
    )


def test_pause_and_resume_need_write_scope_and_stop_delivery(stubs, keys):
    store, subs = stubs
    write, read = bearer(keys["write"]), bearer(keys["read"])
    subs.CreateSubscription(
        pb.CreateSubscriptionRequest(name="p.sub", filter=pb.SubscriptionFilter(category="pz")),
        metadata=write,
        timeout=WAIT,
    )
    positions = append(store, write, "pz-1", "A", "B", category="pz")
    for call, request in (
        (subs.PauseSubscription, pb.PauseSubscriptionRequest(name="p.sub")),
        (subs.ResumeSubscription, pb.ResumeSubscriptionRequest(name="p.sub")),
    ):
        with pytest.raises(grpc.RpcError) as denied:
            call(request, metadata=read, timeout=WAIT)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as prefixed:
            call(request, metadata=bearer(keys["prefix"]), timeout=WAIT)
        assert prefixed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    paused = subs.PauseSubscription(
        pb.PauseSubscriptionRequest(name="p.sub"), metadata=write, timeout=WAIT
    )
    assert (paused.paused, paused.status) == (True, "paused")
    batch = subs.Next(pb.NextRequest(name="p.sub"), metadata=read, timeout=WAIT)
    assert list(batch.events) == []
    resumed = subs.ResumeSubscription(
        pb.ResumeSubscriptionRequest(name="p.sub"), metadata=write, timeout=WAIT
    )
    assert resumed.paused is False and resumed.status != "paused"
    batch = subs.Next(pb.NextRequest(name="p.sub"), metadata=read, timeout=WAIT)
    assert [e.position for e in batch.events] == positions
    with pytest.raises(grpc.RpcError) as missing:
        subs.PauseSubscription(
            pb.PauseSubscriptionRequest(name="p.none"), metadata=write, timeout=WAIT
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
