"""Reducers: the ``(state, event) -> state`` functions that fold a stream into its state.

A category picks its reducer, in this order: its row in the admin (``Category``: a built-in
``merge``, ``list`` or ``declarative`` reducer, or a Python function), else a Python function
registered for it (``FLIPBOOK_REDUCERS = {"wallet": "dotted.path"}`` or ``@reducer("wallet")``),
else the built-in ``merge``. Every reducer has a revision; snapshots made under another
revision are never used."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules, import_string

from snapshots.rules import RuleFailed, copy_json, declarative_reducer, deep_merge
from snapshots.rules import compile_rules as compile_rules  # re-exported: reducers' one module
from snapshots.rules import rules_revision as rules_revision
from streams.conf import flipbook_settings
from streams.exceptions import ReducerError, Unavailable, ValidationError
from streams.records import RecordedEvent

ReduceFunction = Callable[[Any, RecordedEvent], Any]
KINDS = ("merge", "list", "declarative", "python")
MAX_REVISION = 200
_NO_STATE = object()


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


# -- built-ins --------------------------------------------------------------------------------


def _merge(state: Any, event: RecordedEvent) -> Any:
    # An event without a payload carries nothing to merge; any other non-object payload
    # replaces the state, as it would at any nested level of a deep merge.
    if event.payload is None:
        return state
    return deep_merge(state, event.payload)


def _list(state: Any, event: RecordedEvent) -> Any:
    if not isinstance(state, list):
        raise TypeError(f"the list reducer's state must be a list, not {type(state).__name__}")
    state.append(copy_json(event.payload))
    return state


MERGE = Reducer("merge", "merge:1", _merge, dict, "the built-in merge reducer")
LIST = Reducer("list", "list:1", _list, list, "the built-in list reducer")


# -- Python reducers and their registry -------------------------------------------------------

_registry: dict[str, ReduceFunction] = {}
_registry_lock = threading.Lock()
_discovered = False


def reducer(
    category: str | None = None, *, revision: str = "1", initial: Any = None
) -> Callable[[ReduceFunction], ReduceFunction]:
    """Decorate a ``(state, event) -> state`` function as a reducer with a ``revision``
    (change it whenever the function's results change, so old snapshots are retired) and an
    ``initial`` state (a JSON value, or a callable returning one). With ``category``, also
    register it for that category (modules named ``reducers`` in installed apps are imported
    to find such registrations)."""
    if not isinstance(revision, str) or not revision or len(revision) > 100:
        raise ImproperlyConfigured("@reducer(revision=...) must be a string of 1-100 characters")

    def decorate(func: ReduceFunction) -> ReduceFunction:
        func.flipbook_revision = revision  # type: ignore[attr-defined]
        func.flipbook_initial = initial  # type: ignore[attr-defined]
        if category is not None:
            with _registry_lock:
                _registry[category] = func
        return func

    return decorate


def unregister(category: str) -> None:
    """Forget the function registered for ``category`` with ``@reducer`` (tests use it)."""
    with _registry_lock:
        _registry.pop(category, None)


def python_reducer(func_or_path: ReduceFunction | str) -> Reducer:
    """A Reducer for a Python function (or its dotted path). Its revision is
    ``python:<module.name>:<the function's revision>`` ("1" when it was not decorated)."""
    if isinstance(func_or_path, str):
        func = _import_reducer(func_or_path)
        path = func_or_path
    else:
        func = func_or_path
        path = f"{func.__module__}.{func.__qualname__}"
    revision = str(getattr(func, "flipbook_revision", "1"))
    initial = getattr(func, "flipbook_initial", None)
    factory = initial if callable(initial) else (lambda: copy_json(initial))
    full = f"python:{path}:{revision}"[:MAX_REVISION]
    return Reducer("python", full, func, factory, f"the Python reducer {path}")


@lru_cache(maxsize=256)
def _import_reducer(path: str) -> ReduceFunction:
    try:
        func: ReduceFunction = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"reducer {path!r} cannot be imported: {exc}") from exc
    if not callable(func):
        raise ImproperlyConfigured(f"reducer {path!r} is not a function")
    return func


