"""The store service: the one API that REST, gRPC, consumers, the admin and commands call.

Every function validates its input (streams/validation.py), calls the configured backend and
raises only errors of streams/exceptions.py."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from streams.backends import get_event_store
from streams.backends.base import check_readable
from streams.backends.health import ping_redis
from streams.conf import flipbook_settings
from streams.exceptions import FlipbookError, NotFound, ValidationError
from streams.personal_data.protection import (
    ErasureResult,
    erase_subject,
    needs_protection,
    protect,
    reveal,
    reveal_commit,
    reveal_iter,
    reveal_one,
)
from streams.records import (
    AppendResult,
    CommitResult,
    CursorKey,
    ExpectedVersion,
    FeedPage,
    FeedQuery,
    NewEvent,
    Page,
    PreparedAppend,
    RecordedEvent,
    StreamAppend,
    StreamInfo,
    StreamKind,
    StreamQuery,
)
from streams.signals import events_committed
from streams.validation import (
    prepare_commit,
    prepare_stream_append,
    validate_category,
    validate_int,
    validate_limit,
    validate_name,
    validate_stream_id,
    validate_timestamp,
)

Direction = Literal["forwards", "backwards"]


def append_to_stream(
    stream_id: str,
    events: Sequence[NewEvent | dict[str, Any]],
    *,
    expected_version: ExpectedVersion = "any",
    category: str | None = None,
    kind: StreamKind | None = None,
) -> AppendResult:
    """Append events to one stream after checking ``expected_version`` (an integer N: the
    stream must be at N, 0 meaning new; "any"; "exists"), or the events' explicit versions.

    Returns the stored events (``duplicate`` set for an identical re-send). Raises
    ValidationError, TooLarge, VersionConflict, IdConflict or Unavailable."""
    prepared = prepare_stream_append(stream_id, events, expected_version, category, kind)
    return _commit((prepared,)).streams[0]


def appends_on_loop() -> bool:
    """Whether the store answers appends from an event loop (:func:`append_to_stream_async`
    may store them); when not, callers go to a thread straight away."""
    return get_event_store().async_appends


async def append_to_stream_async(
    stream_id: str,
    events: Sequence[NewEvent | dict[str, Any]],
    *,
    expected_version: ExpectedVersion = "any",
    category: str | None = None,
    kind: StreamKind | None = None,
    offload: Callable[[Callable[[], None]], object],
) -> AppendResult | None:
    """:func:`append_to_stream` from an event loop, for a server that keeps appends in flight
    without a thread each. Returns None, having stored nothing, when this append needs the
    synchronous path (a backend without an async path, personal fields to encrypt, an id
    that may be stored already): call :func:`append_to_stream` then, on a thread.

    ``offload`` runs a callable on a thread, not waited for: the receivers of
    ``events_committed`` that may block (snapshot policies) run there. Raises as
    :func:`append_to_stream`."""
    prepared = (prepare_stream_append(stream_id, events, expected_version, category, kind),)
    if needs_protection(prepared):
        return None
    result = await get_event_store().append_async(prepared)
    if result is None:
        return None
    if events_committed.receivers:
        pending = events_committed.announce_from_loop(commit, result, offload)
        for outcome in pending:
            # Waited for, as on a thread: the loop takes no more appends than the bus takes
            # publications, each bounded by the publish timeout (failures are logged by the
            # bus; the commit stands).
            with contextlib.suppress(Exception):
                await outcome
    return result.streams[0]


def commit(appends: Sequence[StreamAppend | dict[str, Any]]) -> CommitResult:
    """Append to several streams atomically: every stream's check passes and all events are
    stored, or nothing is. Raises as :func:`append_to_stream`."""
    return _commit(prepare_commit(appends))


def _commit(prepared: tuple[PreparedAppend, ...]) -> CommitResult:
    store = get_event_store()
    prepared = protect(prepared, store)
    result = store.append(prepared)
    if result.duplicate:
        return reveal_commit(result)  # the stored originals, as a read shows them
    if events_committed.receivers:
        store.on_durable(lambda: _announce(result))
    return result


def _announce(result: CommitResult) -> None:
    # A failing receiver is logged (logger django.dispatch), as by send_robust.
    events_committed.announce(commit, result)


def read_stream(
    stream_id: str,
    *,
    from_version: int | None = None,
    to_version: int | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    direction: Direction = "forwards",
    limit: int = 100,
    cursor: str | None = None,
) -> Page[RecordedEvent]:
    """Return a page of a stream's events: by version range (inclusive; by position on
    version-neutral streams), or by natural-time range ``since``..``until`` (inclusive,
    time-neutral events left out), forwards or backwards. A stream with no events reads
    empty. Raises ValidationError for bad arguments or a cursor from another query."""
    query = _stream_query(stream_id, from_version, to_version, since, until, direction, limit)
    if cursor is not None:
        query = _with_cursor(query, cursor)
    store = get_event_store()
    events = store.read(query)
    next_cursor = None
    if len(events) == query.limit:
        next_cursor = _encode_cursor(query, store.cursor_key(events[-1], query))
    return Page(reveal(events), next_cursor)


def iter_stream(
    stream_id: str,
    *,
    from_version: int | None = None,
    to_version: int | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    direction: Direction = "forwards",
    batch_size: int = 1000,
) -> Iterator[RecordedEvent]:
    """Yield all of a stream's events that the arguments select, in bounded memory (one batch
    of ``batch_size`` at a time). Raises ValidationError at once for bad arguments."""
    query = _stream_query(stream_id, from_version, to_version, since, until, direction, 1)
    batch_size = validate_limit(batch_size, "batch_size")
    return reveal_iter(get_event_store().iter_read(query, batch_size))


def latest_event(stream_id: str) -> RecordedEvent:
    """Return the last event of a stream. Raises NotFound when it has none."""
    stream_id = validate_stream_id(stream_id)
    event = get_event_store().latest(stream_id)
    if event is None:
        raise NotFound(f"stream {stream_id!r} has no events", stream_id=stream_id)
    return reveal_one(event)


def stream_head(stream_id: str) -> StreamInfo:
    """Return the head of a stream, its "version 0": kind, category, current version, event
    count, first and last recorded times, last position and metadata. Raises NotFound
    (also for a soft-deleted stream) or StreamDeleted."""
    stream_id = validate_stream_id(stream_id)
    info = get_event_store().head(stream_id)
    if info is None:
        raise NotFound(f"stream {stream_id!r} has no events", stream_id=stream_id)
    if info.deleted is not None:
        check_readable(stream_id, info.deleted)  # NotFound (soft) or StreamDeleted (hard)
    return info


stream_info = stream_head


def list_streams(
    *,
    prefix: str | None = None,
    category: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[StreamInfo]:
    """Return a page of stream heads ordered by id, filtered by id prefix and category."""
    if prefix is not None and prefix != "":
        prefix = validate_stream_id(prefix, "prefix")
    category = validate_category(category)
    limit = validate_limit(limit)
    after = None
    if cursor is not None:
        data = _decode_cursor(cursor)
        if data.get("o") != "s" or not isinstance(data.get("k"), str):
            raise ValidationError("cursor", "belongs to another kind of read")
        after = data["k"]
    streams = get_event_store().list_streams(
        prefix=prefix or None, category=category, after=after, limit=limit
    )
    next_cursor = None
    if len(streams) == limit:
        next_cursor = _b64({"o": "s", "k": streams[-1].stream_id})
    return Page(streams, next_cursor)


def read_all(
    *,
    after: int = 0,
    limit: int = 100,
    categories: Iterable[str] = (),
    names: Iterable[str] = (),
) -> FeedPage:
    """Return the all-feed: events with position > ``after`` in position order, optionally
    only of some categories and event names. Continue with ``next_after``; a reader that
    follows it sees every event exactly once, in position order."""
    after = validate_int(after, "after", minimum=0)
    limit = validate_limit(limit)
    query = FeedQuery(
        after=after,
        limit=limit,
        categories=tuple(
            _category_filter(c, f"categories[{i}]") for i, c in enumerate(_as_list(categories))
        ),
        names=tuple(validate_name(n, f"names[{i}]") for i, n in enumerate(_as_list(names))),
    )
    page = get_event_store().read_all(query)
    events = reveal(page.events)
    return page if events is page.events else FeedPage(events, page.next_after)


def iter_all(
    *, after: int = 0, categories: Iterable[str] = (), names: Iterable[str] = (), batch: int = 1000
) -> Iterator[RecordedEvent]:
    """Yield every event of the all-feed after ``after`` that exists now, in position order."""
    while True:
        page = read_all(after=after, limit=batch, categories=categories, names=names)
        yield from page.events
        if page.next_after == after or len(page.events) < batch:
            return
        after = page.next_after


def recent_streams(
    *,
    prefix: str | None = None,
    category: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[StreamInfo]:
    """Return a page of stream heads in last-update order (newest first: by the position of
    their last event), filtered by id prefix and category. Raises ValidationError for bad
    arguments or a cursor from another read."""
    if prefix is not None and prefix != "":
        prefix = validate_stream_id(prefix, "prefix")
    category = validate_category(category)
    limit = validate_limit(limit)
    before = None
    if cursor is not None:
        data = _decode_cursor(cursor)
        if data.get("o") != "u" or not _is_int(data.get("k")):
            raise ValidationError("cursor", "belongs to another kind of read")
        before = data["k"]
    streams = get_event_store().recent_streams(
        prefix=prefix or None, category=category, before=before, limit=limit
    )
    next_cursor = None
    if len(streams) == limit:
        next_cursor = _b64({"o": "u", "k": streams[-1].last_position})
    return Page(streams, next_cursor)


def stream_categories() -> list[str]:
    """Return the distinct categories of the stored streams, sorted."""
    return get_event_store().categories()


def store_totals() -> dict[str, int]:
    """Return the store's ``streams``, ``events`` and ``categories`` counts, its
    ``last_position`` (the highest position stored, 0 when empty) and ``approximate`` (True
    when a big store's stream and event counts are estimates, not counts)."""
    return get_event_store().totals()


def events_per_minute(
    since: datetime | str, until: datetime | str | None = None
) -> list[tuple[datetime, int]]:
    """Return ``[(minute, count), ...]``: events recorded in each UTC minute from the minute of
    ``since`` to the minute of ``until`` (default: now), oldest first, zeros included.
    Raises ValidationError for bad times or a window over 24 hours."""
    start = validate_timestamp(since, "since")
    end = validate_timestamp(until, "until") or datetime.now(UTC)
    if start is None:
        raise ValidationError("since", "is required")
    first = start.astimezone(UTC).replace(second=0, microsecond=0)
    last = end.astimezone(UTC).replace(second=0, microsecond=0)
    if last < first:
        raise ValidationError("until", "must not be before since")
    if last - first > timedelta(hours=24):
        raise ValidationError("since", "the window may span at most 24 hours")
    counts = get_event_store().events_per_minute(first)
    minutes = int((last - first).total_seconds() // 60) + 1
    return [
        (minute, counts.get(minute, 0))
        for minute in (first + timedelta(minutes=i) for i in range(minutes))
    ]


def erase_personal_data(subject: str, *, erased_by: str, via: str = "service") -> ErasureResult:
    """Erase a subject by crypto-shredding (streams/personal_data/protection.py): its data
    keys are destroyed, so its encrypted fields read as ``{"erased": true}`` everywhere; the
    snapshots of the streams holding them are dropped; an Erasure audit record is kept.
    Returns an ErasureResult. Raises ValidationError, NotFound (no key for the subject) or
    Unavailable."""
    return erase_subject(subject, erased_by=erased_by, via=via)


def check_ready() -> dict[str, str]:
    """Return each backend the store needs ("event_store", and "redis" when
    FLIPBOOK_REDIS_URL is set) mapped to "ok" or a short reason it is not reachable."""
    checks: dict[str, str] = {}
    try:
        get_event_store().ping()
        checks["event_store"] = "ok"
    except FlipbookError as exc:
        checks["event_store"] = exc.message
    redis_url = flipbook_settings.REDIS_URL
    if redis_url:
        checks["redis"] = ping_redis(redis_url)
    return checks


# -- helpers ----------------------------------------------------------------------------------


def _as_list(values: Iterable[str] | str) -> list[str]:
    if isinstance(values, str):
        return [values]
    return list(values)


def _category_filter(value: Any, field: str) -> str:
    # validate_category lets None through (a stream without category); as a filter it would
    # match nothing on the database backend and uncategorized streams on DynamoDB.
    category: str | None = validate_category(value, field)
    if category is None:
        raise ValidationError(field, "must be a non-empty string")
    return category


def _stream_query(
    stream_id: str,
    from_version: int | None,
    to_version: int | None,
    since: datetime | str | None,
    until: datetime | str | None,
    direction: Direction,
    limit: int,
) -> StreamQuery:
    stream_id = validate_stream_id(stream_id)
    if from_version is not None:
        from_version = validate_int(from_version, "from_version", minimum=1)
    if to_version is not None:
        to_version = validate_int(to_version, "to_version", minimum=1)
    if from_version is not None and to_version is not None and to_version < from_version:
        raise ValidationError("to_version", "must not be below from_version")
    start = validate_timestamp(since, "since")
    end = validate_timestamp(until, "until")
    if start is not None and end is not None and end < start:
        raise ValidationError("until", "must not be before since")
    if direction not in ("forwards", "backwards"):
        raise ValidationError("direction", "must be 'forwards' or 'backwards'")
    return StreamQuery(
        stream_id=stream_id,
        from_version=from_version,
        to_version=to_version,
        since=start,
        until=end,
        backwards=direction == "backwards",
        limit=validate_limit(limit),
    )


def _query_shape(query: StreamQuery) -> str:
    return ("t" if query.by_time else "v") + ("b" if query.backwards else "f")


def _stream_tag(stream_id: str) -> str:
    return hashlib.sha256(stream_id.encode()).hexdigest()[:12]


def _encode_cursor(query: StreamQuery, key: CursorKey) -> str:
    return _b64({"o": _query_shape(query), "s": _stream_tag(query.stream_id), "k": list(key)})


def _with_cursor(query: StreamQuery, cursor: str) -> StreamQuery:
    data = _decode_cursor(cursor)
    key = data.get("k")
    if data.get("o") != _query_shape(query) or not isinstance(key, list):
        raise ValidationError("cursor", "belongs to another read; pass the same query again")
    if data.get("s") != _stream_tag(query.stream_id):
        raise ValidationError("cursor", "belongs to another stream")
    if query.by_time:
        ok = len(key) == 2 and isinstance(key[0], str) and _is_int(key[1])
        if ok:
            try:
                datetime.fromisoformat(key[0])
            except ValueError:
                ok = False
    else:
        ok = len(key) == 1 and _is_int(key[0])
    if not ok:
        raise ValidationError("cursor", "is not a cursor this store issued")
    return StreamQuery(**{**_fields(query), "after": tuple(key)})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _fields(query: StreamQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in StreamQuery.__dataclass_fields__}


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: Any) -> dict[str, Any]:
    if not isinstance(cursor, str) or len(cursor) > 2048:
        raise ValidationError("cursor", "is not a cursor this store issued")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("cursor", "is not a cursor this store issued") from exc
    if not isinstance(data, dict):
        raise ValidationError("cursor", "is not a cursor this store issued")
    return data
