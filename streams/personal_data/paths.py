"""The JSON paths that mark personal fields: ``$.email``, ``$.address.street``,
``$.contacts[*].phone``, ``$.lines[0].name``, ``$['odd key']``.

A path names object members and array items below the root; it never names the root
itself (the field must stay present, with an erased marker, once its key is gone)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# One step: .name | ['quoted name'] | ["quoted name"] | [index] | [*]
_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_$][\w$-]*)"""
    r"""|\[(?:'(?P<sq>(?:[^'\\]|\\.)*)'|"(?P<dq>(?:[^"\\]|\\.)*)"|(?P<index>\d+)|(?P<star>\*))\]"""
)
WILDCARD = object()
Step = str | int | object
MAX_PATH = 512


class PathError(ValueError):
    """A JSON path that is not one this module understands; the message says why."""


def parse_path(text: Any) -> tuple[Step, ...]:
    """Return the steps of a JSON path (str keys, int indexes, WILDCARD). Raises PathError."""
    if not isinstance(text, str) or not text:
        raise PathError("must be a non-empty string like '$.email'")
    if len(text) > MAX_PATH:
        raise PathError(f"must be at most {MAX_PATH} characters")
    if not text.startswith("$"):
        raise PathError(f"{text!r} must start at the root '$', like '$.email'")
    steps: list[Step] = []
    at = 1
    while at < len(text):
        match = _STEP.match(text, at)
        if match is None:
            raise PathError(
                f"{text!r} is not a JSON path this store understands at character {at + 1}: "
                "use .name, ['name'], [index] or [*] steps"
            )
        if match["name"] is not None:
            steps.append(match["name"])
        elif match["sq"] is not None:
            steps.append(re.sub(r"\\(.)", r"\1", match["sq"]))
        elif match["dq"] is not None:
            steps.append(re.sub(r"\\(.)", r"\1", match["dq"]))
        elif match["index"] is not None:
            steps.append(int(match["index"]))
        else:
            steps.append(WILDCARD)
        at = match.end()
    if not steps:
        raise PathError(f"{text!r} names the whole payload; name a field below it, like '$.email'")
    return tuple(steps)


def concrete(where: tuple[str | int, ...]) -> str:
    """The text of one concrete location (wildcards resolved), for binding ciphertexts to it."""
    out = ["$"]
    for step in where:
        out.append(f"[{step}]" if isinstance(step, int) else f"[{_quote(step)}]")
    return "".join(out)


def _quote(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def locations(value: Any, steps: tuple[Step, ...]) -> Iterator[tuple[str | int, ...]]:
    """Yield the concrete locations in ``value`` that ``steps`` select (missing ones skipped)."""

    def walk(node: Any, i: int, where: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
        if i == len(steps):
            yield where
            return
        step = steps[i]
        if step is WILDCARD:
            if isinstance(node, list):
                for index, item in enumerate(node):
                    yield from walk(item, i + 1, (*where, index))
            elif isinstance(node, dict):
                for key in list(node):
                    yield from walk(node[key], i + 1, (*where, key))
        elif isinstance(step, int):
            if isinstance(node, list) and step < len(node):
                yield from walk(node[step], i + 1, (*where, step))
        elif isinstance(node, dict) and step in node:
            assert isinstance(step, str)
            yield from walk(node[step], i + 1, (*where, step))

    yield from walk(value, 0, ())


def get_at(value: Any, where: tuple[str | int, ...]) -> Any:
    """The value at a concrete location (which :func:`locations` found)."""
    for step in where:
        value = value[step]
    return value


def replace_at(value: Any, where: tuple[str | int, ...], new: Any) -> Any:
    """A copy of ``value`` with the item at ``where`` replaced by ``new``: only the
    containers along the way are copied, the caller's value is left alone."""
    if not where:
        return new
    head, rest = where[0], where[1:]
    if isinstance(value, list):
        copy: Any = list(value)
    else:
        copy = dict(value)
    copy[head] = replace_at(value[head], rest, new)
    return copy
