"""The retry policy of calls that are safe to repeat: exponential backoff with jitter while
the server is unavailable (the same policy as the Go SDK's)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flipbook_client.errors import FlipbookError, Unavailable

R = TypeVar("R")


@dataclass(frozen=True)
class RetryPolicy:
    """How a call that is safe to repeat is retried when it fails with ``Unavailable`` (the
    server is down, restarting, or refused the call for load).

    Reads, stream heads, states, snapshot sets and gets, subscription reads (``next``) and
    acks are safe; appends and commits are safe only when every event carries an ``id``
    (a re-send is then answered as a duplicate). Other calls are never retried. The waits
    grow from ``initial_backoff`` by ``multiplier`` up to ``max_backoff`` seconds, each
    moved by up to ``jitter`` (a fraction) either way so that clients that failed together
    do not retry together. ``max_attempts`` counts the first try; 1 never retries.
    ``on_retry(attempt, error, wait)`` is called before each wait, when set."""

    max_attempts: int = 6
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    multiplier: float = 2.0
    jitter: float = 0.2
    on_retry: Callable[[int, FlipbookError, float], None] | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.max_attempts > 1 and not 0 < self.initial_backoff <= self.max_backoff:
            raise ValueError("RetryPolicy needs 0 < initial_backoff <= max_backoff")
        if self.multiplier < 1:
            raise ValueError("RetryPolicy.multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be between 0 and 1")

    def wait(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1: the first retry)."""
        wait = min(self.initial_backoff * self.multiplier ** (attempt - 1), self.max_backoff)
        return wait * (1 + self.jitter * random.uniform(-1, 1))

    def call(self, function: Callable[[], R], *, idempotent: bool) -> R:
        """Return ``function()``, calling it again after a wait while it raises
        ``Unavailable``, when ``idempotent`` and attempts are left."""
        attempt = 1
        while True:
            try:
                return function()
            except Unavailable as error:
                if not idempotent or attempt >= self.max_attempts:
                    raise
                wait = self.wait(attempt)
                if self.on_retry is not None:
                    self.on_retry(attempt, error, wait)
                time.sleep(wait)
                attempt += 1


NO_RETRY = RetryPolicy(max_attempts=1)


def events_have_ids(events: Iterable[Any]) -> bool:
    """Whether re-sending these events is harmless: each carries a client-chosen id."""
    events = list(events)
    return bool(events) and all(_event_id(e) for e in events)


def _event_id(event: Any) -> Any:
    if isinstance(event, Mapping):
        return event.get("id")
    return getattr(event, "id", None)
