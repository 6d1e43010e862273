"""Item 6: every bad input gets a 4xx-class answer, never a server error: static path
traversal (404), bad WebSocket frames (close 4400 with a reason), malformed protobuf
(INVALID_ARGUMENT), a reflection client that goes away (quiet), invalid UTF-8 in a stream
path and unknown query parameters (400)."""

from __future__ import annotations

import json
import logging
import queue
import random
import time

import grpc
import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from api.metrics import ERRORS
from api.models import ApiKey
from console import consumers
from tests.api.grpc_helpers import WAIT, bearer, running_server
from tests.api.rest_helpers import Api, error_of

TIMEOUT = 10


# -- static files ------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    [
        "/static/../flipbook_site/settings.py",
        "/static/../../etc/passwd",
        "/static/js/../../../manage.py",
        "/static/%00",
        "/static/js/\x00.js",
    ],
)
async def test_static_traversal_is_404(path):
    from flipbook_site.asgi import application
    from flipbook_site.static import StaticFilesHandler

    communicator = HttpCommunicator(StaticFilesHandler(application), "GET", path)
    response = await communicator.get_response(timeout=TIMEOUT)
    assert response["status"] == 404, response["body"][:200]


@pytest.mark.asyncio
async def test_static_files_are_still_served():
    from flipbook_site.asgi import application
    from flipbook_site.static import StaticFilesHandler

    communicator = HttpCommunicator(StaticFilesHandler(application), "GET", "/static/flipbook.css")
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(TIMEOUT)  # a file streams: the status is enough
    assert start["status"] == 200


# -- WebSocket frames ----------------------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000
BAD_FRAMES = [
    ("text", "not json"),
    ("text", "{"),
    ("text", " "),
    ("text", DEEP),
    ("text", '{"type": "subscribe", "after": ' + "[" * 9 + "]" * 9 + "}"),
    ("text", json.dumps({"type": "subscribe", "pad": "x" * 5000})),
    ("text", "5"),
    ("text", "null"),
    ("text", '{"type": "subscribe", "after": "x"}'),
    ("text", '{"type": "subscribe", "after": 1e400}'),
    ("text", '{"type": "subscribe", "after": true}'),
    ("text", '{"type": "unsubscribe"}'),
    ("text", "\x00\x01\x02"),
    ("bytes", b"\x00\xff binary"),
    ("bytes", b'{"type": "subscribe", "after": 0}'),
]


async def send_frame(comm, kind, frame):
    if kind == "bytes":
        await comm.send_to(bytes_data=frame)
    else:
        await comm.send_to(text_data=frame)


async def close_after_error(comm) -> tuple[dict, int]:
    message = await comm.receive_json_from(timeout=TIMEOUT)
    closed = await comm.receive_output(timeout=TIMEOUT)
    assert closed["type"] == "websocket.close", closed
    return message, closed.get("code")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("kind", "frame"), BAD_FRAMES, ids=range(len(BAD_FRAMES)))
async def test_bad_websocket_frames_close_4400_with_a_reason(kind, frame):
    from flipbook_site.asgi import application

    key = (await sync_to_async(ApiKey.issue)("ws", "read"))[1]
    comm = WebsocketCommunicator(application, f"/ws/events?key={key}")
    assert (await comm.connect(timeout=TIMEOUT))[0]
    await send_frame(comm, kind, frame)
    message, code = await close_after_error(comm)
    assert code == consumers.CLOSE_BAD_REQUEST
    assert message["type"] == "error" and message["message"], message


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_fuzzed_websocket_frames_never_close_1011():
    from flipbook_site.asgi import application

    key = (await sync_to_async(ApiKey.issue)("ws", "read"))[1]
    rng = random.Random(20261206)
    alphabet = '{}[]":,0123456789.eE-+ tfalsenuxyp\\'
    for _ in range(40):
        frame = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        comm = WebsocketCommunicator(application, f"/ws/streams/s?key={key}")
        assert (await comm.connect(timeout=TIMEOUT))[0]
        await comm.send_to(text_data=frame)
        output = await comm.receive_output(timeout=TIMEOUT)
        while output["type"] == "websocket.send":
            sent = json.loads(output["text"])
            if sent["type"] == "caught_up":  # the fuzz happened to be a valid subscribe
                break
            output = await comm.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            assert output["code"] == consumers.CLOSE_BAD_REQUEST, (frame, output)
        await comm.disconnect()


