"""Validation of what callers send the subscription service: names, filters, push targets,
start positions, limits and waits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.utils.dateparse import parse_datetime

from streams.conf import flipbook_settings
from streams.exceptions import ValidationError
from streams.validation import validate_category, validate_int, validate_name, validate_stream_id
from subscriptions.conf import MAX_FILTER_NAMES, MAX_WAIT_SECONDS, NAME_PATTERN, TARGET_PATTERN
from subscriptions.feed import feed_head, is_visible, position_before
from subscriptions.outbound import checked_addresses
from subscriptions.records import SubscriptionFilter


def validate_subscription_name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ValidationError(
            field, "must be 1-100 characters of letters, digits, '-', '_' and '.'"
        )
    return value


def validate_filter(value: Any, field: str = "filter") -> SubscriptionFilter:
    if value is None:
        return SubscriptionFilter()
    if isinstance(value, SubscriptionFilter):
        value = value.as_dict()
    if not isinstance(value, dict):
        raise ValidationError(field, "must be an object with category, stream_id and names")
    unknown = set(value) - {"category", "stream_id", "names"}
    if unknown:
        raise ValidationError(
            field, f"unknown key(s) {', '.join(sorted(unknown))}; use category, stream_id, names"
        )
    category = value.get("category") or None
    stream_id = value.get("stream_id") or None
    if category is not None:
        category = validate_category(category, f"{field}.category")
    if stream_id is not None:
        stream_id = validate_stream_id(stream_id, f"{field}.stream_id")
    if category is not None and stream_id is not None:
        raise ValidationError(field, "give category or stream_id, not both")
    names = value.get("names") or []
    if not isinstance(names, list | tuple):
        raise ValidationError(f"{field}.names", "must be a list of event names")
    if len(names) > MAX_FILTER_NAMES:
        raise ValidationError(f"{field}.names", f"at most {MAX_FILTER_NAMES} names")
    names = tuple(
        dict.fromkeys(validate_name(n, f"{field}.names[{i}]") for i, n in enumerate(names))
    )
    return SubscriptionFilter(category, stream_id, names)


def validate_push(value: Any, field: str = "push") -> dict[str, str] | None:
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise ValidationError(
            field,
            'must be {"kind": "webhook", "url": ...} or {"kind": "grpc", "target": "host:port"}',
        )
    kind = value.get("kind")
    if kind == "webhook":
        if set(value) - {"kind", "url"}:
            raise ValidationError(field, "a webhook takes only kind and url")
        url = value.get("url")
        host, port = webhook_host(url, f"{field}.url")
        checked_addresses(host, port, f"{field}.url")
        return {"kind": "webhook", "url": str(url)}
    if kind == "grpc":
        if set(value) - {"kind", "target"}:
            raise ValidationError(field, "a gRPC endpoint takes only kind and target")
        target = value.get("target")
        host, port = grpc_host(target, f"{field}.target")
        checked_addresses(host, port, f"{field}.target")
        return {"kind": "grpc", "target": str(target)}
    raise ValidationError(f"{field}.kind", "must be 'webhook' or 'grpc'")


def webhook_host(url: Any, field: str = "push.url") -> tuple[str, int]:
    """The host and port of a webhook URL. Raises ValidationError unless it is an http(s)
    URL without credentials."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
    except ValueError:  # urlsplit refuses some malformed URLs, such as "http://["
        parts = None
    if parts is None or len(url) > 1000 or parts.scheme not in ("http", "https"):
        raise ValidationError(field, "must be an http:// or https:// URL")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise ValidationError(field, "must not contain spaces or control characters")
    if "@" in parts.netloc:
        # Readers of the subscription would see them, and so would every log line.
        raise ValidationError(
            field,
            "must not carry credentials (user:password@); authenticate the webhook "
            "with a secret path or a token your endpoint checks",
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError(field, "has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValidationError(field, "must name a host")
    return parts.hostname, port


def grpc_host(target: Any, field: str = "push.target") -> tuple[str, int]:
    """The host and port of a gRPC push target ``host:port`` (``[v6]:port`` for IPv6).
    Raises ValidationError."""
    if not isinstance(target, str) or not TARGET_PATTERN.fullmatch(target):
        raise ValidationError(field, "must be host:port of an EventHandler")
    host, _, port_text = target.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValidationError(field, "write an IPv6 address in brackets: [addr]:port")
    port = int(port_text)
    if not host or not 1 <= port <= 65535:
        raise ValidationError(field, "must be host:port with a port from 1 to 65535")
    return host, port


def validate_start_position(value: Any, field: str, *, allow_time: bool = False) -> int:
    if allow_time and isinstance(value, dict) and set(value) == {"at"}:
        return position_before(_validate_time(value["at"], f"{field}.at"))
    if value is None or value == "beginning":
        return 0
    if value == "end":
        return feed_head()
    if isinstance(value, dict) and set(value) == {"after"}:
        position = validate_int(value["after"], f"{field}.after", minimum=0)
        if position and not is_visible(position):
            raise ValidationError(f"{field}.after", "is beyond the head of the feed")
        return position
    if allow_time:
        raise ValidationError(
            field, 'must be "beginning", "end", {"after": <position>} or {"at": "<ISO time>"}'
        )
    raise ValidationError(field, 'must be "beginning", "end" or {"after": <position>}')


def _validate_time(value: Any, field: str) -> datetime:
    moment = parse_datetime(value) if isinstance(value, str) and len(value) <= 64 else None
    if moment is None:
        raise ValidationError(field, "must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # times without an offset are UTC
    return moment


def validate_position(value: Any, field: str = "position") -> int:
    return validate_int(value, field, minimum=1)


def validate_limit(value: Any, field: str = "limit", default: int = 100) -> int:
    if value is None:
        return default
    return validate_int(value, field, minimum=1, maximum=flipbook_settings.LIMITS["MAX_READ_LIMIT"])


def validate_wait(value: Any) -> float:
    """Seconds a long-poll may wait: a number from 0 to 30. Raises ValidationError."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValidationError("wait", "must be a number of seconds")
    if not 0 <= value <= MAX_WAIT_SECONDS:
        raise ValidationError("wait", f"must be between 0 and {MAX_WAIT_SECONDS:g} seconds")
    return float(value)
