"""Waking waiters: long-polls, Subscribe streams and the push worker sleep on one notifier that
every commit, ack and retry request in this process wakes."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from django.db import connections
from django.dispatch import receiver

from streams.signals import events_committed


class FeedNotifier:
    """Wakes long-polls, Subscribe streams and the push worker when something they wait for
    may have happened in this process: a commit (events_committed), an ack, a retry request.

    Waiters hold no database connection while they wait; commits made by other processes are
    noticed by the waiters' fallback poll (every POLL_MAX_SECONDS at most)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._waiting = 0  # threads in wait(): a commit with no waiter skips notify_all
        self._generation = 0
        self._closed = False
        self._futures: set[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = set()

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def waiting(self) -> int:
        """How many waits are under way now (threads in wait(), coroutines in wait_async())."""
        with self._condition:
            return self._waiting + len(self._futures)

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            if self._waiting:
                self._condition.notify_all()
            if not self._futures:
                return
            futures = list(self._futures)
        for loop, future in futures:
            with contextlib.suppress(RuntimeError):  # a closed loop: its waiter is gone
                loop.call_soon_threadsafe(_resolve, future)

    def wait(self, generation: int, timeout: float) -> bool:
        """Block until notified after ``generation`` (True) or ``timeout`` seconds (False)."""
        with self._condition:
            self._waiting += 1
            try:
                return self._condition.wait_for(
                    lambda: self._generation != generation or self._closed, timeout
                )
            finally:
                self._waiting -= 1

    async def wait_async(self, generation: int, timeout: float) -> bool:
        """As :meth:`wait`, without holding a thread."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        entry = (loop, future)
        with self._condition:
            if self._generation != generation or self._closed:
                return True
            self._futures.add(entry)
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for may swallow a cancellation.
            async with asyncio.timeout(timeout):
                await future
            return True
        except TimeoutError:
            return False
        finally:
            with self._condition:
                self._futures.discard(entry)

    def close(self) -> None:
        """Wake every waiter and make later waits return at once (the server is stopping)."""
        self._closed = True
        self.notify()

    def reopen(self) -> None:
        self._closed = False


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


notifier = FeedNotifier()


@receiver(events_committed, dispatch_uid="flipbook.subscriptions.notify")
def _on_commit(**kwargs) -> None:
    # Only a wake-up: the payload is never delivered (on PostgreSQL commits may reach this
    # signal out of position order); waiters read the store through read_all.
    notifier.notify()


_on_commit.loop_safe = True  # type: ignore[attr-defined]  # a lock and wake-ups only


def release_connections() -> None:
    """Give back this thread's database connections before a wait (unless a transaction is
    open), so a waiting consumer holds no connection (PostgreSQL: back to the pool)."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()
