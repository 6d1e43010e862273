"""Reducers: the ``(state, event) -> state`` functions that fold a stream into its state.

A category picks its reducer, in this order: its row in the admin (``Category``: a built-in
``merge``, ``list`` or ``declarative`` reducer, or a Python function), else a Python function
registered for it (``FLIPBOOK_REDUCERS = {"wallet": "dotted.path"}`` or ``@reducer("wallet")``),
else the built-in ``merge``. Every reducer has a revision; snapshots made under another
revision are never used."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules, import_string

from snapshots.contract import ReduceFunction as ReduceFunction  # re-exported
from snapshots.contract import Reducer as Reducer
from snapshots.contract import describe_exception as describe_exception
from snapshots.contract import reducer_error as reducer_error
from snapshots.rules import compile_rules as compile_rules  # re-exported: reducers' one module
from snapshots.rules import copy_json, declarative_reducer, deep_merge
from snapshots.rules import rules_revision as rules_revision
from streams.conf import flipbook_settings
from streams.exceptions import ValidationError
from streams.records import RecordedEvent

KINDS = ("merge", "list", "declarative", "python")
MAX_REVISION = 200


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
