"""Item 1: push delivery refuses server-side request forgery (subscriptions/outbound.py).

Refusals are asserted when a subscription is created; the connect-time check is tested with a
resolver stub that maps test names to addresses, and whatever connects, connects to loopback
listeners started here. No test sends traffic off this machine."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest

from api.grpc.push import grpc_transport
from api.models import ApiKey
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from streams import services
from streams.exceptions import ValidationError
from subscriptions import outbound
from subscriptions import services as subs
from subscriptions.models import Subscription
from subscriptions.push import send_webhook
from subscriptions.records import PushTarget
from tests.api.rest_helpers import Api, error_of

pytestmark = pytest.mark.django_db(transaction=True)

# A documentation-free public address the stub hands out at create time: nothing ever
# connects to it, since every connecting test maps the name to loopback first.
PUBLIC = "8.8.8.8"
NAMES = {
    "localhost": ["127.0.0.1", "::1"],
    "loopback.test": ["127.0.0.1"],
    "mixed.test": [PUBLIC, "10.0.0.7"],
    "metadata.test": ["169.254.169.254"],
    "public.test": [PUBLIC],
}


@pytest.fixture(autouse=True)
def policy(settings, monkeypatch) -> dict[str, list[str]]:
    """The policy as production has it (no allow-list), names resolved by the stub only."""
    settings.FLIPBOOK_PUSH_ALLOWED_NETWORKS = []
    names = dict(NAMES)

    def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError(f"stub resolver: no such name {host!r}")
        return names[host]

    monkeypatch.setattr(outbound, "resolver", resolve)
    return names


REFUSED_URLS = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://metadata.test/computeMetadata/v1/",  # a name for it
    "http://localhost:8000/",
    "http://loopback.test/",  # a host that resolves to loopback
    "http://127.0.0.1/",
    "http://127.8.9.10:9000/",
    "http://0.0.0.0/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # shared address space
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/",  # the metadata address, mapped and in hex
    "http://[2002:7f00:1::]/",  # 6to4 around loopback
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[ff02::1]/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f000001/",  # ... in hex
    "http://0177.0.0.1/",  # ... in octal
    "http://0x7f.1/",
    "http://127.1/",  # ... short form
    "http://2852039166/",  # 169.254.169.254 as one number
    "https://mixed.test/",  # one public and one private answer
    "http://does-not-resolve.test/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_webhooks_to_non_public_addresses_are_refused_at_create(url):
    with pytest.raises(ValidationError) as refused:
        subs.create_subscription("hook", push={"kind": "webhook", "url": url})
    assert refused.value.field == "push.url"
    assert not Subscription.objects.exists()


REFUSED_TARGETS = [
    "169.254.169.254:80",
    "metadata.test:80",
    "localhost:50051",
    "loopback.test:50051",
    "127.0.0.1:50051",
    "10.0.0.1:443",
    "192.168.0.10:443",
    "[::1]:50051",
    "[::ffff:10.0.0.1]:443",
    "[fe80::1]:443",
    "2130706433:50051",
    "0x7f000001:50051",
    "mixed.test:443",
    "::1:50051",  # IPv6 without brackets is ambiguous
]


@pytest.mark.parametrize("target", REFUSED_TARGETS)
def test_grpc_targets_to_non_public_addresses_are_refused_at_create(target):
    with pytest.raises(ValidationError) as refused:
        subs.create_subscription("hook", push={"kind": "grpc", "target": target})
    assert refused.value.field == "push.target"


def test_public_destinations_are_accepted():
    subs.create_subscription("hook", push={"kind": "webhook", "url": "https://public.test/x"})
    subs.create_subscription("grpc", push={"kind": "grpc", "target": "public.test:443"})
    subs.create_subscription("literal", push={"kind": "webhook", "url": f"http://{PUBLIC}/"})
    assert Subscription.objects.count() == 3


def test_the_allow_list_opts_a_network_in(settings):
    settings.FLIPBOOK_PUSH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    subs.create_subscription("local", push={"kind": "webhook", "url": "http://127.0.0.1:9/"})
    with pytest.raises(ValidationError):  # only the network named
        subs.create_subscription("private", push={"kind": "webhook", "url": "http://10.0.0.1/"})
    with pytest.raises(ValidationError):  # a loose spelling stays refused
        subs.create_subscription("loose", push={"kind": "webhook", "url": "http://2130706433/"})


def test_credentials_in_a_webhook_url_are_refused():
    with pytest.raises(ValidationError) as refused:
        subs.create_subscription(
            "hook", push={"kind": "webhook", "url": "https://user:secret@public.test/hook"}
        )
    assert "credentials" in refused.value.message


def test_credentials_stored_before_the_policy_are_never_shown():
    subs.create_subscription("hook", push={"kind": "webhook", "url": "https://public.test/h"})
    Subscription.objects.filter(name="hook").update(push_target="https://user:secret@public.test/h")
    shown = subs.get_subscription("hook").as_dict()
    assert "secret" not in json.dumps(shown)
    assert shown["push"]["url"] == "https://***@public.test/h"


def test_rest_answers_a_refused_destination_with_a_clear_400():
    key = ApiKey.issue("admin", "admin")[1]
    api = Api(key)
    body = {"name": "ssrf", "push": {"kind": "webhook", "url": "http://169.254.169.254/"}}
    response = api.post("/api/v1/subscriptions/", body)
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"]["field"] == "push.url"
    assert "169.254.169.254" in error["message"] and "link-local" in error["message"]


# -- at connect time ----------------------------------------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    hits: list[str]
    status = 200
    headers_out: dict[str, str] = {}
    body = b""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.hits.append(self.path)
        self.send_response(self.status)
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@contextmanager
def listener(**answer) -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (Recorder,), {"hits": hits, **answer})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()


def target(url: str, kind: str = "webhook") -> PushTarget:
    return PushTarget("hook", kind, url, None, 0, 0)


def events():
    return services.append_to_stream("s", [{"name": "E", "payload": {"n": 1}}]).events


def test_dns_rebinding_is_refused_at_connect_time(policy):
    with listener() as (port, hits):
        subs.create_subscription(
            "hook", push={"kind": "webhook", "url": f"http://public.test:{port}/h"}
        )
        policy["public.test"] = ["127.0.0.1"]  # the name now points at this machine
        outcome = send_webhook(target(f"http://public.test:{port}/h"), events(), 2.0)
    assert not outcome.reached
    assert "refused" in outcome.error and "loopback" in outcome.error
    assert hits == []


def test_allowed_loopback_is_delivered_through_the_stub(policy, settings):
    settings.FLIPBOOK_PUSH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with listener() as (port, hits):
        outcome = send_webhook(target(f"http://loopback.test:{port}/in"), events(), 2.0)
    assert outcome.reached and outcome.error is None
    assert hits == ["/in"]


def test_redirects_are_not_followed(settings):
    settings.FLIPBOOK_PUSH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with listener() as (inner_port, inner_hits):
        location = {"Location": f"http://127.0.0.1:{inner_port}/inner"}
        with listener(status=302, headers_out=location) as (port, hits):
            outcome = send_webhook(target(f"http://127.0.0.1:{port}/"), events(), 2.0)
    assert hits == ["/"] and inner_hits == []
    assert outcome.reached and "302" in outcome.error and "redirect" in outcome.error


def test_an_answer_body_is_never_stored(settings):
    settings.FLIPBOOK_PUSH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    secret = b"ami-id: SECRET-INSTANCE-CREDENTIALS"
    with listener(status=500, body=secret) as (port, _):
        outcome = send_webhook(target(f"http://127.0.0.1:{port}/"), events(), 2.0)
    assert outcome.reached
    assert outcome.error == "HTTP 500 Internal Server Error"


class Handler(eventstore_pb2_grpc.EventHandlerServicer):
    def __init__(self) -> None:
        self.calls = 0

    def Handle(self, request, context):
        self.calls += 1
        return pb.HandleResponse()


@contextmanager
def grpc_handler() -> Iterator[tuple[int, Handler]]:
    handler = Handler()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    eventstore_pb2_grpc.add_EventHandlerServicer_to_server(handler, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port, handler
    finally:
        server.stop(0)


def test_grpc_push_checks_the_address_at_connect_time(policy, settings):
    send = grpc_transport()
    with grpc_handler() as (port, handler):
        subs.create_subscription("hook", push={"kind": "grpc", "target": f"public.test:{port}"})
        policy["public.test"] = ["127.0.0.1"]
        outcome = send(target(f"public.test:{port}", "grpc"), events(), 2.0)
        assert not outcome.reached and "refused" in outcome.error
        assert handler.calls == 0
        settings.FLIPBOOK_PUSH_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # opted in: delivered
        outcome = send(target(f"public.test:{port}", "grpc"), events(), 5.0)
        assert outcome.reached and outcome.error is None, outcome
        assert handler.calls == 1
    send.close()
