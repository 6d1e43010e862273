"""Validation of every store request, shared by all interfaces and backends.

Each refusal is a ValidationError (or TooLarge) naming the field that is wrong."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeGuard, overload

from django.utils.dateparse import parse_datetime

from streams.conf import flipbook_settings
from streams.exceptions import TooLarge, ValidationError
from streams.records import (
    NEUTRAL,
    VERSIONED,
    ExpectedVersion,
    NewEvent,
    PreparedAppend,
    PreparedEvent,
    StreamAppend,
)
from streams.speedups import compact_json_encoder

MAX_STREAM_ID = 256
MAX_NAME = 128
MAX_CATEGORY = 128
MAX_VERSION = 2**62  # well inside a signed 64-bit column, with room for arithmetic
# json.dumps writes U+0000 as the escape \u0000 (never raw); an escaped backslash before
# "u0000" is not one, hence the count of backslashes.
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def current_limits() -> dict[str, int]:
    """FLIPBOOK_LIMITS merged over its defaults (streams/conf.py)."""
    return flipbook_settings.LIMITS


def limit(name: str) -> int:
    """One of FLIPBOOK_LIMITS."""
    return flipbook_settings.LIMITS[name]


# Cc (C0, DEL, C1) plus the line/paragraph separators, which break logs and URLs alike.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def _plain(value: Any, longest: int) -> TypeGuard[str]:
    """Whether ``value`` is 1..``longest`` printable ASCII characters: valid as a stream id,
    name or category with no further check (isascii and isprintable are C loops, cheaper
    than the control-character search and the UTF-8 check they stand for)."""
    return (
        type(value) is str and 0 < len(value) <= longest and value.isascii() and value.isprintable()
    )


def validate_stream_id(value: Any, field: str = "stream_id") -> str:
    """Return a valid state id: printable UTF-8, 1–256 characters, no control characters."""
    if _plain(value, MAX_STREAM_ID):
        return value
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if not value:
        raise ValidationError(field, "must not be empty")
    if len(value) > MAX_STREAM_ID:
        raise ValidationError(field, f"must be at most {MAX_STREAM_ID} characters")
    if _has_control(value):
        raise ValidationError(field, "must not contain control characters")
    _check_utf8(value, field)
    return value


def validate_name(value: Any, field: str) -> str:
    if _plain(value, MAX_NAME):
        return value
    if not isinstance(value, str) or not value:
        raise ValidationError(field, "must be a non-empty string")
    if len(value) > MAX_NAME:
        raise ValidationError(field, f"must be at most {MAX_NAME} characters")
    if _has_control(value):
        raise ValidationError(field, "must not contain control characters")
    _check_utf8(value, field)
    return value


@overload
def validate_category(value: str, field: str = "category") -> str: ...
@overload
def validate_category(value: Any, field: str = "category") -> str | None: ...
def validate_category(value: Any, field: str = "category") -> str | None:
    if value is None or _plain(value, MAX_CATEGORY):
        return value
    if not isinstance(value, str) or not value:
        raise ValidationError(field, "must be a non-empty string or null")
    if len(value) > MAX_CATEGORY:
        raise ValidationError(field, f"must be at most {MAX_CATEGORY} characters")
    if _has_control(value):
        raise ValidationError(field, "must not contain control characters")
    _check_utf8(value, field)
    return value


def _check_utf8(value: str, field: str) -> None:
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(field, "must be valid UTF-8") from exc


def validate_int(value: Any, field: str, *, minimum: int, maximum: int = MAX_VERSION) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer")
    if not minimum <= value <= maximum:
        raise ValidationError(field, f"must be between {minimum} and {maximum}")
    return value


@overload
def validate_timestamp(value: None, field: str) -> None: ...
@overload
def validate_timestamp(value: datetime | str, field: str) -> datetime: ...
@overload
def validate_timestamp(value: object, field: str) -> datetime | None: ...
def validate_timestamp(value: object, field: str) -> datetime | None:
    """Return an aware UTC datetime, or None for a time-neutral event."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(field, "must be an ISO 8601 date-time or null")
        value = parsed
    if not isinstance(value, datetime):
        raise ValidationError(field, "must be an ISO 8601 date-time or null")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationError(field, "is out of range") from exc


#: Compact JSON text of a value (payloads, metadata, states), without json.dumps's cost of a
#: new encoder per call; encode_json adds the checks that input needs.
compact_json: Callable[[Any], str] = compact_json_encoder()


def encode_json(value: Any, field: str, max_bytes: int) -> str:
    """Encode a JSON value compactly; refuse NaN/Infinity, non-JSON types and oversize values."""
    try:
        text = compact_json(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, f"must be a JSON value ({exc})") from exc
    except RecursionError as exc:
        raise ValidationError(field, "is nested too deeply") from exc
    # isascii() is O(1) in CPython: the common case needs no encoding to be measured.
    ascii_only = text.isascii()
    size = len(text) if ascii_only else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise TooLarge(field, size, max_bytes)
    if not ascii_only:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(field, "must be valid UTF-8 text (no lone surrogates)") from exc
    if "\\u0000" in text and _JSON_NUL.search(text):
        # PostgreSQL jsonb cannot hold U+0000; refuse it everywhere so backends agree.
        raise ValidationError(field, "must not contain the NUL character (\\u0000)")
    return text


