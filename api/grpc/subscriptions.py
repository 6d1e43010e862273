"""gRPC of durable subscriptions: the Subscriptions servicer and EventStore.Subscribe, both on
streams/subscriptions.py. Reading and acknowledging need read scope, managing write scope;
keys restricted to a stream prefix are refused (subscriptions read the all-feed)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

from api.audit import record_grpc_action
from api.grpc import messages
from api.grpc.interceptors import check_key_still_active, principal_of
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from streams.exceptions import Unavailable, ValidationError
from subscriptions import services as subscriptions

DEFAULT_IN_FLIGHT = 100
MAX_IN_FLIGHT = 10_000
STARTS = {
    pb.SUBSCRIPTION_START_UNSPECIFIED: "beginning",
    pb.SUBSCRIPTION_START_BEGINNING: "beginning",
    pb.SUBSCRIPTION_START_END: "end",
}


# Subscribe streams and waiting Next calls each hold one of the server's worker threads (16 by
# default): at most this many at once, so they can never starve the other calls.
MAX_WAITING_CALLS = 8
_waiting = threading.BoundedSemaphore(MAX_WAITING_CALLS)


def _require(context, scope: str) -> None:
    principal_of(context).require_unrestricted(scope, "subscriptions")


def _audit(context, action: str, name: str, **details: Any) -> None:
    """Record a management action in the audit trail (reads, acks and nacks are not)."""
    record_grpc_action(context.peer(), principal_of(context), action, name, **details)


def _start(message, oneof: str, enum_field: str, after_field: str, field: str) -> Any:
    which = message.WhichOneof(oneof)
    if which == after_field:
        return {"after": getattr(message, after_field)}
    number = getattr(message, enum_field)
    if number not in STARTS:
        raise ValidationError(field, f"{number} is not a known value")
    return STARTS[number]


def subscription_message(info: subscriptions.SubscriptionInfo) -> pb.Subscription:
    """The Subscription message of a subscription's info."""
    message = pb.Subscription(
        name=info.name,
        filter=pb.SubscriptionFilter(
            category=info.filter.category or "",
            stream_id=info.filter.stream_id or "",
            names=list(info.filter.names),
        ),
        checkpoint=info.checkpoint,
        head_position=info.head_position,
        lag=info.lag,
        lag_capped=info.lag_capped,
        status=info.status,
        parked=info.parked,
        max_attempts=info.max_attempts,
        retry_position=info.retry_position or 0,
        retry_attempts=info.retry_attempts,
        last_error=info.last_error,
        paused=info.paused,
    )
    if info.push is not None:
        message.push.CopyFrom(pb.PushEndpoint(**info.push))
    if info.last_heartbeat is not None:
        messages.set_timestamp(message.last_heartbeat, info.last_heartbeat)
    messages.set_timestamp(message.created_at, info.created_at)
    return message


def parked_message(parked: subscriptions.ParkedInfo) -> pb.ParkedEvent:
    message = pb.ParkedEvent(
        position=parked.position,
        stream_id=parked.stream_id,
        name=parked.name,
        event_id=parked.event_id,
        error=parked.error,
        attempts=parked.attempts,
        status=parked.status,
    )
    if parked.version is not None:
        message.version = parked.version
    messages.set_timestamp(message.parked_at, parked.parked_at)
    return message