def registered_reducer(category: str) -> Reducer | None:
    """The Python reducer registered for ``category`` in FLIPBOOK_REDUCERS or with
    ``@reducer(category)``, or None."""
    configured = flipbook_settings.REDUCERS or {}
    if not isinstance(configured, dict):
        raise ImproperlyConfigured(
            "FLIPBOOK_REDUCERS must be a dict of category -> dotted path of a reducer function"
        )
    path = configured.get(category)
    if path is not None:
        try:
            return python_reducer(path)
        except ImproperlyConfigured as exc:
            raise ImproperlyConfigured(f"FLIPBOOK_REDUCERS[{category!r}]: {exc}") from exc
    _discover()
    func = _registry.get(category)
    return python_reducer(func) if func is not None else None


def _discover() -> None:
    global _discovered
    if not _discovered:
        with _registry_lock:
            _discovered = True
        autodiscover_modules("reducers")


def build_reducer(
    kind: str, *, rules: Any = None, python_path: str = "", category: str = ""
) -> Reducer:
    """The reducer a category's settings describe. Raises ValidationError (bad rules, kind)
    or ImproperlyConfigured (a Python reducer that cannot be found)."""
    where = f" of category {category!r}" if category else ""
    if kind == "merge":
        built = MERGE
    elif kind == "list":
        built = LIST
    elif kind == "declarative":
        built = declarative_reducer(rules if rules is not None else {})
    elif kind == "python":
        if python_path:
            built = python_reducer(python_path)
        else:
            found = registered_reducer(category) if category else None
            if found is None:
                raise ImproperlyConfigured(
                    f"category {category!r} uses a Python reducer but names no dotted path and "
                    "none is registered for it (FLIPBOOK_REDUCERS or @reducer)"
                )
            built = found
    else:
        raise ValidationError("reducer", f"must be one of {', '.join(KINDS)}")
    source = f"{built.source}{where}"
    return built if source == built.source else replace(built, source=source)


def reducer_for_category(category: str | None) -> Reducer:
    """The reducer of a category (see the module docstring for the order). Raises
    ReducerError when the category's configuration is broken (bad rules, missing function),
    Unavailable when the database holding the categories cannot be read."""
    if not category:
        return MERGE
    row = category_settings(category)
    try:
        if row is not None:
            kind, rules, python_path, _ = row
            return build_reducer(kind, rules=rules, python_path=python_path, category=category)
        found = registered_reducer(category)
    except (ValidationError, ImproperlyConfigured) as exc:
        message = exc.message if isinstance(exc, ValidationError) else str(exc)
        raise ReducerError(
            f"the reducer of category {category!r} is misconfigured: {message}; fix it in "
            "the admin (Categories) or in FLIPBOOK_REDUCERS",
            category=category,
        ) from exc
    if found is None:
        return replace(MERGE, source=f"{MERGE.source} (default for category {category!r})")
    return replace(found, source=f"{found.source} of category {category!r}")


def category_settings(category: str) -> tuple[str, Any, str, int | None] | None:
    """The admin's settings of a category: (reducer kind, rules, python path, snapshot
    every), or None when it has none. One indexed query, read fresh on every call so an
    edit in the admin applies at once in every process."""
    from django.db import DatabaseError, connections, router

    from snapshots.models import Category  # the app registry is ready by the time this runs

    connection = connections[router.db_for_read(Category)]
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reducer, CAST(rules AS text), python_path, snapshot_every "
                f"FROM {Category._meta.db_table} WHERE name = %s",
                [category],
            )
            row = cursor.fetchone()
    except DatabaseError as exc:
        raise Unavailable(
            f"the {connection.vendor} database holding the categories is unavailable; retry later"
        ) from exc
    if row is None:
        return None
    kind, rules, python_path, every = row
    return kind, json.loads(rules) if rules is not None else {}, python_path or "", every
