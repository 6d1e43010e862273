"""The event bus: every durable commit is published to Channels groups for its streams,
their categories and the all-feed. Live delivery is a convenience; the store is the truth."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import weakref
from collections import defaultdict
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

from streams import speedups
from streams.conf import flipbook_settings
from streams.records import CommitResult, event_dicts

logger = logging.getLogger("flipbook.bus")

ALL_GROUP = "all"
MESSAGE_TYPE = "bus.events"  # handled by the consumers' ``bus_events`` method
EVENTS_PER_MESSAGE = 100  # bounds a layer message (payloads can be large)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:32]


def stream_group(stream_id: str) -> str:
    """Return the group name of a stream: a hash, since group names allow few characters."""
    return f"stream.{_digest(stream_id)}"


def category_group(category: str) -> str:
    """Return the group name of a category (hashed like stream ids)."""
    return f"category.{_digest(category)}"


def join_needs_confirmation(layer: Any) -> bool:
    """Whether ``group_add`` on this layer can return before the membership is in effect (the
    Redis pub/sub layer sends SUBSCRIBE without waiting for Redis to answer)."""
    return type(layer).__module__.startswith("channels_redis.pubsub")


def bus_settings() -> dict[str, Any]:
    """FLIPBOOK_BUS merged over its defaults (streams/conf.py)."""
    return flipbook_settings.BUS


# -- where publishing runs ---------------------------------------------------------------------
# The in-memory layer's queues belong to the event loop of the consumers (the server's loop), so
# it is published to from that loop. Any other layer (Redis) is published to from one
# long-lived loop in a daemon thread: one connection pool per process, whatever thread
# commits (a REST request, a gRPC worker, a management command).
_consumer_loop: asyncio.AbstractEventLoop | None = None
_publisher_loop: asyncio.AbstractEventLoop | None = None
_publisher_lock = threading.Lock()


def attach_consumer_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Remember the event loop consumers run on (called by each consumer as it connects)."""
    global _consumer_loop
    _consumer_loop = loop


def _publisher() -> asyncio.AbstractEventLoop:
    global _publisher_loop
    with _publisher_lock:
        if _publisher_loop is None or _publisher_loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="flipbook-bus-publisher", daemon=True
            ).start()
            _publisher_loop = loop
        return _publisher_loop


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def messages_for(result: CommitResult, categories: dict[str, str | None]) -> list[tuple]:
    """Return the (group, message) pairs that announce ``result``, in position order per
    group. ``categories`` maps each stream id of the commit to its category."""
    by_group: dict[str, list[dict]] = defaultdict(list)
    groups_of: dict[str, tuple[str, ...]] = {}  # per stream, computed once
    ordered = sorted(result.events, key=lambda e: e.position)
    for event, data in zip(ordered, event_dicts(ordered), strict=True):
        groups = groups_of.get(event.stream_id)
        if groups is None:
            category = categories.get(event.stream_id)
            groups = groups_of[event.stream_id] = (
                (stream_group(event.stream_id), category_group(category), ALL_GROUP)
                if category
                else (stream_group(event.stream_id), ALL_GROUP)
            )
        for group in groups:
            by_group[group].append(data)
    pairs = []
    for group, events in by_group.items():
        for start in range(0, len(events), EVENTS_PER_MESSAGE):
            chunk = events[start : start + EVENTS_PER_MESSAGE]
            pairs.append((group, {"type": MESSAGE_TYPE, "events": chunk}))
    return pairs


async def _send_all(layer, pairs: list[tuple]) -> None:
    if isinstance(layer, InMemoryChannelLayer):  # no round trips to save
        for group, message in pairs:
            await layer.group_send(group, message)
        return
    await _coalescer(layer).send(pairs)


def _coalescer(layer: Any) -> _Coalescer:
    """The running loop's coalescer for ``layer``."""
    loop = asyncio.get_running_loop()
    coalescer = _coalescers.get(loop)
    if coalescer is None or coalescer.layer is not layer:
        coalescer = _coalescers[loop] = _Coalescer(layer)
    return coalescer


