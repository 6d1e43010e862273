"""The gRPC push transport: delivers a push subscription's batch to an EventHandler service.
Registered with the push worker (subscriptions/push.py) when the api app is ready.

The target's host is resolved and checked by the outbound policy (subscriptions/outbound.py)
before every batch, and the channel connects to the checked address itself, so a name that
resolves elsewhere later (DNS rebinding) cannot lead the worker to a refused address."""

from __future__ import annotations

import grpc

from api.grpc.messages import event_message
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from streams.exceptions import ValidationError
from streams.records import RecordedEvent
from subscriptions.outbound import checked_addresses
from subscriptions.push import Outcome, Transport
from subscriptions.records import PushTarget
from subscriptions.validation import grpc_host

MAX_DETAILS_CHARS = 200


def grpc_transport() -> Transport:
    """A transport with its own channel per checked address (one per worker)."""
    channels: dict[tuple[str, str], grpc.Channel] = {}

    def channel_for(target: str) -> grpc.Channel:
        host, port = grpc_host(target)
        address = checked_addresses(host, port)[0]
        pinned = f"ipv6:[{address}]:{port}" if address.version == 6 else f"ipv4:{address}:{port}"
        channel = channels.get((target, pinned))
        if channel is None:
            channel = channels[(target, pinned)] = grpc.insecure_channel(
                pinned,
                options=[
                    ("grpc.default_authority", target),  # the name, as the handler expects
                    ("grpc.enable_http_proxy", 0),
                ],
            )
        return channel

    def send(target: PushTarget, events: list[RecordedEvent], timeout: float) -> Outcome:
        try:
            channel = channel_for(target.target)
        except ValidationError as exc:
            return Outcome(False, None, f"refused: {exc.message}")
        stub = eventstore_pb2_grpc.EventHandlerStub(channel)
        request = pb.HandleRequest(
            subscription=target.name, events=[event_message(e) for e in events]
        )
        try:
            response = stub.Handle(request, timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code()
            details = "".join(c if c.isprintable() else " " for c in exc.details() or "")
            text = f"{code.name if code else 'UNKNOWN'}: {details[:MAX_DETAILS_CHARS]}".strip()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return Outcome(False, None, text)
            return Outcome(True, None, text)
        return Outcome(True, response.acknowledged_position or None, response.error or None)

    def close() -> None:
        for channel in channels.values():
            channel.close()
        channels.clear()

    send.close = close  # type: ignore[attr-defined]
    return send
