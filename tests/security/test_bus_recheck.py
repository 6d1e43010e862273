"""Item 8: a live socket that misses a bus announcement catches up within a bounded time
(a periodic position check against the store), on the all-feed, a category and a stream."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from api.models import ApiKey
from streams import bus, services

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
RECHECK = 0.5
TIMEOUT = 10


@pytest.fixture
def quick_recheck(settings):
    settings.FLIPBOOK_BUS_RECHECK_SECONDS = RECHECK


@pytest.fixture
def lost_announcements(monkeypatch):
    """Drop every bus announcement while the fixture's list holds True."""
    dropping = [False]
    real = bus.publish

    def publish(result):
        if not dropping[0]:
            real(result)

    monkeypatch.setattr(bus, "publish", publish)
    return dropping


async def open_subscribed(path: str, **start) -> WebsocketCommunicator:
    from flipbook_site.asgi import application

    key = (await sync_to_async(ApiKey.issue)("ws", "read"))[1]
    comm = WebsocketCommunicator(application, f"{path}?key={key}")
    assert (await comm.connect(timeout=TIMEOUT))[0]
    await comm.send_json_to({"type": "subscribe", **start})
    while (await comm.receive_json_from(timeout=TIMEOUT))["type"] != "caught_up":
        pass
    return comm


def append(stream_id: str, category: str | None = None) -> int:
    return (
        services.append_to_stream(stream_id, [{"name": "E"}], category=category).events[0].position
    )


@pytest.mark.parametrize(
    ("path", "start"),
    [
        ("/ws/events", {"after": 0}),
        ("/ws/categories/wallet", {"after": 0}),
        ("/ws/streams/w1", {"after_version": 0}),
    ],
)
async def test_a_lost_announcement_is_caught_up_by_the_recheck(
    quick_recheck, lost_announcements, path, start
):
    await sync_to_async(append)("w1", "wallet")
    comm = await open_subscribed(path, **start)
    lost_announcements[0] = True
    started = time.monotonic()
    position = await sync_to_async(append)("w1", "wallet")
    message = await comm.receive_json_from(timeout=TIMEOUT)
    assert message["type"] == "event" and message["event"]["position"] == position
    assert time.monotonic() - started < RECHECK * 4 + 1
    # Announced again: live delivery goes on, with no duplicate.
    lost_announcements[0] = False
    following = await sync_to_async(append)("w1", "wallet")
    message = await comm.receive_json_from(timeout=TIMEOUT)
    assert message["event"]["position"] == following
    assert await comm.receive_nothing(timeout=RECHECK * 2)
    await comm.disconnect()
