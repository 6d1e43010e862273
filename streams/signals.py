"""Signals of the store service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from django.dispatch import Signal
from django.dispatch.dispatcher import NONE_ID

from streams.speedups import receivers_plan


class CommitSignal(Signal):
    """A Signal sent on every commit. Its receivers are looked up once per connect or
    disconnect instead of on every send: Django's per-send lookup (a lock, a scan, weak
    references turned into lists) was a measurable share of a one-event append's CPU.
    Receivers connected for one sender only, or async ones, take Django's own path."""

    def __init__(self) -> None:
        super().__init__()
        # Bumped after every change of the receivers; a plan is good for its generation only,
        # so a change racing with a send is picked up by the next send.
        self._generation = 0
        self._plan: tuple[int, tuple[tuple[Any, bool], ...] | None] = (-1, None)

    def connect(self, receiver, sender=None, weak=True, dispatch_uid=None) -> None:
        super().connect(receiver, sender, weak, dispatch_uid)
        self._generation += 1

    def disconnect(self, receiver=None, sender=None, dispatch_uid=None) -> bool:
        disconnected = super().disconnect(receiver, sender, dispatch_uid)
        self._generation += 1
        return disconnected

    # _remove_receiver, _clear_dead_receivers and _log_robust_failure are Signal's private
    # methods (Django 5.2), which django-stubs leaves out.
    def _remove_receiver(self, receiver=None) -> None:
        super()._remove_receiver(receiver)  # type: ignore[misc]
        self._generation += 1

    def _make_plan(self) -> tuple[tuple[Any, bool], ...] | None:
        return receivers_plan(self, NONE_ID)

    def _current_plan(self) -> tuple[tuple[Any, bool], ...] | None:
        generation, plan = self._plan
        if generation != self._generation:
            generation = self._generation
            plan = self._make_plan()
            self._plan = (generation, plan)
        return plan

    def announce(self, sender, result) -> None:
        """``send_robust(sender, result=result)`` for a caller that wants no responses: the
        store service, once per commit. Failing receivers are logged the same way."""
        plan = self._current_plan()
        if plan is None:
            super().send_robust(sender, result=result)
            return
        for receiver in _live(plan):
            try:
                receiver(signal=self, sender=sender, result=result)
            except Exception as err:
                self._log_robust_failure(receiver, err)  # type: ignore[attr-defined]

    def announce_from_loop(
        self, sender, result, offload: Callable[[Callable[[], None]], object]
    ) -> list[asyncio.Future[Any]]:
        """:meth:`announce` from an event loop: receivers marked ``loop_safe = True`` (they
        neither block nor touch the database) run here, and what they return to be awaited
        (the bus's publication, which settles within the publish timeout: a receiver's
        future must be bounded by its own timeout) is returned; the others run in one call
        handed to ``offload`` (which runs it on a thread, not waited for)."""
        plan = self._current_plan()
        if plan is None:
            offload(lambda: self.announce(sender, result))
            return []
        later = []
        pending = []
        for receiver in _live(plan):
            if not getattr(receiver, "loop_safe", False):
                later.append(receiver)
                continue
            try:
                outcome = receiver(signal=self, sender=sender, result=result)
            except Exception as err:
                self._log_robust_failure(receiver, err)  # type: ignore[attr-defined]
                continue
            if asyncio.isfuture(outcome):
                pending.append(outcome)
        if later:
            offload(lambda: self._call_each(later, sender, result))
        return pending

    def _call_each(self, receivers: list[Any], sender, result) -> None:
        for receiver in receivers:
            try:
                receiver(signal=self, sender=sender, result=result)
            except Exception as err:
                self._log_robust_failure(receiver, err)  # type: ignore[attr-defined]

    def send_robust(self, sender, **named) -> list[tuple[Any, Any]]:
        plan = self._current_plan()
        if plan is None:
            return super().send_robust(sender, **named)
        responses = []
        for receiver in _live(plan):
            try:
                response = receiver(signal=self, sender=sender, **named)
            except Exception as err:
                self._log_robust_failure(receiver, err)  # type: ignore[attr-defined]
                responses.append((receiver, err))
            else:
                responses.append((receiver, response))
        return responses


def _live(plan: tuple[tuple[Any, bool], ...]) -> Iterator[Any]:
    """The receivers of ``plan``, weak references resolved, dead ones left out."""
    for receiver, weak in plan:
        if weak:
            receiver = receiver()
            if receiver is None:
                continue
        yield receiver


# Sent once a commit is durable (after the surrounding transaction, if any, commits), with
# ``result`` (a CommitResult). Never sent for an idempotent re-send. Receivers must not
# raise: a commit has succeeded whatever they do, so errors are logged, not propagated.
events_committed = CommitSignal()


# Sent by streams/lifecycle.py after a stream lost events to a delete or a truncation, with
# ``stream_id`` and ``before``: the first version that remains (None: none remains). The
# snapshot store drops the snapshots below it (snapshots/apps.py).
stream_truncated = Signal()
