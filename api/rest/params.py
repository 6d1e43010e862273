"""Query parameters and bodies of REST requests, read into what the store service takes;
the service validates the values themselves."""

from __future__ import annotations

import re
from typing import Any, overload

from rest_framework.request import Request

from streams.exceptions import ValidationError

_OFFSET_SPACE = re.compile(r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


@overload
def int_param(request: Request, name: str, default: int) -> int: ...
@overload
def int_param(request: Request, name: str, default: None = None) -> int | None: ...
def int_param(request: Request, name: str, default: int | None = None) -> int | None:
    """A whole-number query parameter (absent or empty: ``default``)."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise ValidationError(name, "must be a whole number")
    return int(value)


def time_param(request: Request, name: str) -> str | None:
    """An ISO 8601 query parameter. An unencoded ``+`` of a UTC offset arrives as a space
    (``?since=2024-01-01T00:00:00+02:00``), so it is read back as ``+``."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    return _OFFSET_SPACE.sub(r"\1+\2", value)


def text_param(request: Request, name: str) -> str | None:
    """A text query parameter; absent or empty is None."""
    value = request.query_params.get(name)
    return value if value else None


def line_cap(request: Request) -> int | None:
    """``limit`` of an NDJSON read: the most lines to send, None for all."""
    cap = int_param(request, "limit")
    if cap is not None and cap < 1:
        raise ValidationError("limit", "must be at least 1")
    return cap


def json_object(request: Request, fields: set[str], what: str) -> dict[str, Any]:
    """The request body, a JSON object with no other keys than ``fields``."""
    data = request.data
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for field in data:
        if field not in fields:
            raise ValidationError(field, f"is not a known field of {what}")
    return data


def bool_param(request: Request, name: str) -> bool:
    """A true/false query parameter (absent or empty: false)."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return False
    if value.lower() not in ("true", "false", "1", "0"):
        raise ValidationError(name, "must be true or false")
    return value.lower() in ("true", "1")
