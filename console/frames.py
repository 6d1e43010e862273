"""Limits of the frames a client sends the bus consumers: one small subscribe message, so
anything larger or deeper is refused before it is parsed."""

from __future__ import annotations

MAX_FRAME_CHARS = 4096
MAX_FRAME_DEPTH = 8


def frame_depth_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON text nests arrays and objects more than ``limit`` deep (strings
    skipped), found without parsing it."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False
