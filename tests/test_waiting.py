"""tests/waiting.py: wait_until returns the condition's value, fails with the message and the
last value at the deadline, and treats only the named exceptions as "not yet"."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.waiting import wait_until


def test_returns_the_first_truthy_value():
    calls = itertools.count(1)
    found = wait_until(lambda: [n for n in [next(calls)] if n >= 3], timeout=5, interval=0.001)
    assert found == [3]


def test_fails_at_the_deadline_with_the_message_and_the_last_value():
    calls = itertools.count(1)
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"^no answer \(waited 0.1 s; last value: 0\)$"):
        wait_until(lambda: next(calls) * 0, timeout=0.1, message="no answer")
    assert time.monotonic() - started >= 0.1
    assert next(calls) > 2  # it looked more than once


def test_a_message_function_is_called_at_the_deadline():
    seen = []
    with pytest.raises(AssertionError, match=r"^seen \[1(, 1)+\] \(waited"):
        wait_until(
            lambda: seen.append(1), timeout=0.05, interval=0.04, message=lambda: f"seen {seen}"
        )


def test_only_the_named_exceptions_mean_not_yet():
    calls = itertools.count(1)

    def listening_from_the_third_call() -> int:
        n = next(calls)
        if n < 3:
            raise ConnectionRefusedError("not listening yet")
        return n

    found = wait_until(listening_from_the_third_call, timeout=5, interval=0.001, ignore=(OSError,))
    assert found == 3

    def refused() -> None:
        raise ConnectionRefusedError("refused")

    with pytest.raises(AssertionError, match="last value: ConnectionRefusedError"):
        wait_until(refused, timeout=0.05, ignore=(OSError,))
    with pytest.raises(ConnectionRefusedError):  # not named: the wait ends at once
        wait_until(refused, timeout=5)