# -- gRPC ----------------------------------------------------------------------------------------

METHODS = [
    "/flipbook.v1.EventStore/Append",
    "/flipbook.v1.EventStore/Commit",
    "/flipbook.v1.EventStore/GetStream",
    "/flipbook.v1.SnapshotStore/Set",
    "/flipbook.v1.Subscriptions/CreateSubscription",
]
MALFORMED = [b"\xff\xff\xff\xff", b"\x0a\xff\x01", b"\x12\x05ab", b"\x08" + b"\xff" * 11]


@pytest.mark.django_db(transaction=True)
def test_malformed_protobuf_is_invalid_argument():
    key = ApiKey.issue("grpc", "admin")[1]
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        for method in METHODS:
            call = channel.unary_unary(method)  # raw bytes in and out
            for data in MALFORMED:
                with pytest.raises(grpc.RpcError) as failed:
                    call(data, metadata=bearer(key), timeout=WAIT)
                assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, data)
                assert "protobuf" in failed.value.details()


@pytest.mark.django_db(transaction=True)
def test_fuzzed_protobuf_never_gets_a_server_error():
    key = ApiKey.issue("grpc", "admin")[1]
    rng = random.Random(6)
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        for i in range(60):
            method = METHODS[i % len(METHODS)]
            data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
            try:
                channel.unary_unary(method)(data, metadata=bearer(key), timeout=WAIT)
            except grpc.RpcError as exc:
                assert exc.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
                    method,
                    data,
                    exc.details(),
                )


def _errors_total() -> float:
    return sum(
        sample.value
        for metric in ERRORS.collect()
        for sample in metric.samples
        if sample.name == "flipbook_errors_total" and sample.labels["transport"] == "grpc"
    )


@pytest.mark.django_db(transaction=True)
def test_a_reflection_client_that_goes_away_is_quiet(caplog):
    before = _errors_total()
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests: queue.Queue = queue.Queue()
        requests.put(reflection_pb2.ServerReflectionRequest(list_services=""))

        def request_stream():
            while True:
                item = requests.get()
                if item is None:
                    return
                yield item

        with caplog.at_level(logging.DEBUG, logger="flipbook.grpc"):
            call = stub.ServerReflectionInfo(request_stream())
            first = next(call)
            assert first.list_services_response.service
            call.cancel()
            requests.put(None)
            time.sleep(1.0)  # the server notices the cancel and ends the call
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert _errors_total() == before


# -- REST ----------------------------------------------------------------------------------------


@pytest.fixture
def api(transactional_db):
    return Api(ApiKey.issue("rest", "admin")[1])


@pytest.mark.parametrize("encoded", ["%ff", "%fe", "a%c3", "%ed%a0%80"])
def test_invalid_utf8_in_a_stream_path_is_400(api, encoded):
    for suffix in ("", "/events"):
        path = f"/api/v1/streams/{encoded}{suffix}"
        response = api.get(path, REQUEST_URI=path)
        assert response.status_code == 400, (path, response.content)
        assert error_of(response)["details"]["field"] == "stream_id"


def test_ff_and_fe_do_not_name_one_stream(api):
    path = "/api/v1/streams/%ff/events"
    response = api.post(path, {"events": [{"name": "E"}]}, REQUEST_URI=path)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/streams/?prefx=a",
        "/api/v1/streams/s/events?limt=5",
        "/api/v1/streams/s/events?from_version=1&evil=1",
        "/api/v1/events?afterr=3",
        "/api/v1/subscriptions/?limit=5&x=1",
        "/api/v1/streams/s?version=1",
    ],
)
def test_unknown_query_parameters_are_400(api, path):
    response = api.get(path)
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert "not a query parameter" in error["message"]


def test_known_query_parameters_still_work(api):
    assert api.append("s", [{"name": "E"}]).status_code == 201
    assert api.get("/api/v1/streams/?prefix=s&limit=5").status_code == 200
    assert api.get("/api/v1/streams/s/events?from_version=1&limit=5").status_code == 200
    assert api.get("/api/v1/events?after=0&category=x&name=E").status_code == 200
    assert api.get("/api/v1/streams/s/events?format=ndjson").status_code == 200
