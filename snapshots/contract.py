"""The reducers' contract: a ``Reducer`` folds events into a state and reports a failure as a
ReducerError naming the stream, version and event. The built-ins, declarative rules and Python
reducers (snapshots/reducers.py, snapshots/rules.py) all build on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from streams.exceptions import ReducerError
from streams.records import RecordedEvent

ReduceFunction = Callable[[Any, RecordedEvent], Any]
_NO_STATE = object()


class RuleFailed(Exception):
    """A declarative rule cannot be applied to an event (wrapped into a ReducerError)."""


@dataclass(frozen=True)
class Reducer:
    """A reducer ready to fold: ``apply(state, event)`` returns the next state and may change
    ``state`` in place (a fold owns its state); ``initial()`` returns a fresh first state."""

    kind: str
    revision: str
    apply: ReduceFunction
    initial_factory: Callable[[], Any]
    source: str

    def initial(self) -> Any:
        """A new initial state (never shared between folds)."""
        return self.initial_factory()

    def step(self, state: Any, event: RecordedEvent) -> Any:
        """Apply one event. Raises ReducerError naming the stream, version and event."""
        try:
            return self.apply(state, event)
        except ReducerError:
            raise
        except RuleFailed as exc:
            raise reducer_error(self, event, str(exc)) from exc
        except Exception as exc:
            raise reducer_error(self, event, describe_exception(exc)) from exc

    def fold(self, events: Iterable[RecordedEvent], state: Any = _NO_STATE) -> Any:
        """Fold ``events`` in order onto ``state`` (a new initial state when not given) and
        return the result. Raises ReducerError."""
        if state is _NO_STATE:
            state = self.initial()
        for event in events:
            state = self.step(state, event)
        return state


def reducer_error(reducer: Reducer, event: RecordedEvent, reason: str) -> ReducerError:
    """The ReducerError for ``event``: names the stream, its version (or position), the event."""
    where = (
        f"version {event.version}" if event.version is not None else f"position {event.position}"
    )
    return ReducerError(
        f"{reducer.source} failed on stream {event.stream_id!r} at {where} "
        f"(event {event.name!r}): {reason}. Fix the reducer or its rules; no state was kept.",
        stream_id=event.stream_id,
        version=event.version,
        position=event.position,
        event_name=event.name,
        reducer=reducer.kind,
        revision=reducer.revision,
    )


def describe_exception(exc: BaseException) -> str:
    text = str(exc)
    if len(text) > 300:
        text = text[:300] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
