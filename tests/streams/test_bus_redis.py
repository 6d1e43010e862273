"""streams/bus_redis.py against the real Redis: messages arrive in order, failures raise
PublishError and the next publication connects again."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from streams.bus_redis import Publisher, PublishError, plain_address
from tests.console.test_event_bus import REDIS_URL, require_redis


@pytest_asyncio.fixture
async def subscribed():
    """(channel, subscriber, publisher): a new channel with a subscriber on the real Redis."""
    require_redis()
    channel = f"fbresp{uuid.uuid4().hex[:8]}"
    client = aioredis.Redis.from_url(REDIS_URL)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=2)  # the subscription's confirmation
    publisher = Publisher(REDIS_URL)
    try:
        yield channel, pubsub, publisher
    finally:
        publisher.close()
        await pubsub.aclose()
        await client.aclose()


async def _received(pubsub, count: int) -> list[bytes]:
    got: list[bytes] = []
    while len(got) < count:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        if message is None:
            break
        got.append(message["data"])
    return got


@pytest.mark.asyncio
async def test_batches_published_at_once_arrive_in_order(subscribed):
    channel, pubsub, publisher = subscribed
    await asyncio.gather(
        *(
            publisher.publish(
                [(channel, b"%d-a" % n), (f"{channel}x", b""), (channel, b"%d-b" % n)]
            )
            for n in range(20)
        )
    )
    got = await _received(pubsub, 40)
    assert got == [b"%d-%s" % (n, part) for n in range(20) for part in (b"a", b"b")]


@pytest.mark.asyncio
async def test_refusals_raise_and_the_next_publication_connects_again():
    require_redis()
    # Redis here has no password: AUTH is refused.
    wrong = Publisher(REDIS_URL.replace("redis://", "redis://:not-the-password@", 1))
    with pytest.raises(PublishError, match=r"AUTH|password|credentials"):
        await wrong.publish([("c", b"x")])
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    nowhere = Publisher("redis://127.0.0.1:1/0")
    for _ in range(2):
        with pytest.raises(PublishError, match="cannot connect"):
            await nowhere.publish([("c", b"x")])


@pytest.mark.asyncio
async def test_an_abandoned_publication_drops_the_connection_and_the_next_one_works(subscribed):
    channel, pubsub, publisher = subscribed
    await publisher.publish([(channel, b"first")])
    first = publisher._protocol
    task = asyncio.ensure_future(publisher.publish([(channel, b"abandoned")]))
    await asyncio.sleep(0)  # written, reply not read yet
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert first is not None and first.closed
    await publisher.publish([(channel, b"after")])
    assert publisher._protocol is not first
    got = await _received(pubsub, 3)
    assert got[0] == b"first" and got[-1] == b"after"


def test_only_plain_addresses_are_published_to_here():
    assert plain_address({"address": "redis://127.0.0.1:6379/0"})
    assert plain_address({"address": "rediss://u:p@127.0.0.1:6380"})
    assert plain_address({"address": "unix:///run/redis.sock"})
    assert plain_address({"address": "redis://127.0.0.1:6379/0?ssl_cert_reqs=none"}) is None
    assert plain_address({"address": "redis://127.0.0.1", "socket_timeout": 5}) is None
    assert plain_address({"sentinels": [("127.0.0.1", 26379)], "master_name": "m"}) is None
    assert plain_address("redis://127.0.0.1") is None
