"""Constants of the Redis event store's key layout, and the conversions between its replies
and Flipbook's records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

from streams.records import (
    NEUTRAL,
    AppendResult,
    CommitResult,
    PreparedAppend,
    RecordedEvent,
    StreamInfo,
    StreamKind,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GLOBAL_KEYS = ("meta", "feed", "ids", "streams", "recent", "cats", "epm")
PERSISTENCE_MODES = ("aof", "managed", "none")
FEED_SCAN_BUDGET = 20_000  # feed entries one filtered all-feed read may pass over (one script)
MAX_ATTEMPTS = 3

# KEYS: meta feed ids streams recent cats epm, then per stream: events, head, times, category
# set (of the category the append names). ARGV: the number of streams, then per stream:
# expected version ('any', 'exists' or digits), kind ('' or one), category ('' or one), the
# number of events, the stream id, then per event: id (16 bytes), name, payload, metadata,
# natural time ('' for none). Returns {'ok', recorded µs, per stream: kind, category,
# version after, first position}, {'refused', stream index, kind, category, version} or
# {'claimed', event number}: checks first, then writes, so a refusal writes nothing.


def split_cluster_flag(url: str) -> tuple[str, bool]:
    """Take a ``cluster=true`` query parameter out of a Redis URL (redis-py would pass it on
    to the client as an unknown keyword)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [v for k, v in query if k == "cluster"]
    rest = [(k, v) for k, v in query if k != "cluster"]
    cluster = any(v.strip().lower() in {"1", "true", "yes", "on"} for v in flags)
    return urlunsplit(parts._replace(query=urlencode(rest))), cluster


def time_text(value: datetime) -> str:
    """UTC, fixed width, microseconds: text order is time order (years 1 to 9999)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def time_key(value: datetime, ordinal: int) -> str:
    return f"{time_text(value)}#{ordinal:020d}"


def recorded_time(micros: bytes | int) -> datetime:
    return EPOCH + timedelta(microseconds=int(micros))


def event_of(stream_id: str, values: Sequence[bytes]) -> RecordedEvent:
    """An event from its entry's values in field order: v x i n p m t r."""
    version, position, event_id, name, payload, metadata, timestamp, recorded = values
    return RecordedEvent(
        stream_id,
        int(version) if version else None,
        datetime.fromisoformat(timestamp.decode()).replace(tzinfo=UTC) if timestamp else None,
        name.decode(),
        json.loads(payload),
        {} if metadata == b"{}" else json.loads(metadata),
        UUID(bytes=event_id),
        int(position),
        recorded_time(recorded),
    )


def stream_of(stream_id: str, fields: dict[bytes, bytes]) -> StreamInfo:
    kind: StreamKind = "neutral" if fields[b"kind"] == b"neutral" else "versioned"
    category = fields.get(b"category")
    deleted = fields.get(b"del")
    return StreamInfo(
        stream_id=stream_id,
        kind=kind,
        category=category.decode() if category is not None else None,
        version=None if kind == NEUTRAL else int(fields[b"version"]),
        event_count=int(fields[b"count"]),
        first_recorded_at=recorded_time(fields[b"created"]),
        last_recorded_at=recorded_time(fields[b"updated"]),
        last_position=int(fields[b"last"]),
        metadata={},
        deleted="hard" if deleted == b"hard" else "soft" if deleted == b"soft" else None,
        truncate_before=int(fields.get(b"tb", 0)),
    )


def commit_result(appends: Sequence[PreparedAppend], reply: list[Any]) -> CommitResult:
    recorded_at = recorded_time(reply[1])
    results = []
    for index, a in enumerate(appends):
        kind, category, version, first = reply[2 + 4 * index : 6 + 4 * index]
        neutral = kind == b"neutral"
        version = int(version)
        base = version - len(a.events)
        events = tuple(
            e.recorded(a.stream_id, None if neutral else base + i + 1, first + i, recorded_at)
            for i, e in enumerate(a.events)
        )
        results.append(
            AppendResult(
                a.stream_id,
                None if neutral else version,
                events,
                category=category.decode() or None,
            )
        )
    return CommitResult(tuple(results))
