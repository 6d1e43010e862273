"""What changed between two JSON values, key by key: the replay viewer's per-event changes and
the drift check's field-level difference between a stored snapshot and the re-folded state."""

from __future__ import annotations

from typing import Any


def json_diff(before: Any, after: Any, path: tuple = ()) -> list[dict[str, Any]]:
    """What changed from ``before`` to ``after``, key by key, nested objects and lists
    included: ``{"path": [keys], "op": "added" | "removed" | "changed", "before", "after"}``
    (``before`` absent on added, ``after`` absent on removed). A value whose type changes is
    "changed" as a whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[dict[str, Any]] = []
        for key in before:
            if key not in after:
                changes.append({"path": [*path, key], "op": "removed", "before": before[key]})
            else:
                changes += json_diff(before[key], after[key], (*path, key))
        for key in after:
            if key not in before:
                changes.append({"path": [*path, key], "op": "added", "after": after[key]})
        return changes
    if isinstance(before, list) and isinstance(after, list):
        changes = []
        for index in range(max(len(before), len(after))):
            if index >= len(after):
                changes.append({"path": [*path, index], "op": "removed", "before": before[index]})
            elif index >= len(before):
                changes.append({"path": [*path, index], "op": "added", "after": after[index]})
            else:
                changes += json_diff(before[index], after[index], (*path, index))
        return changes
    if type(before) is type(after) and before == after:
        return []
    return [{"path": list(path), "op": "changed", "before": before, "after": after}]