# New event ids come from a pool: 256 ids' worth of random bytes per getrandom call. os.urandom
# gives up the GIL for its system call, and a thread that gives it up queues behind the others
# to get it back: one call per event made the 8-thread appends (and gRPC's workers) wait on it.
# The pool holds the ids' integers with the version 4 and variant bits already set, since
# UUID(int=...) costs about half of what UUID(bytes=..., version=4) does.
_ID_BATCH = 256
_ID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_ID_SET = (4 << 76) | (0x8000 << 48)
_id_ints: Iterator[int] = iter(())


def _forget_ids() -> None:
    """Drop the pooled ids in a forked child: it would hand out its parent's."""
    global _id_ints
    _id_ints = iter(())


os.register_at_fork(after_in_child=_forget_ids)


def new_event_id() -> uuid.UUID:
    """A random (version 4) UUID, as uuid.uuid4() makes, from the pool."""
    global _id_ints
    try:
        value = next(_id_ints)  # a list iterator's next() is atomic under the GIL
    except StopIteration:
        raw = os.urandom(16 * _ID_BATCH)
        ints = iter(
            [int.from_bytes(raw[i : i + 16]) & _ID_CLEAR | _ID_SET for i in range(0, len(raw), 16)]
        )
        value = next(ints)
        _id_ints = ints  # racing refills each use their own fresh bytes
    return uuid.UUID(int=value)


def validate_event_id(value: Any, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValidationError(field, "must be a UUID")


def coerce_new_event(value: Any, field: str) -> NewEvent:
    """Accept a NewEvent or a mapping with the same keys (as JSON clients send)."""
    if isinstance(value, NewEvent):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"name", "payload", "metadata", "timestamp", "id", "version"}
        if unknown:
            raise ValidationError(f"{field}.{sorted(unknown)[0]}", "is not a known event field")
        if "name" not in value:
            raise ValidationError(f"{field}.name", "is required")
        return NewEvent(
            name=value["name"],
            payload=value.get("payload"),
            metadata=value.get("metadata"),
            timestamp=value.get("timestamp"),
            id=value.get("id"),
            version=value.get("version"),
        )
    raise ValidationError(field, "must be an event object with at least a name")


def prepare_event(event: Any, field: str, limits: Mapping[str, int] | None = None) -> PreparedEvent:
    """Validate one event (``field`` names it in errors; ``limits`` is FLIPBOOK_LIMITS)."""
    if limits is None:
        limits = current_limits()
    if type(event) is not NewEvent:
        event = coerce_new_event(event, field)
    name = validate_name(event.name, f"{field}.name")
    payload_json = encode_json(event.payload, f"{field}.payload", limits["MAX_PAYLOAD_BYTES"])
    metadata = event.metadata
    if not metadata and (metadata is None or type(metadata) is dict):
        metadata, metadata_json = {}, "{}"
    else:
        if type(metadata) is not dict and not isinstance(metadata, Mapping):
            raise ValidationError(f"{field}.metadata", "must be a JSON object")
        metadata = dict(metadata)
        metadata_json = encode_json(metadata, f"{field}.metadata", limits["MAX_METADATA_BYTES"])
    timestamp = event.timestamp
    if timestamp is not None and not (
        type(timestamp) is datetime and timestamp.tzinfo is UTC
    ):  # an aware UTC datetime is taken as it is; anything else is checked and converted
        timestamp = validate_timestamp(timestamp, f"{field}.timestamp")
    version = event.version
    if version is not None:
        version = validate_int(version, f"{field}.version", minimum=1)
    event_id = event.id
    id_given = event_id is not None
    event_id = validate_event_id(event_id, f"{field}.id") if id_given else new_event_id()
    # Positional, in field order: keywords make a NamedTuple twice as dear to build.
    return PreparedEvent(
        event_id,
        name,
        payload_json,
        metadata_json,
        event.payload,
        metadata,
        timestamp,
        version,
        id_given,
    )


def validate_expected_version(value: Any, field: str) -> ExpectedVersion:
    if type(value) is int and 0 <= value <= MAX_VERSION:
        return value
    if value is None or value == "any":
        return "any"
    if value == "exists":
        return "exists"
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return validate_int(value, field, minimum=0)
    raise ValidationError(field, "must be an integer >= 0, 'any' or 'exists'")


def coerce_stream_append(value: Any, field: str) -> StreamAppend:
    if isinstance(value, StreamAppend):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"stream_id", "events", "expected_version", "category", "kind"}
        if unknown:
            raise ValidationError(f"{field}.{sorted(unknown)[0]}", "is not a known field")
        if "stream_id" not in value:
            raise ValidationError(f"{field}.stream_id", "is required")
        return StreamAppend(
            stream_id=value["stream_id"],
            events=value.get("events", ()),
            expected_version=value.get("expected_version", "any"),
            category=value.get("category"),
            kind=value.get("kind"),
        )
    raise ValidationError(field, "must be an object with stream_id and events")