class _Coalescer:
    """The publications of one event loop: those made while one is on its way to the layer
    go together in the next round trip, in the order they were made (so each group's
    messages stay in position order). One round trip per commit per group capped a worker
    at about a thousand commits a second on Redis (docs/architecture/performance.md)."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.send_many = speedups.pipelined_group_send(layer) or self._one_by_one
        self.waiting: list[tuple[list[tuple], asyncio.Future[None]]] = []
        self.draining: asyncio.Task | None = None

    async def _one_by_one(self, pairs: list[tuple]) -> None:
        for group, message in pairs:
            await self.layer.group_send(group, message)

    async def send(self, pairs: list[tuple]) -> None:
        await self.submit(pairs)

    def submit(self, pairs: list[tuple]) -> asyncio.Future[None]:
        """The publication of ``pairs``: a future settled once Redis took them (or failed,
        within the publish timeout). Called on the loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self.waiting.append((pairs, future))
        if self.draining is None:
            self.draining = loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        batch: list[tuple[list[tuple], asyncio.Future[None]]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    # Bounded: a Redis that stops answering fails the batch (and the publisher
                    # drops its connection) instead of holding every later publication.
                    async with asyncio.timeout(bus_settings()["PUBLISH_TIMEOUT"]):
                        await self.send_many([pair for pairs, _ in batch for pair in pairs])
                except Exception as exc:
                    _settle(batch, exc)
                else:
                    _settle(batch, None)
        except BaseException:  # cancelled with the loop: nobody waits forever
            for _, future in batch + self.waiting:
                future.cancel()
            self.waiting = []
            raise
        finally:
            self.draining = None


def _settle(batch: list[tuple[list[tuple], asyncio.Future[None]]], error: Exception | None) -> None:
    for _, future in batch:
        if future.done():  # its publisher was cancelled
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


_coalescers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Coalescer] = (
    weakref.WeakKeyDictionary()
)


def publish(result: CommitResult) -> asyncio.Future | None:
    """Publish a durable commit on the bus. Never raises: failures are logged, since the
    commit has succeeded and readers can always catch up from the store. Called on an event
    loop it returns the publication's future, for the caller to await (so a busy loop does
    not pile up publications faster than the layer takes them)."""
    try:
        return _publish(result)
    except Exception:
        logger.exception(
            "publishing a commit on the event bus failed",
            extra={"last_position": _last_position(result)},
        )
        return None


def _last_position(result: CommitResult) -> int | None:
    try:
        return result.last_position
    except ValueError:
        return None


def _publish(result: CommitResult) -> asyncio.Future | None:
    layer = get_channel_layer()
    if layer is None:
        return None
    in_memory = isinstance(layer, InMemoryChannelLayer)
    loop = _consumer_loop
    if in_memory and (loop is None or loop.is_closed()):
        return None  # no consumer has ever connected in this process: nobody listens
    if not result.streams:
        return None
    # Each stream's category as the append left it (the admin may change it later; the
    # commit result says what it was when these events were stored).
    categories = {s.stream_id: s.category for s in result.streams}
    pairs = messages_for(result, categories)
    if in_memory:
        assert loop is not None  # checked above
        if _running_loop() is loop:
            loop.create_task(_send_all(layer, pairs))
        else:
            # In-process delivery; not awaited, so a commit never waits on the consumers.
            asyncio.run_coroutine_threadsafe(_send_all(layer, pairs), loop)
        return None
    running = _running_loop()
    if running is not None:
        # Called on an event loop (an append answered there): the layer serves this loop
        # too (consumers use it here), and the loop must never wait on another thread.
        # The caller awaits the future; its round trip is bounded by the publish timeout.
        publication = _coalescer(layer).submit(pairs)
        publication.add_done_callback(_sent)
        return publication
    future = asyncio.run_coroutine_threadsafe(_send_all(layer, pairs), _publisher())
    # Waited for (bounded): a short-lived process (a management command) must not exit
    # before its commit is on the bus, and commits of one thread stay in order.
    future.result(timeout=bus_settings()["PUBLISH_TIMEOUT"])
    return None


def _sent(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("publishing a commit on the event bus failed", exc_info=future.exception())


def on_events_committed(sender, result: CommitResult, **kwargs) -> asyncio.Future | None:
    """Receiver of ``streams.signals.events_committed`` (on a loop: the publication)."""
    return publish(result)


on_events_committed.loop_safe = True  # type: ignore[attr-defined]  # never blocks on a loop
