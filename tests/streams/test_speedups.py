"""Canaries of the private APIs behind streams/speedups.py: each fails loudly when an upgrade
changes what a speed-up relies on (the code would quietly take its public fallback), and
each fallback is checked to give the same answers."""

from __future__ import annotations

import json
import math

import pytest
from django.dispatch import Signal
from django.dispatch.dispatcher import NONE_ID

from streams import speedups
from streams.signals import CommitSignal

SAMPLES = [None, 1, -2.5, 'ü\u2028"\\', [1, {"a": [True, False]}], {"k": {"n": None}}]


def test_json_c_encoder_is_there_and_matches_json_dumps():
    assert speedups.c_make_encoder is not None, "json.encoder.c_make_encoder is gone"
    fast = speedups.compact_json_encoder()
    assert fast.__name__ == "<lambda>", "the C encoder is not in use"
    for value in SAMPLES:
        assert fast(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    with pytest.raises(ValueError):
        fast(math.nan)
    with pytest.raises(TypeError):
        fast({1, 2})


def test_the_encoder_fallback_answers_alike(monkeypatch):
    monkeypatch.setattr(speedups, "c_make_encoder", None)
    public = speedups.compact_json_encoder()
    for value in SAMPLES:
        assert public(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    with pytest.raises(ValueError):
        public(math.inf)


def test_json_c_scanner_is_there():
    import json.scanner

    assert json.scanner.c_make_scanner is not None, "json's C scanner is gone"
    scan = speedups.json_scanner()
    assert scan('{"a": [1, 2]} ', 0) == ({"a": [1, 2]}, 13)
    with pytest.raises(StopIteration):
        scan("nope", 0)


def test_django_signal_internals_are_as_the_commit_signal_expects():
    signal = Signal()
    for name in ("lock", "receivers", "_clear_dead_receivers", "_remove_receiver"):
        assert hasattr(signal, name), f"django.dispatch.Signal.{name} is gone"
    assert hasattr(signal, "_log_robust_failure"), "Signal._log_robust_failure is gone"

    def receiver(**kwargs):
        return "seen"

    signal.connect(receiver, weak=False)
    plan = speedups.receivers_plan(signal, NONE_ID)
    assert plan is not None, "the receivers' layout changed: the fast path is off"
    assert plan == ((receiver, False),)


def test_the_commit_signal_takes_its_fast_path_and_djangos_alike():
    signal = CommitSignal()
    seen = []

    def receiver(sender, result, **kwargs):
        seen.append(result)

    signal.connect(receiver, weak=False)
    assert signal._current_plan() is not None
    signal.announce(sender=None, result=1)
    signal.connect(receiver, sender=object(), weak=False, dispatch_uid="one-sender")
    assert signal._current_plan() is None  # Django's own path
    signal.announce(sender=None, result=2)
    assert seen == [1, 2]


def test_psycopg_offers_the_direct_libpq_path():
    from streams.backends.database.postgresql import libpq_exec_available

    assert libpq_exec_available(), "psycopg's Transformer or PGconn changed"


@pytest.mark.asyncio
@pytest.mark.parametrize("plain", [True, False], ids=["own-publisher", "redis-py-pipeline"])
async def test_channels_redis_pubsub_takes_the_pipelined_send(plain):
    """Both sends deliver the same messages, in order, to a group's subscriber on Redis;
    the pipelined one is in use (not the fallback): through streams/bus_redis.py for a
    plain address, through the shard's redis-py client for a host with options."""
    import asyncio
    import uuid

    from channels_redis.pubsub import RedisPubSubChannelLayer

    from streams.bus_redis import Publisher
    from tests.console.test_event_bus import REDIS_URL, require_redis

    require_redis()
    host = REDIS_URL if plain else {"address": REDIS_URL, "health_check_interval": 30}
    layer = RedisPubSubChannelLayer(hosts=[host], prefix=f"fbspeed{uuid.uuid4().hex[:8]}")
    send = speedups.pipelined_group_send(layer)
    assert send is not None, "channels_redis's pub/sub layer changed: the pipelined send is off"
    channel = await layer.new_channel()
    await layer.group_add("g1", channel)
    await asyncio.sleep(0.2)  # the pub/sub layer's SUBSCRIBE is not waited for
    try:
        await send([("g1", {"type": "t", "n": n}) for n in range(5)] + [("g2", {"type": "t"})])
        for n in range(5, 8):
            await layer.group_send("g1", {"type": "t", "n": n})
        got = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(8)]
        assert [m["n"] for m in got] == list(range(8))
    finally:
        await layer.flush()
    cells = [c.cell_contents for c in send.__closure__ or () if isinstance(c.cell_contents, dict)]
    publishers = [p for cell in cells for p in cell.values()]
    assert publishers and all(isinstance(p, Publisher) == plain for p in publishers)
    assert speedups.pipelined_group_send(object()) is None  # any other layer: group_send


def test_the_json_loader_answers_and_refuses_as_json_loads():
    load = speedups.json_loader()
    for text in ['{"a": [1, 2.5, null]}', " [1] ", "[1]\n", '"x"', b'{"b": true}', "1e3", "{}"]:
        assert load(text) == json.loads(text)
    for bad in ["", "{", '{"a": }', "[1] 2", "\ufeff[1]", "NaNx", "[1,]"]:
        with pytest.raises(json.JSONDecodeError) as ours:
            load(bad)
        with pytest.raises(json.JSONDecodeError) as theirs:
            json.loads(bad)
        assert str(ours.value) == str(theirs.value)
