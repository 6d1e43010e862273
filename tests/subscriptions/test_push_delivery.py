"""The push worker (streams/push.py) against handlers run by the test: an HTTP webhook and a
gRPC EventHandler that fail their first attempts: retries, parking, a retry from the API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from django.db import connections
from django.test import Client

from api.models import ApiKey
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from streams import services
from subscriptions import services as subs
from subscriptions.models import Subscription
from subscriptions.push import PushWorker
from subscriptions.records import PushTarget
from tests.processes import free_port
from tests.waiting import wait_until

WAIT = 20


@pytest.fixture(autouse=True)
def fast_backoff(settings):
    settings.FLIPBOOK_SUBSCRIPTIONS = {
        "PUSH_BACKOFF_SECONDS": 0.01,
        "PUSH_BACKOFF_MAX_SECONDS": 0.05,
        "PUSH_POLL_SECONDS": 0.05,
        "PUSH_TIMEOUT_SECONDS": 5,
        "STALL_SECONDS": 0.5,
    }


@contextmanager
def running_worker() -> Iterator[PushWorker]:
    worker = PushWorker()
    thread = threading.Thread(target=_run_and_close, args=(worker,), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(WAIT)
        assert not thread.is_alive()


def _run_and_close(worker: PushWorker) -> None:
    try:
        worker.run()
    finally:
        connections.close_all()


def wait_for(condition: Callable[[], object], what: str):
    return wait_until(
        condition, timeout=WAIT, interval=0.05, message=f"timed out waiting for {what}"
    )


class Handler:
    """Records what it was sent; fails the first ``failures`` deliveries."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[list[int]] = []
        self.lock = threading.Lock()

    def handle(self, positions: list[int]) -> bool:
        with self.lock:
            self.calls.append(positions)
            return len(self.calls) > self.failures

    def delivered(self) -> list[int]:
        with self.lock:
            return [p for call in self.calls for p in call]


@contextmanager
def webhook(handler: Handler) -> Iterator[str]:
    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert body["subscription"] == "hook"
            ok = handler.handle([e["position"] for e in body["events"]])
            self.send_response(200 if ok else 500)
            self.end_headers()
            self.wfile.write(b"" if ok else b"handler exploded")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/events"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def grpc_handler(handler: Handler) -> Iterator[str]:
    class EventHandler(eventstore_pb2_grpc.EventHandlerServicer):
        def Handle(self, request: pb.HandleRequest, context) -> pb.HandleResponse:
            positions = [e.position for e in request.events]
            if handler.handle(positions):
                return pb.HandleResponse()
            if len(handler.calls) % 2:
                context.abort(grpc.StatusCode.INTERNAL, "handler raised")
            return pb.HandleResponse(error="handler refused")

    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    eventstore_pb2_grpc.add_EventHandlerServicer_to_server(EventHandler(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


def retry_from_the_api(name: str, position: int) -> None:
    key = ApiKey.issue("ops", "write")[1]
    response = Client().post(
        f"/api/v1/subscriptions/{name}/parked/{position}/retry",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.content


def append(*names: str) -> list[int]:
    result = services.append_to_stream("pushed", [{"name": n} for n in names])
    return [e.position for e in result.events]


@pytest.mark.parametrize("kind", ["webhook", "grpc"])
def test_retries_then_parks_then_a_retry_from_the_api_succeeds(db_backend, kind):
    handler = Handler(failures=3)
    endpoint = webhook(handler) if kind == "webhook" else grpc_handler(handler)
    with endpoint as address:
        push = (
            {"kind": "webhook", "url": address}
            if kind == "webhook"
            else {
                "kind": "grpc",
                "target": address,
            }
        )
        first = append("E1", "E2")
        subs.create_subscription("hook", max_attempts=3, push=push)
        with running_worker():
            # three failures of E1 (the batch, then E1 alone twice): parked; then E2 is done
            wait_for(lambda: subs.get_subscription("hook").checkpoint == first[1], "E2 done")
            assert handler.calls[:3] == [first, [first[0]], [first[0]]]
            assert handler.calls[3] == [first[1]]
            parked = subs.list_parked("hook").items
            assert [(p.position, p.attempts) for p in parked] == [(first[0], 3)]
            assert parked[0].error  # the handler's failure, as text
            retry_from_the_api("hook", first[0])
            wait_for(lambda: not subs.list_parked("hook").items, "the retry")
            assert handler.calls[-1] == [first[0]]
            later = append("E3")
            wait_for(lambda: subs.get_subscription("hook").checkpoint == later[0], "E3 done")
        info = subs.get_subscription("hook")
        assert (info.parked, info.lag, info.last_heartbeat is not None) == (0, 0, True)
        assert sorted(set(handler.delivered())) == first + later


def test_a_stopped_worker_shuts_down_without_error(db_backend):
    worker = PushWorker()
    closed = f"http://127.0.0.1:{free_port()}/"
    target = PushTarget("gone", "webhook", closed, None, 0, 0)
    assert not worker.send(target, []).reached  # the worker now holds a webhook transport
    worker.stop()
    worker.run()  # returns: the shutdown releases the leases and the transports


def test_an_unreachable_endpoint_parks_nothing_and_shows_stalled(db_backend):
    port = free_port()  # nothing listens there
    events = append("E1")
    subs.create_subscription(
        "down", max_attempts=1, push={"kind": "webhook", "url": f"http://127.0.0.1:{port}/"}
    )
    with running_worker():
        wait_for(
            lambda: Subscription.objects.using(db_backend).get(name="down").push_failures >= 3,
            "failed attempts",
        )
        wait_for(lambda: subs.get_subscription("down").status == "stalled", "stalled")
    info = subs.get_subscription("down")
    assert (info.checkpoint, info.parked, info.lag) == (0, 0, len(events))
