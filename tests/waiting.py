"""Waiting in tests: poll what the test can observe until it holds, with a deadline, instead of
sleeping for a guessed time (too short on a busy machine, wasted on an idle one)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.02,
    message: str | Callable[[], str] = "the condition did not hold",
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``condition`` every ``interval`` seconds until it returns a truthy value; return
    that value. After ``timeout`` seconds fail the test (AssertionError, so threads that
    collect their errors see it too) with ``message`` (or what it returns then, if it is a
    function) and the last value seen.

    Exceptions of the types in ``ignore`` count as "not yet" (e.g. a server not listening
    yet); any other exception, such as an assertion inside ``condition``, ends the wait."""
    if timeout <= 0 or interval <= 0:
        raise ValueError(f"timeout and interval must be positive, not {timeout!r}, {interval!r}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except ignore as exc:
            value = exc  # type: ignore[assignment]
        else:
            if value:
                return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            last = repr(value)
            if len(last) > 2000:
                last = last[:2000] + "..."
            text = message() if callable(message) else message
            raise AssertionError(f"{text} (waited {timeout:g} s; last value: {last})")
        time.sleep(min(interval, remaining))  # the pause between two looks
