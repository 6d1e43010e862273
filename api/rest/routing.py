"""Which stream and which operation a ``/api/v1/streams/<...>`` path names.

A stream id is any printable string, slashes included, so clients percent-encode it as ONE
path segment (``/`` as ``%2F``). WSGI and ASGI servers decode ``%2F`` before Django routes,
which makes ``streams/a/events`` ambiguous (the events of ``a``, or the stream ``a/events``).
So the route is read, in this order of preference:

1. from the raw, undecoded path when the server passes it (ASGI ``raw_path``: uvicorn,
   daphne; WSGI ``RAW_URI``/``REQUEST_URI``: gunicorn, uWSGI, werkzeug): there an encoded
   ``%2F`` is part of the id and only literal operation segments at the end (``/events``,
   ``/events/latest``, ``/state``, ``/snapshots``, ``/snapshots/latest``, ``/retention``)
   name an operation, so every id is unambiguous;
2. else from the decoded path, where a trailing ``/events``, ``/events/latest``, ``/state``,
   ``/snapshots``, ``/snapshots/latest`` or ``/retention`` always names the operation (ids
   ending in those need form 3 on such servers, e.g. runserver);
3. ``?stream_id=<id>`` with ``-`` in the path's id place (``streams/-/events?stream_id=a%2Fevents``)
   works everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import unquote, urlsplit

from django.http import HttpRequest
from django.urls import get_script_prefix, reverse

from streams.exceptions import ValidationError

Operation = Literal[
    "stream", "events", "latest", "state", "snapshots", "snapshot_latest", "retention"
]
# Path suffixes naming an operation, longest first: (segments, operation).
SUFFIXES: tuple[tuple[tuple[str, ...], Operation], ...] = (
    (("events", "latest"), "latest"),
    (("snapshots", "latest"), "snapshot_latest"),
    (("events",), "events"),
    (("state",), "state"),
    (("snapshots",), "snapshots"),
    (("retention",), "retention"),
)
ID_PARAMETER = "stream_id"
ID_PLACEHOLDER = "-"


@dataclass(frozen=True)
class StreamRoute:
    """The stream id and operation of a request; ``error`` when the path cannot name one."""

    operation: Operation
    stream_id: str
    error: ValidationError | None = None


class StreamIdConverter:
    """``<stream_id:...>`` in URL patterns: like ``path`` but also across control characters
    (``.`` stops at a newline), so a bad id is refused 400 by validation, not 404 by routing."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


@lru_cache(maxsize=16)
def _stream_list_path(script_prefix: str) -> str:
    # reverse() costs as much as the rest of the route; the result changes only with the
    # script prefix (SCRIPT_NAME), which is part of the key.
    return reverse("api:v1:stream-list")


def resolve_stream_route(request: HttpRequest) -> StreamRoute:
    """Return the stream route of a request under ``/api/v1/streams/``."""
    prefix = _stream_list_path(get_script_prefix())
    decoded_tail = request.path[len(prefix) :] if request.path.startswith(prefix) else ""
    raw_tail = _raw_tail(request, prefix, decoded_tail)
    invalid = _invalid_utf8_tail(request, prefix)
    if invalid is not None:
        # Decoded, %ff and %fe would both become U+FFFD: two names for one stream.
        operation, _ = _split(invalid.split("/"))
        error = ValidationError(
            "stream_id", "must be percent-encoded UTF-8 (the path holds an invalid byte)"
        )
        return StreamRoute(operation, ID_PLACEHOLDER, error)
    if raw_tail is not None:
        operation, id_segments = _split(raw_tail.split("/"))
        stream_id = unquote("/".join(id_segments), errors="strict")
    else:
        operation, id_segments = _split(decoded_tail.split("/"))
        stream_id = "/".join(id_segments)
    if ID_PARAMETER in request.GET:
        if stream_id != ID_PLACEHOLDER:
            error = ValidationError(
                ID_PARAMETER,
                f"give the stream id either in the path or as ?{ID_PARAMETER}=, with "
                f"{ID_PLACEHOLDER!r} in its place in the path",
            )
            return StreamRoute(operation, stream_id, error)
        stream_id = request.GET[ID_PARAMETER]
    return StreamRoute(operation, stream_id)


def _split(segments: list[str]) -> tuple[Operation, list[str]]:
    # A suffix names an operation only when an id segment is left before it.
    for suffix, operation in SUFFIXES:
        if len(segments) > len(suffix) and tuple(segments[-len(suffix) :]) == suffix:
            return operation, segments[: -len(suffix)]
    return "stream", segments


def raw_request_path(request: HttpRequest) -> str | None:
    """The path as the client sent it, still percent-encoded, when the server passes it."""
    scope = getattr(request, "scope", None)
    if scope is not None:
        raw = scope.get("raw_path")
        return raw.decode("latin-1") if raw else None
    for key in ("RAW_URI", "REQUEST_URI"):
        value = request.META.get(key)
        if value:
            # Absolute-form request targets (proxies) carry scheme and host too.
            return urlsplit(value).path if not value.startswith("/") else value.split("?")[0]
    return None


def _raw_tail(request: HttpRequest, prefix: str, decoded_tail: str) -> str | None:
    raw = raw_request_path(request)
    if raw is None or not raw.startswith(prefix):
        return None
    tail = raw[len(prefix) :]
    try:
        # Trust the raw path only when it decodes to exactly what Django routed on.
        return tail if unquote(tail, errors="strict") == decoded_tail else None
    except UnicodeDecodeError:
        return None


def _invalid_utf8_tail(request: HttpRequest, prefix: str) -> str | None:
    """The raw path's tail after ``prefix`` when its percent-escapes are not UTF-8."""
    raw = raw_request_path(request)
    if raw is None or not raw.startswith(prefix):
        return None
    tail = raw[len(prefix) :]
    try:
        unquote(tail, errors="strict")
    except UnicodeDecodeError:
        return tail
    return None
