"""Reducers: the ``(state, event) -> state`` functions that fold a stream into its state.

A category picks its reducer, in this order: its row in the admin (``Category``: a built-in
``merge``, ``list`` or ``declarative`` reducer, or a Python function), else a Python function
registered for it (``FLIPBOOK_REDUCERS = {"wallet": "dotted.path"}`` or ``@reducer("wallet")``),
else the built-in ``merge``. Every reducer has a revision; snapshots made under another
revision are never used."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules, import_string

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


# -- JSON helpers -----------------------------------------------------------------------------


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (faster than copy.deepcopy for dicts and lists)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def deep_merge(target: Any, patch: Any) -> Any:
    """Merge ``patch`` into ``target``: objects merge key by key, recursively; any other value
    replaces what was there. Changes ``target`` in place when both are objects."""
    if isinstance(target, dict) and isinstance(patch, dict):
        for key, value in patch.items():
            if key in target:
                target[key] = deep_merge(target[key], value)
            else:
                target[key] = copy_json(value)
        return target
    return copy_json(patch)


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


# -- declarative ------------------------------------------------------------------------------

OPS = ("set", "increment", "decrement", "append", "remove", "merge")
RULE_KEYS = {"op", "path", "from", "value", "default"}
EVENT_FIELDS: dict[str, Callable[[RecordedEvent], Any]] = {
    "name": lambda e: e.name,
    "version": lambda e: e.version,
    "position": lambda e: e.position,
    "stream_id": lambda e: e.stream_id,
    "id": lambda e: str(e.id),
    "timestamp": lambda e: e.timestamp.isoformat() if e.timestamp else None,
    "recorded_at": lambda e: e.recorded_at.isoformat(),
    "metadata": lambda e: e.metadata,
}
_MISSING = object()


class RuleFailed(Exception):
    """A declarative rule cannot be applied to an event (wrapped into a ReducerError)."""


@dataclass(frozen=True)
class Source:
    """Where a rule's value comes from: a path into the payload, or ``@field`` of the event."""

    text: str
    field: str | None  # event attribute, or None for the payload
    path: tuple[str, ...]

    def read(self, event: RecordedEvent) -> Any:
        base = event.payload if self.field is None else EVENT_FIELDS[self.field](event)
        value = base
        for key in self.path:
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                return _MISSING
        return value


