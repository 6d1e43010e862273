"""Publications made on one event loop go to Redis together (streams/bus.py's coalescer):
every message arrives, each group's in the order published, in fewer round trips than
publications; a layer that cannot publish fails each waiting publication, none hangs."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer

from streams import bus
from tests.console.test_event_bus import REDIS_URL, require_redis

pytestmark = pytest.mark.asyncio


async def test_concurrent_publications_arrive_in_order_in_fewer_round_trips():
    require_redis()
    layer = RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix=f"fbco{uuid.uuid4().hex[:8]}")
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    await asyncio.sleep(0.2)  # the pub/sub layer's SUBSCRIBE is not waited for
    round_trips = 0
    try:
        await bus._send_all(layer, [("warm", {"type": "t"})])
        coalescer = bus._coalescers[asyncio.get_running_loop()]
        pipelined = coalescer.send_many

        async def counted(pairs):
            nonlocal round_trips
            round_trips += 1
            await pipelined(pairs)

        coalescer.send_many = counted
        await asyncio.gather(
            *(bus._send_all(layer, [("g", {"type": "t", "n": n}), ("h", {})]) for n in range(40))
        )
        got = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(40)]
    finally:
        await layer.flush()
    assert [m["n"] for m in got] == list(range(40))
    assert 1 <= round_trips < 40


async def test_a_layer_that_cannot_publish_fails_every_waiting_publication():
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    layer = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix="fbdown")
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(bus._send_all(layer, [("g", {"type": "t"})]) for _ in range(5)),
            return_exceptions=True,
        ),
        10,
    )
    assert len(outcomes) == 5
    assert all(isinstance(o, Exception) for o in outcomes)
    # The next publication starts a new round trip (the coalescer is not stuck).
    with pytest.raises(Exception):  # noqa: B017 - redis' connection error, whatever its class
        await asyncio.wait_for(bus._send_all(layer, [("g", {"type": "t"})]), 10)
