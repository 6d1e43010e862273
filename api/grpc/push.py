"""The gRPC push transport: delivers a push subscription's batch to an EventHandler service.
Registered with the push worker (subscriptions/push.py) when the api app is ready."""

from __future__ import annotations

import grpc

from api.grpc.messages import event_message
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from streams.records import RecordedEvent
from subscriptions.push import Outcome, Transport
from subscriptions.records import PushTarget


def grpc_transport() -> Transport:
    """A transport with its own channel per target (one per worker)."""
    channels: dict[str, grpc.Channel] = {}

    def send(target: PushTarget, events: list[RecordedEvent], timeout: float) -> Outcome:
        channel = channels.get(target.target)
        if channel is None:
            channel = channels[target.target] = grpc.insecure_channel(target.target)
        stub = eventstore_pb2_grpc.EventHandlerStub(channel)
        request = pb.HandleRequest(
            subscription=target.name, events=[event_message(e) for e in events]
        )
        try:
            response = stub.Handle(request, timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code()
            text = f"{code.name if code else 'UNKNOWN'}: {exc.details() or ''}".strip()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return Outcome(False, None, text)
            return Outcome(True, None, text)
        return Outcome(True, response.acknowledged_position or None, response.error or None)

    return send