@dataclass(frozen=True)
class Rule:
    """One compiled declarative rule."""

    op: str
    path: tuple[str | Source, ...]  # a Source segment is filled in from the event
    source: Source | None
    value: Any
    default: Any
    text: str

    def amount(self, event: RecordedEvent) -> Any:
        if self.source is None:
            if self.value is not _MISSING:
                return copy_json(self.value)
            if self.op in ("increment", "decrement"):
                return 1
            return copy_json(event.payload)
        value = self.source.read(event)
        if value is _MISSING:
            if self.default is _MISSING:
                raise RuleFailed(
                    f"{self.text}: the event has no {self.source.text!r} "
                    '(add a "default" to the rule if it is optional)'
                )
            return copy_json(self.default)
        return copy_json(value)

    def keys(self, event: RecordedEvent) -> list[str]:
        keys = []
        for segment in self.path:
            if isinstance(segment, Source):
                value = segment.read(event)
                if isinstance(value, bool) or not isinstance(value, (str, int)):
                    raise RuleFailed(
                        f"{self.text}: path segment {{{segment.text}}} must come from a "
                        f"string or integer in the event, got {_type_name(value)}"
                    )
                keys.append(str(value))
            else:
                keys.append(segment)
        return keys

    def apply(self, state: Any, event: RecordedEvent) -> Any:
        keys = self.keys(event)
        value = self.amount(event)
        if not keys:
            return self._apply_at(None, None, state, value)
        parent = state
        for i, key in enumerate(keys[:-1]):
            if not isinstance(parent, dict):
                raise RuleFailed(
                    f"{self.text}: {_at(keys[:i])} is {_type_name(parent)}, not an object"
                )
            child = parent.get(key)
            if child is None:
                child = parent[key] = {}
            parent = child
        if not isinstance(parent, dict):
            raise RuleFailed(
                f"{self.text}: {_at(keys[:-1])} is {_type_name(parent)}, not an object"
            )
        current = parent.get(keys[-1], _MISSING)
        result = self._apply_at(parent, keys[-1], current, value)
        if result is _MISSING:
            parent.pop(keys[-1], None)
        else:
            parent[keys[-1]] = result
        return state

    def _apply_at(self, parent: Any, key: str | None, current: Any, value: Any) -> Any:
        """The new value at the rule's path (``_MISSING``: delete the key there)."""
        op = self.op
        if op == "set":
            return value
        if op in ("increment", "decrement"):
            if current is _MISSING or current is None:
                current = 0
            if not _is_number(current):
                raise RuleFailed(
                    f"{self.text}: the state there is {_type_name(current)}, not a number"
                )
            if not _is_number(value):
                raise RuleFailed(f"{self.text}: the amount is {_type_name(value)}, not a number")
            result = current + value if op == "increment" else current - value
            if isinstance(result, float) and not math.isfinite(result):
                raise RuleFailed(f"{self.text}: the result is not a finite number")
            return result
        if op == "append":
            if current is _MISSING or current is None:
                current = []
            if not isinstance(current, list):
                raise RuleFailed(
                    f"{self.text}: the state there is {_type_name(current)}, not a list"
                )
            current.append(value)
            return current
        if op == "remove":
            if self.source is None and self.value is _MISSING:
                return _MISSING if parent is not None else {}  # delete the key (or reset)
            if current is _MISSING or current is None:
                return current
            if isinstance(current, list):
                return [item for item in current if item != value]
            if isinstance(current, dict) and isinstance(value, str):
                current.pop(value, None)
                return current
            raise RuleFailed(
                f"{self.text}: cannot remove {_type_name(value)} from {_type_name(current)}"
            )
        # merge
        if current is _MISSING or current is None:
            current = {}
        return deep_merge(current, value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _at(keys: list[str]) -> str:
    return repr(".".join(keys)) if keys else "the state"


def _parse_path(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, list):
        if not all(isinstance(k, str) and k for k in value):
            raise ValidationError("rules", f"{where}: a path list must hold non-empty strings")
        return tuple(value)
    if not isinstance(value, str):
        raise ValidationError("rules", f"{where}: a path must be a string like 'a.b' or a list")
    text = value[1:] if value.startswith("$") else value
    text = text.removeprefix(".")
    if not text:
        return ()
    keys = tuple(text.split("."))
    if not all(keys):
        raise ValidationError("rules", f"{where}: path {value!r} has an empty segment")
    return keys


def _parse_source(value: Any, where: str) -> Source:
    if not isinstance(value, str):
        raise ValidationError(
            "rules",
            f"{where}: 'from' must be a string (a payload path, "
            "'$' for the whole payload, or '@name', '@metadata.actor'…)",
        )
    if value.startswith("@"):
        field, _, rest = value[1:].partition(".")
        if field not in EVENT_FIELDS:
            raise ValidationError(
                "rules",
                f"{where}: unknown event field {value!r}; use one of "
                + ", ".join("@" + f for f in EVENT_FIELDS),
            )
        return Source(value, field, _parse_path(rest, where) if rest else ())
    return Source(value, None, _parse_path(value, where))


def _compile_rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise ValidationError("rules", f"{where}: a rule must be an object with 'op' and 'path'")
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise ValidationError(
            "rules",
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; a rule has "
            "'op', 'path' and optionally 'from' (with 'default') or 'value'",
        )
    op = raw.get("op")
    if op not in OPS:
        raise ValidationError("rules", f"{where}: 'op' must be one of {', '.join(OPS)}")
    if "path" not in raw:
        raise ValidationError("rules", f"{where}: 'path' is required ('' for the whole state)")
    if "from" in raw and "value" in raw:
        raise ValidationError("rules", f"{where}: give 'from' or 'value', not both")
    if "default" in raw and "from" not in raw:
        raise ValidationError("rules", f"{where}: 'default' only goes with 'from'")
    segments: list[str | Source] = []
    for key in _parse_path(raw["path"], where):
        if key.startswith("{") and key.endswith("}") and len(key) > 2:
            segments.append(_parse_source(key[1:-1], where))
        else:
            segments.append(key)
    source = _parse_source(raw["from"], where) if "from" in raw else None
    text = f"{where} ({op} {raw['path']!r})"
    return Rule(
        op=op,
        path=tuple(segments),
        source=source,
        value=raw.get("value", _MISSING),
        default=raw.get("default", _MISSING),
        text=text,
    )


def compile_rules(rules: Any) -> dict[str, tuple[Rule, ...]]:
    """Check declarative rules and return them compiled, per event name (``"*"``: events
    with no rules of their own). Raises ValidationError (field "rules") saying what is wrong.

    Shape: ``{"Deposited": [{"op": "increment", "path": "balance", "from": "amount"}]}``;
    ``op`` is one of set, increment, decrement, append, remove, merge; ``path`` is a dotted
    path into the state ("" is the whole state; a ``{field}`` segment takes its key from the
    event); ``from`` is a dotted path into the payload ("$" the whole payload, "@name",
    "@timestamp", "@metadata.actor"… the event's fields), ``default`` its value when missing;
    ``value`` a literal instead."""
    if not isinstance(rules, dict):
        raise ValidationError("rules", "must be an object mapping event names to lists of rules")
    compiled = {}
    for name, raw_rules in rules.items():
        if isinstance(raw_rules, dict):
            raw_rules = [raw_rules]
        if not isinstance(raw_rules, list):
            raise ValidationError("rules", f"{name!r}: must be a list of rules")
        compiled[name] = tuple(
            _compile_rule(raw, f"rule {i + 1} of {name!r}") for i, raw in enumerate(raw_rules)
        )
    return compiled


def rules_revision(rules: Any) -> str:
    """The revision of a declarative reducer: a hash of its rules, so editing them retires
    the snapshots made under the old ones."""
    text = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "declarative:" + hashlib.sha256(text.encode()).hexdigest()[:16]


@lru_cache(maxsize=256)
def _declarative_from_text(text: str) -> Reducer:
    rules = json.loads(text)
    compiled = compile_rules(rules)
    fallback = compiled.get("*", ())

    def apply(state: Any, event: RecordedEvent) -> Any:
        for rule in compiled.get(event.name, fallback):
            state = rule.apply(state, event)
        return state

    return Reducer("declarative", rules_revision(rules), apply, dict, "the declarative reducer")


def declarative_reducer(rules: Any) -> Reducer:
    """A declarative reducer for ``rules`` (see :func:`compile_rules`). Raises
    ValidationError when the rules are not valid."""
    try:
        text = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError("rules", f"must be JSON ({exc})") from exc
    return _declarative_from_text(text)


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
