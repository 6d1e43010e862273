"""The settled end of a feed, read from the store once per process for every socket that
watches it (console/consumers.py)."""

from __future__ import annotations

import asyncio
import bisect
import logging
import weakref
from typing import Any

from channels.db import database_sync_to_async

from streams import services

logger = logging.getLogger("flipbook.bus")


def read_in_pool(function: Any) -> Any:
    # Store reads run in the thread pool, not Channels' single thread for sync code, so one
    # socket's catch-up does not queue behind another's.
    return database_sync_to_async(function, thread_sensitive=False)


class FeedTail:
    """The settled end of one feed (the all-feed or one category) in this process: read from
    the store once for every socket watching that feed, instead of once per socket.

    Every event with a position in (``low``, ``high``] is held, in position order; a socket
    whose own mark is below ``low`` (far behind) reads the store itself."""

    KEEP = 5000  # events held; trimmed in halves so trimming stays cheap
    PAGE = 500
    # Per event loop, so a tail and its lock never cross loops (tests make a loop per test).
    _tails: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self, categories: tuple[str, ...]) -> None:
        self.categories = categories
        self.positions: list[int] = []
        self.events: list[dict] = []
        self.low: int | None = None
        self.high: int | None = None
        self.lock = asyncio.Lock()
        self.users = 0

    @classmethod
    def attach(cls, categories: tuple[str, ...]) -> FeedTail:
        tails = cls._tails.setdefault(asyncio.get_running_loop(), {})
        tail = tails.get(categories)
        if tail is None:
            tail = tails[categories] = cls(categories)
        tail.users += 1
        return tail

    def detach(self) -> None:
        self.users -= 1
        if self.users <= 0:
            for tails in list(self._tails.values()):
                if tails.get(self.categories) is self:
                    del tails[self.categories]

    async def since(self, after: int, target: int) -> tuple[list[dict], int] | None:
        """The events after ``after``, read up to at least ``target`` when it is settled, and
        the position they reach; None when ``after`` is older than what is held."""
        async with self.lock:
            if self.high is None or (after > self.high and not self.events):
                self.low = self.high = after
            while self.high < target:
                page = await read_in_pool(services.read_all)(
                    after=self.high, limit=self.PAGE, categories=self.categories
                )
                for event in page.events:
                    self.positions.append(event.position)
                    self.events.append(event.as_dict())
                moved = page.next_after > self.high
                self.high = max(self.high, page.next_after)
                if not moved or len(page.events) < self.PAGE:
                    break
            if len(self.events) > 2 * self.KEEP:
                self.low = self.positions[-self.KEEP - 1]
                del self.positions[: -self.KEEP], self.events[: -self.KEEP]
            assert self.low is not None  # set with high
            if after < self.low:
                return None
            start = bisect.bisect_right(self.positions, after)
            return self.events[start:], max(after, self.high)
