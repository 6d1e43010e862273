"""Item 2: hosts and origins. A browser on another site cannot open a WebSocket with the
console's cookie, unknown Host headers are refused, and the embedded default works on
127.0.0.1 and localhost with no configuration."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from flipbook_site import settings as site_settings

TIMEOUT = 10


async def handshake(headers: list[tuple[bytes, bytes]]) -> bool:
    from flipbook_site.asgi import application

    comm = WebsocketCommunicator(application, "/ws/events", headers=headers)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    return connected


def test_the_default_allowed_hosts_are_this_machine_only():
    assert "*" not in site_settings.ALLOWED_HOSTS
    assert {"localhost", "127.0.0.1", "[::1]"} <= set(site_settings.ALLOWED_HOSTS)
    assert site_settings.FLIPBOOK_ALLOWED_ORIGINS == []


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("host", "origin"),
    [
        (b"127.0.0.1:8000", b"http://evil.example"),
        (b"127.0.0.1:8000", b"http://127.0.0.1.evil.example"),
        (b"127.0.0.1:8000", b"http://127.0.0.1:9999"),  # same host, another port
        (b"localhost:8000", b"null"),  # sandboxed frames and files
        (b"evil.example", b"http://evil.example"),  # a Host that is not allowed
    ],
)
async def test_a_foreign_origin_is_refused(host, origin):
    assert not await handshake([(b"host", host), (b"origin", origin)])


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_unknown_host_is_refused_even_without_origin():
    assert not await handshake([(b"host", b"attacker.example:8000")])


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("host", "origin"),
    [
        (b"127.0.0.1:8000", b"http://127.0.0.1:8000"),
        (b"localhost:8000", b"http://localhost:8000"),
        (b"localhost", b"http://localhost"),
        (b"[::1]:8000", b"http://[::1]:8000"),
    ],
)
async def test_the_console_s_own_origin_works_with_no_configuration(host, origin):
    assert await handshake([(b"host", host), (b"origin", origin)])


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_flipbook_allowed_origins_admits_a_named_origin(settings):
    settings.ALLOWED_HOSTS = ["flipbook.example"]
    settings.FLIPBOOK_ALLOWED_ORIGINS = ["https://console.example:8443"]
    host = (b"host", b"flipbook.example")
    assert await handshake([host, (b"origin", b"https://console.example:8443")])
    assert not await handshake([host, (b"origin", b"https://console.example")])
    assert not await handshake([host, (b"origin", b"http://console.example:8443")])


@pytest.mark.django_db
def test_an_unknown_host_header_gets_400_over_http():
    assert Client(HTTP_HOST="evil.example").get("/login/").status_code == 400
    assert Client(HTTP_HOST="127.0.0.1:8000").get("/login/").status_code == 200
    assert Client(HTTP_HOST="localhost").get("/login/").status_code == 200


def test_health_probes_answer_whatever_the_host(client, settings):
    """Load balancers probe a server by its IP; the health endpoints must not refuse that
    Host, while every other page still does."""
    settings.ALLOWED_HOSTS = ["flipbook.example.com"]
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/api/v1/streams/", HTTP_HOST="10.1.2.3:8000").status_code == 400
