"""Declarative reducers: per event name, a list of rules (set, increment, decrement, append,
remove, merge) compiled once and applied to a copy of the state; and the JSON helpers they and
the built-in reducers share."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from snapshots.contract import Reducer, RuleFailed
from streams.exceptions import ValidationError
from streams.records import RecordedEvent

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