class SubscriptionsServicer(eventstore_pb2_grpc.SubscriptionsServicer):
    """Implements flipbook.v1.Subscriptions on streams/subscriptions.py."""

    def CreateSubscription(self, request: pb.CreateSubscriptionRequest, context) -> pb.Subscription:
        _require(context, "write")
        flt = request.filter
        push = None
        if request.HasField("push"):
            push = {"kind": request.push.kind}
            if request.push.url:
                push["url"] = request.push.url
            if request.push.target:
                push["target"] = request.push.target
        info = subscriptions.create_subscription(
            request.name,
            filter={
                "category": flt.category or None,
                "stream_id": flt.stream_id or None,
                "names": list(flt.names),
            },
            start=_start(request, "start_at", "start", "start_after", "start"),
            max_attempts=request.max_attempts or None,
            push=push,
        )
        _audit(
            context,
            "subscription.create",
            info.name,
            filter=info.filter.as_dict(),
            checkpoint=info.checkpoint,
        )
        return subscription_message(info)

    def GetSubscription(self, request: pb.GetSubscriptionRequest, context) -> pb.Subscription:
        _require(context, "read")
        return subscription_message(subscriptions.get_subscription(request.name))

    def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context
    ) -> pb.ListSubscriptionsResponse:
        _require(context, "read")
        page = subscriptions.list_subscriptions(
            limit=request.limit or 100, cursor=request.cursor or None
        )
        return pb.ListSubscriptionsResponse(
            items=[subscription_message(i) for i in page.items],
            next_cursor=page.next_cursor or "",
        )

    def DeleteSubscription(
        self, request: pb.DeleteSubscriptionRequest, context
    ) -> pb.DeleteSubscriptionResponse:
        _require(context, "write")
        subscriptions.delete_subscription(request.name)
        _audit(context, "subscription.delete", request.name)
        return pb.DeleteSubscriptionResponse()

    def Next(self, request: pb.NextRequest, context) -> pb.NextResponse:
        _require(context, "read")
        wait = subscriptions.validate_wait(request.wait_seconds)
        # No worker thread to spare for waiting: answer at once; the client polls again.
        holding = wait > 0 and _waiting.acquire(blocking=False)
        try:
            batch = subscriptions.next_batch(
                request.name, max=request.max or 100, wait=wait if holding else 0.0
            )
        finally:
            if holding:
                _waiting.release()
        return pb.NextResponse(
            events=[messages.event_message(e) for e in batch.events], checkpoint=batch.checkpoint
        )

    def Ack(self, request: pb.AckRequest, context) -> pb.Subscription:
        _require(context, "read")
        return subscription_message(subscriptions.ack(request.name, request.position))

    def Nack(self, request: pb.NackRequest, context) -> pb.NackResponse:
        _require(context, "read")
        result = subscriptions.nack(request.name, request.position, request.error)
        return pb.NackResponse(**result.as_dict())

    def ResetSubscription(self, request: pb.ResetSubscriptionRequest, context) -> pb.Subscription:
        _require(context, "write")
        to = _start(request, "to", "start", "after", "to")
        info = subscriptions.reset_subscription(request.name, to)
        _audit(context, "subscription.reset", request.name, to=to, checkpoint_after=info.checkpoint)
        return subscription_message(info)

    def PauseSubscription(self, request: pb.PauseSubscriptionRequest, context) -> pb.Subscription:
        _require(context, "write")
        info = subscriptions.pause_subscription(request.name)
        _audit(context, "subscription.pause", request.name)
        return subscription_message(info)

    def ResumeSubscription(self, request: pb.ResumeSubscriptionRequest, context) -> pb.Subscription:
        _require(context, "write")
        info = subscriptions.resume_subscription(request.name)
        _audit(context, "subscription.resume", request.name)
        return subscription_message(info)

    def ListParked(self, request: pb.ListParkedRequest, context) -> pb.ListParkedResponse:
        _require(context, "read")
        page = subscriptions.list_parked(
            request.name, limit=request.limit or 100, cursor=request.cursor or None
        )
        return pb.ListParkedResponse(
            items=[parked_message(p) for p in page.items], next_cursor=page.next_cursor or ""
        )

    def RetryParked(self, request: pb.ParkedEventRequest, context) -> pb.ParkedEvent:
        _require(context, "write")
        parked = subscriptions.retry_parked(request.name, request.position)
        _audit(context, "parked.retry", request.name, position=request.position)
        return parked_message(parked)

    def SkipParked(self, request: pb.ParkedEventRequest, context) -> pb.Subscription:
        _require(context, "write")
        info = subscriptions.skip_parked(request.name, request.position)
        _audit(context, "parked.skip", request.name, position=request.position)
        return subscription_message(info)

    def ReplayParked(self, request: pb.ParkedEventRequest, context) -> pb.Subscription:
        _require(context, "write")
        info = subscriptions.replay_parked(request.name, request.position)
        _audit(context, "parked.replay", request.name, position=request.position)
        return subscription_message(info)


def subscribe(request: pb.SubscribeRequest, context) -> Iterator[pb.SubscribeResponse]:
    """EventStore.Subscribe: catch up, send ``caught_up`` once, then go live; at most
    ``max_in_flight`` events beyond the checkpoint are sent before it waits for acks (made
    with Subscriptions.Ack/Nack on another call). It waits on the subscription notifier
    without a database connection, and ends when the client goes or the server stops."""
    _require(context, "read")
    in_flight = request.max_in_flight or DEFAULT_IN_FLIGHT
    if not 1 <= in_flight <= MAX_IN_FLIGHT:
        raise ValidationError("max_in_flight", f"must be between 1 and {MAX_IN_FLIGHT}")
    if not _waiting.acquire(blocking=False):
        raise Unavailable(
            f"this server already serves {MAX_WAITING_CALLS} Subscribe streams and waiting "
            "Next calls; retry later, on another server, or pull with Next"
        )
    try:
        yield from _stream(request, context, in_flight)
    finally:
        _waiting.release()


def _stream(request, context, in_flight: int) -> Iterator[pb.SubscribeResponse]:
    notifier = subscriptions.notifier
    context.add_callback(notifier.notify)  # a client that goes wakes its wait at once
    poll_max = float(subscriptions.config("POLL_MAX_SECONDS"))
    cursor: int | None = None
    sent: deque[int] = deque()  # positions sent after the checkpoint, in order
    retries_sent: set[int] = set()
    caught_up = False
    nack_mark = None
    delay = 0.05
    while context.is_active() and not notifier.closed:
        check_key_still_active(context)  # a revoked key's stream ends within seconds
        generation = notifier.generation
        room = in_flight - len(sent)
        delivery = subscriptions.deliver_after(
            request.name, cursor, max=max(room, 0), nack_mark=nack_mark
        )
        nack_mark = delivery.nack_mark
        in_window = len(sent)
        while sent and sent[0] <= delivery.checkpoint:
            sent.popleft()  # acknowledged
        while sent and sent[-1] > delivery.start:
            sent.pop()  # moved back: a nacked event is sent again, with what follows it
        cursor = delivery.start
        # Acks or a nack freed room in the window: read again at once, without waiting.
        progressed = room <= 0 and len(sent) < in_window
        for event, due in delivery.retries:
            # Due: asked for (again) or nacked; not yet sent on this stream: a consumer before
            # this one got it and went without acknowledging it.
            if due or event.position not in retries_sent:
                retries_sent.add(event.position)
                progressed = True
                yield pb.SubscribeResponse(event=messages.event_message(event))
        retries_sent &= {e.position for e, _ in delivery.retries}
        if len(sent) < in_flight:
            for event in delivery.events[: in_flight - len(sent)]:
                sent.append(event.position)
                cursor = event.position
                progressed = True
                yield pb.SubscribeResponse(event=messages.event_message(event))
        if not caught_up and delivery.head is not None:
            caught_up = True
            yield pb.SubscribeResponse(caught_up=pb.Checkpoint(position=delivery.head))
        if progressed:
            delay = 0.05
            continue
        subscriptions.release_connections()
        if not notifier.wait(generation, delay):
            delay = min(delay * 2, poll_max)
