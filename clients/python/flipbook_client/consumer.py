"""A pull consumer of a durable subscription: next -> handle -> ack, nack on failure, and a
graceful stop (SIGTERM/SIGINT or a threading.Event) that acknowledges what was handled."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flipbook_client.errors import Unavailable
from flipbook_client.types import Event

logger = logging.getLogger("flipbook_client.consumer")


@dataclass
class ConsumerStats:
    """What a run did: events handled and acknowledged, failures reported (nacks)."""

    batches: int = 0
    handled: int = 0
    nacked: int = 0
    last_acked: int | None = None


class Consumer:
    """Runs ``handler(event)`` for each event of ``subscription``, in position order.

    Each batch from ``next`` is handled event by event; the handled prefix is acknowledged
    with one cumulative ack. When the handler raises, the events before it are acknowledged
    by the nack of the failing one, and the loop asks for the next batch, which starts with
    that event again (until the server parks it after the subscription's max_attempts).
    Delivery is at-least-once: a handler must tolerate seeing an event twice.

    ``stop()``, the ``stop_event`` or SIGTERM/SIGINT (when ``run`` is called from the main
    thread and ``handle_signals``) end the loop after the current event; it acknowledges
    what was handled and returns. A stop is noticed within ``wait`` seconds while the
    server has no events (the long poll)."""

    def __init__(
        self,
        client: Any,
        subscription: str,
        handler: Callable[[Event], Any],
        *,
        batch_size: int = 100,
        wait: float = 5,
        stop_event: threading.Event | None = None,
        handle_signals: bool = True,
        retry_delay: float = 1.0,
    ) -> None:
        self.client = client
        self.subscription = subscription
        self.handler = handler
        self.batch_size = batch_size
        self.wait = wait
        self.stop_event = stop_event or threading.Event()
        self.handle_signals = handle_signals
        self.retry_delay = retry_delay
        self.stats = ConsumerStats()

    def stop(self) -> None:
        """Ask the loop to stop after the event it is handling."""
        self.stop_event.set()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def run(self, *, until_idle: bool = False, max_batches: int | None = None) -> ConsumerStats:
        """Consume until stopped; ``until_idle`` also stops at the first empty batch (after
        the long poll), ``max_batches`` after that many batches. Returns the stats."""
        with self._signals():
            while not self.stopping:
                if max_batches is not None and self.stats.batches >= max_batches:
                    break
                try:
                    batch = self.client.subscriptions.next(
                        self.subscription, max=self.batch_size, wait=self.wait
                    )
                except Unavailable as error:
                    # The server is restarting or unreachable: wait, then ask again.
                    logger.warning("next on %s failed: %s", self.subscription, error)
                    self.stop_event.wait(self.retry_delay)
                    continue
                self.stats.batches += 1
                if not batch.events:
                    if until_idle:
                        break
                    continue
                try:
                    self._handle(batch.events)
                except Unavailable as error:
                    # The ack or nack was lost: the events come again (at-least-once).
                    logger.warning("ack on %s failed: %s", self.subscription, error)
                    self.stop_event.wait(self.retry_delay)
        return self.stats

    def _handle(self, events: list[Event]) -> None:
        handled: int | None = None
        for event in events:
            if self.stopping:
                break
            try:
                self.handler(event)
            except Exception as error:
                message = f"{type(error).__name__}: {error}"[:2000]
                logger.warning("handler failed on position %d: %s", event.position, message)
                result = self.client.subscriptions.nack(self.subscription, event.position, message)
                self.stats.nacked += 1
                if handled is not None:
                    self.stats.last_acked = handled
                if result.parked:
                    logger.error(
                        "event at position %d parked after %d attempts",
                        event.position,
                        result.attempts,
                    )
                return
            handled = event.position
            self.stats.handled += 1
        if handled is not None:
            self.client.subscriptions.ack(self.subscription, handled)
            self.stats.last_acked = handled

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {}

        def on_signal(signum: int, frame: Any) -> None:
            logger.info("signal %d: stopping after the current event", signum)
            self.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def run_consumer(
    client: Any, subscription: str, handler: Callable[[Event], Any], **options: Any
) -> ConsumerStats:
    """Build a Consumer and run it until SIGTERM/SIGINT."""
    return Consumer(client, subscription, handler, **options).run()
