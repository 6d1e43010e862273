"""The speed-ups that lean on private APIs, in one place, each with a fallback to the public
API and a canary test (tests/streams/test_speedups.py) that fails loudly when the private
API changes, so a Python, Django or psycopg upgrade cannot turn one into a silent bug.

- ``compact_json_encoder``: json's C encoder made once (json.dumps builds one per call).
- ``json_scanner``: json's C scanner called directly (json.loads's Python layers cost as
  much as scanning a small payload); ``json_loader`` is json.loads on it.
- ``receivers_plan``: a Signal's receivers read from Django's internal list once per change
  (Django's per-send lookup was a measurable share of a one-event append).
- ``pipelined_group_send``: channels_redis's pub/sub layer sends a group message as one
  PUBLISH round trip under a lock held for the whole shard, so a commit's three groups took
  three round trips one after another and every commit of the process queued behind them;
  the pipelined send publishes any number of messages in one round trip per shard, on a
  connection of its own for a plain address (streams/bus_redis.py).
The fifth, psycopg's Transformer and PGconn.exec_prepared for one-event appends, stays in
the PostgreSQL dialect (``libpq_exec_available`` in streams/backends/database/postgresql.py)
because only backends import a driver; its canary is in the same test module."""

from __future__ import annotations

import json
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

try:
    from json.encoder import (  # type: ignore[attr-defined]  # typeshed omits the C encoder
        c_make_encoder,
        encode_basestring,
    )
except ImportError:  # pragma: no cover - CPython always has the accelerator
    c_make_encoder = None


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def compact_json_encoder() -> Callable[[Any], str]:
    """A compact encoder that refuses NaN and Infinity, keeps non-ASCII text as it is, and
    ends a circular structure in RecursionError."""
    public = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
    if c_make_encoder is None:
        return public
    try:
        # No circular-reference markers: a cycle ends in RecursionError, "nested too deeply".
        encode = c_make_encoder(
            None, _not_json, encode_basestring, None, ":", ",", False, False, False
        )
    except TypeError:  # the private signature changed: the public encoder does the same
        return public
    return lambda value: "".join(encode(value, 0))


def json_scanner() -> Callable[[str, int], tuple[Any, int]]:
    """``scan(text, index) -> (value, end)``; raises StopIteration where no value starts.
    ``json.scanner.make_scanner`` is what JSONDecoder itself scans with (C when CPython has
    its accelerator, the pure-Python scanner otherwise: same answers)."""
    from json.scanner import make_scanner

    # typeshed types make_scanner's argument as the scanner class itself, not the decoder.
    return make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def json_loader() -> Callable[[str | bytes | bytearray], Any]:
    """``json.loads`` for text that is one JSON value and nothing else (what the store and
    the SDKs write): json's C scanner called directly. Anything else (bytes, whitespace
    around the value, extra data, text that is not JSON) goes to ``json.loads``, which
    parses it or raises exactly as it always does."""
    scan = json_scanner()
    loads = json.loads

    def load(text: str | bytes | bytearray) -> Any:
        if type(text) is not str:
            return loads(text)
        try:
            value, end = scan(text, 0)
        except StopIteration:  # no value where the scan started: json.loads says why
            return loads(text)
        return value if end == len(text) else loads(text)

    return load


def receivers_plan(signal: Any, none_id: Any) -> tuple[tuple[Any, bool], ...] | None:
    """(receiver or its weak reference, whether weak) for each receiver of ``signal``, read
    from Django's internal list; None when any receiver needs Django's own path (connected
    for one sender, async) or the list's layout is not the one this code knows."""
    lock = getattr(signal, "lock", None)
    receivers = getattr(signal, "receivers", None)
    clear = getattr(signal, "_clear_dead_receivers", None)
    if lock is None or receivers is None or clear is None:
        return None
    with lock:
        clear()
        plan = []
        for entry in signal.receivers:
            if not isinstance(entry, tuple) or len(entry) != 3:
                return None
            (_key, sender_key), receiver, is_async = entry
            if is_async or sender_key != none_id:
                return None
            plan.append((receiver, isinstance(receiver, weakref.ReferenceType)))
        return tuple(plan)


def pipelined_group_send(
    layer: Any,
) -> Callable[[list[tuple[str, dict[str, Any]]]], Awaitable[None]] | None:
    """``send(pairs)``: each (group, message) published as ``layer.group_send`` would, in one
    pipeline per Redis shard, in order; None when ``layer`` is not channels_redis's pub/sub
    layer as this code knows it (the caller then sends each pair with ``group_send``).
    Called on the event loop the sends will run on (the layer keeps a state per loop)."""
    get_loop_layer = getattr(layer, "_get_layer", None)
    if get_loop_layer is None or not type(layer).__module__.startswith("channels_redis.pubsub"):
        return None
    loop_layer = get_loop_layer()
    serialize = getattr(layer, "serialize", None)
    channel_name = getattr(loop_layer, "_get_group_channel_name", None)
    shard_of = getattr(loop_layer, "_get_shard", None)
    if serialize is None or channel_name is None or shard_of is None:
        return None

    from streams.bus_redis import Publisher, plain_address

    # Per shard: our own publisher for a plain address (streams/bus_redis.py), else None and
    # the shard's redis-py client.
    publishers: dict[int, Publisher | None] = {}

    async def send(pairs: list[tuple[str, dict[str, Any]]]) -> None:
        by_shard: dict[int, tuple[Any, list[tuple[str, bytes]]]] = {}
        for group, message in pairs:
            channel = channel_name(group)
            shard = shard_of(channel)
            by_shard.setdefault(id(shard), (shard, []))[1].append((channel, serialize(message)))
        for key, (shard, messages) in by_shard.items():
            if key not in publishers:
                address = plain_address(getattr(shard, "host", None))
                publishers[key] = Publisher(address) if address else None
            publisher = publishers[key]
            if publisher is not None:
                await publisher.publish(messages)
                continue
            shard._ensure_redis()  # the shard's client (a pool): made on first use
            pipe = shard._redis.pipeline(transaction=False)
            for channel, data in messages:
                pipe.publish(channel, data)
            await pipe.execute()

    return send