def prepare_append(append: Any, field: str = "") -> PreparedAppend:
    """Validate one stream's part of a commit; explicit versions must be consecutive."""
    append = coerce_stream_append(append, field or "append")
    return prepare_stream_append(
        append.stream_id,
        append.events,
        append.expected_version,
        append.category,
        append.kind,
        f"{field}." if field else "",
    )


def prepare_stream_append(
    stream_id: Any,
    raw_events: Any,
    expected_version: Any,
    category: Any,
    kind: Any,
    prefix: str = "",
) -> PreparedAppend:
    """:func:`prepare_append` of a StreamAppend's fields (``prefix`` starts each field name
    in errors), for callers that have them apart: no StreamAppend to build first."""
    stream_id = validate_stream_id(stream_id, f"{prefix}stream_id")
    category = validate_category(category, f"{prefix}category")
    if kind not in (None, VERSIONED, NEUTRAL):
        raise ValidationError(f"{prefix}kind", "must be 'versioned' or 'neutral'")
    expected = validate_expected_version(expected_version, f"{prefix}expected_version")
    if type(raw_events) is not list:
        if isinstance(raw_events, (str, bytes, Mapping)) or not isinstance(raw_events, Iterable):
            raise ValidationError(f"{prefix}events", "must be a list of events")
        raw_events = list(raw_events)
    if not raw_events:
        raise ValidationError(f"{prefix}events", "must hold at least one event")
    limits = current_limits()
    max_events = limits["MAX_EVENTS_PER_COMMIT"]
    if len(raw_events) > max_events:
        raise ValidationError(
            f"{prefix}events", f"holds {len(raw_events)} events; the limit is {max_events}"
        )
    events = tuple(
        [prepare_event(e, f"{prefix}events[{i}]", limits) for i, e in enumerate(raw_events)]
    )
    if len(events) > 1:
        seen: set[uuid.UUID] = set()
        for i, e in enumerate(events):
            if e.id in seen:
                raise ValidationError(f"{prefix}events[{i}].id", "is repeated within the commit")
            seen.add(e.id)

    explicit = [e.version is not None for e in events]
    if any(explicit):
        if not all(explicit):
            raise ValidationError(
                f"{prefix}events",
                "mixes events with and without explicit versions; give all or none",
            )
        if kind == NEUTRAL:
            raise ValidationError(
                f"{prefix}events[0].version", "a version-neutral stream takes no versions"
            )
        first = events[0].version
        assert first is not None  # every event has one, checked above
        for i, e in enumerate(events):
            if e.version != first + i:
                raise ValidationError(
                    f"{prefix}events[{i}].version",
                    f"must be {first + i}: explicit versions continue without gaps",
                )
        implied = first - 1
        if expected not in ("any", implied):
            raise ValidationError(
                f"{prefix}expected_version",
                f"is {expected} but the events start at version {first} (implying {implied})",
            )
        expected = implied
        kind = kind or VERSIONED
    if kind == NEUTRAL and isinstance(expected, int):
        raise ValidationError(
            f"{prefix}expected_version",
            "a version-neutral stream takes no version check: use 'any' or 'exists'",
        )
    return PreparedAppend(stream_id, events, expected, category, kind)


def prepare_commit(appends: Any) -> tuple[PreparedAppend, ...]:
    """Validate a commit to one or more streams; each stream appears at most once."""
    if isinstance(appends, (str, bytes, Mapping)) or not isinstance(appends, Sequence):
        raise ValidationError("streams", "must be a list of stream appends")
    if not appends:
        raise ValidationError("streams", "must hold at least one stream append")
    max_streams = limit("MAX_STREAMS_PER_COMMIT")
    if len(appends) > max_streams:
        raise ValidationError(
            "streams", f"holds {len(appends)} streams; the limit is {max_streams}"
        )
    prepared = tuple(prepare_append(a, f"streams[{i}]") for i, a in enumerate(appends))
    seen_streams: set[str] = set()
    seen_ids: set[uuid.UUID] = set()
    total = 0
    for i, a in enumerate(prepared):
        if a.stream_id in seen_streams:
            raise ValidationError(
                f"streams[{i}].stream_id", "appears twice in the commit; merge its events"
            )
        seen_streams.add(a.stream_id)
        for j, e in enumerate(a.events):
            if e.id in seen_ids:
                raise ValidationError(f"streams[{i}].events[{j}].id", "is repeated in the commit")
            seen_ids.add(e.id)
        total += len(a.events)
    max_events = limit("MAX_EVENTS_PER_COMMIT")
    if total > max_events:
        raise ValidationError("streams", f"hold {total} events; the limit is {max_events}")
    return prepared


def validate_limit(value: Any, field: str = "limit") -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return validate_int(value, field, minimum=1, maximum=limit("MAX_READ_LIMIT"))
