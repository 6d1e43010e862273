"""Item 3: revoking a key closes its open WebSockets and gRPC streams within seconds (REST
honours a revoke within its key cache already)."""

from __future__ import annotations

import queue
import threading
import time

import grpc
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from api.models import ApiKey
from console import consumers
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from streams import services
from subscriptions import services as subs
from tests.api.grpc_helpers import WAIT, bearer, running_server

pytestmark = pytest.mark.django_db(transaction=True)
CHECK_SECONDS = 0.3


@pytest.fixture(autouse=True)
def quick_rechecks(settings):
    settings.FLIPBOOK_REVOCATION_CHECK_SECONDS = CHECK_SECONDS


def revoke(key_text: str) -> None:
    key_id = key_text.split("_")[1]
    ApiKey.objects.filter(key_id=key_id).update(active=False)
    connections.close_all()


@pytest.mark.asyncio
async def test_a_revoked_key_s_socket_is_closed():
    from flipbook_site.asgi import application

    key = (await sync_to_async(ApiKey.issue)("ws-reader", "read"))[1]
    kept = (await sync_to_async(ApiKey.issue)("ws-other", "read"))[1]
    comm = WebsocketCommunicator(application, f"/ws/events?key={key}")
    other = WebsocketCommunicator(application, f"/ws/events?key={kept}")
    for socket in (comm, other):
        assert (await socket.connect(timeout=WAIT))[0]
        await socket.send_json_to({"type": "subscribe", "after": 0})
        assert (await socket.receive_json_from(timeout=WAIT))["type"] == "caught_up"

    started = time.monotonic()
    await sync_to_async(revoke)(key)
    message = await comm.receive_json_from(timeout=WAIT)
    assert message == {
        "type": "error",
        "code": "unauthenticated",
        "message": "the API key was revoked",
    }
    closed = await comm.receive_output(timeout=WAIT)
    assert closed == {"type": "websocket.close", "code": consumers.CLOSE_UNAUTHENTICATED}
    assert time.monotonic() - started < 5 * CHECK_SECONDS + 2

    # The other key's socket stays open and live.
    assert await other.receive_nothing(timeout=3 * CHECK_SECONDS)
    await sync_to_async(services.append_to_stream)("s", [{"name": "E"}])
    assert (await other.receive_json_from(timeout=WAIT))["type"] == "event"
    await other.disconnect()


def test_a_revoked_key_s_grpc_subscribe_stream_is_ended():
    key = ApiKey.issue("grpc-reader", "read")[1]
    subs.create_subscription("live")
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        store = eventstore_pb2_grpc.EventStoreStub(channel)
        call = store.Subscribe(pb.SubscribeRequest(name="live"), metadata=bearer(key))
        received: queue.Queue = queue.Queue()

        def read() -> None:
            try:
                for message in call:
                    received.put(message)
            except grpc.RpcError as exc:
                received.put(exc)

        threading.Thread(target=read, daemon=True).start()
        assert received.get(timeout=WAIT).WhichOneof("item") == "caught_up"
        started = time.monotonic()
        revoke(key)
        ended = received.get(timeout=WAIT)
        assert isinstance(ended, grpc.RpcError), ended
        assert ended.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "revoked" in ended.details()
        assert time.monotonic() - started < 5 * CHECK_SECONDS + 3
