"""BaseEventStore: the whole contract every event store backend keeps."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from streams.exceptions import (
    IdConflict,
    NotFound,
    StreamDeleted,
    ValidationError,
    VersionConflict,
)
from streams.records import (
    NEUTRAL,
    VERSIONED,
    AppendResult,
    CommitResult,
    CursorKey,
    ExpectedVersion,
    FeedPage,
    FeedQuery,
    PreparedAppend,
    PreparedEvent,
    RecordedEvent,
    StreamInfo,
    StreamQuery,
)

if TYPE_CHECKING:
    from streams.records import ImportedEvent, ImportedStream

# A default import's commit: few enough events and streams for every backend's one
# transaction (DynamoDB: 2 items per event, 1 per stream, 2 per commit, at most 100).
IMPORT_COMMIT_EVENTS = 32
IMPORT_COMMIT_STREAMS = 16
IMPORT_COMMIT_BYTES = 2_000_000  # DynamoDB refuses a transaction over 4 MB


class BaseEventStore:
    """Stores and reads events. Backends implement the methods that raise NotImplementedError;
    the others are derived here once and overridden only to go faster.

    Every method takes validated values (streams/validation.py) and raises only errors of
    streams/exceptions.py: a backend translates its driver's errors at this boundary."""

    def __init__(self, **options: object) -> None:
        self.options = options

    # -- required ---------------------------------------------------------------------------

    def append(self, appends: Sequence[PreparedAppend]) -> CommitResult:
        """Store the events of one or more streams atomically, after each stream's check.

        Returns what was stored, in request order, or the stored result of an identical
        earlier commit flagged ``duplicate``. Raises VersionConflict (naming the current
        version), IdConflict, ValidationError (kind or category disagreeing with the stream)
        or Unavailable; on any error nothing of the commit is stored."""
        raise NotImplementedError("subclasses of BaseEventStore must provide an append() method")

    def read(self, query: StreamQuery) -> list[RecordedEvent]:
        """Return up to ``query.limit`` events of one stream in the query's order, starting
        after ``query.after`` (a key from :meth:`cursor_key`). A missing stream reads empty."""
        raise NotImplementedError("subclasses of BaseEventStore must provide a read() method")

    def head(self, stream_id: str) -> StreamInfo | None:
        """Return the head of a stream (version 0: kind, category, version, counts, metadata),
        or None when the stream has no events."""
        raise NotImplementedError("subclasses of BaseEventStore must provide a head() method")

    def list_streams(
        self, *, prefix: str | None, category: str | None, after: str | None, limit: int
    ) -> list[StreamInfo]:
        """Return up to ``limit`` stream heads ordered by stream id, ids starting with
        ``prefix``, in ``category``, after the stream id ``after``."""
        raise NotImplementedError(
            "subclasses of BaseEventStore must provide a list_streams() method"
        )

    def read_all(self, query: FeedQuery) -> FeedPage:
        """Return events with position > ``query.after`` in position order, filtered by
        category and name, and the position to continue after. A position returned here is
        final: no event may later become visible at a position at or below ``next_after``."""
        raise NotImplementedError("subclasses of BaseEventStore must provide a read_all() method")

    def find_events(self, ids: Sequence[UUID]) -> dict[UUID, RecordedEvent]:
        """Return the stored events among ``ids`` (for idempotent re-sends)."""
        raise NotImplementedError(
            "subclasses of BaseEventStore must provide a find_events() method"
        )

    # -- lifecycle (docs/concepts/lifecycle.md) ----------------------------------------------
    # A stream's head keeps ``deleted`` and ``truncate_before`` (the first ordinal that
    # remains: a version, a position on version-neutral streams). Reads leave out what is
    # below it and answer NotFound (soft) or StreamDeleted (hard); appends to a hard-deleted
    # stream answer StreamDeleted; scavenge() removes what reads no longer show.

    def delete_stream(self, stream_id: str, *, hard: bool) -> StreamInfo:
        """Delete a stream: soft (reads answer NotFound until an append starts it again,
        versions continuing after the old last one) or hard (a tombstone). Atomic with
        racing appends: each lands wholly before the delete or after it. Returns the head
        as it was before. Raises NotFound (missing, or already soft-deleted when ``hard``
        is False) or StreamDeleted (already hard-deleted)."""
        raise NotImplementedError(
            "subclasses of BaseEventStore must provide a delete_stream() method"
        )

    def truncate_stream(self, stream_id: str, before: int) -> StreamInfo:
        """Hide the events of a stream below the ordinal ``before`` (a version; a position
        on version-neutral streams); truncation never moves back. Returns the new head.
        Raises NotFound, StreamDeleted or ValidationError (``before`` past the next ordinal)."""
        raise NotImplementedError(
            "subclasses of BaseEventStore must provide a truncate_stream() method"
        )

    def scavenge_stream(self, stream_id: str, limit: int) -> int:
        """Remove for good up to ``limit`` events of a stream that reads no longer show
        (below its truncation point, or all of a hard-deleted stream), in one short write.
        Returns how many were removed (0: nothing left to remove)."""
        raise NotImplementedError(
            "subclasses of BaseEventStore must provide a scavenge_stream() method"
        )

    def scavenge_candidates(self, *, after: str | None, limit: int) -> list[str]:
        """Return up to ``limit`` ids (after ``after``, in id order) of the streams that were
        deleted or truncated, whose events scavenge_stream() may remove."""
        raise NotImplementedError(
            "subclasses of BaseEventStore must provide a scavenge_candidates() method"
        )

    def find_event_streams(self, ids: Sequence[UUID]) -> dict[UUID, str]:
        """Return the stream of each stored event among ``ids``, without reading the events.
        Backends override this with a lookup that touches no payload; this default reads
        the events."""
        return {i: e.stream_id for i, e in self.find_events(ids).items()}

    # -- derived ----------------------------------------------------------------------------

    def latest(self, stream_id: str) -> RecordedEvent | None:
        """Return the last event of a stream, or None when it has none."""
        events = self.read(StreamQuery(stream_id=stream_id, backwards=True, limit=1))
        return events[0] if events else None

    def iter_read(self, query: StreamQuery, batch_size: int = 1000) -> Iterator[RecordedEvent]:
        """Yield every event the query selects, fetching ``batch_size`` at a time (bounded
        memory); ``query.limit`` is ignored."""
        after = query.after
        while True:
            batch = self.read(replace(query, limit=batch_size, after=after))
            yield from batch
            if len(batch) < batch_size:
                return
            after = self.cursor_key(batch[-1], query)

    def cursor_key(self, event: RecordedEvent, query: StreamQuery) -> CursorKey:
        """The keyset key of ``event`` in the order of ``query``: natural time then ordinal
        when reading by time, else the version (the position on version-neutral streams)."""
        ordinal = event.version if event.version is not None else event.position
        if query.by_time:
            # A read by time selects only events that have a natural time.
            assert event.timestamp is not None
            return (event.timestamp.isoformat(), ordinal)
        return (ordinal,)

    # The console's reads (dashboard, explorer). These defaults walk every stream head through
    # list_streams, so their cost grows with the number of streams: right for a small store
    # or a backend without a better index; the database backend overrides them with SQL.

    def iter_heads(
        self, *, prefix: str | None = None, category: str | None = None, batch: int = 500
    ) -> Iterator[StreamInfo]:
        """Yield every stream head (filtered by id prefix and category) in stream id order."""
        after: str | None = None
        while True:
            heads = self.list_streams(prefix=prefix, category=category, after=after, limit=batch)
            yield from heads
            if len(heads) < batch:
                return
            after = heads[-1].stream_id

    def recent_streams(
        self, *, prefix: str | None, category: str | None, before: int | None, limit: int
    ) -> list[StreamInfo]:
        """Return up to ``limit`` stream heads in last-update order, newest first: by the
        position of their last event, below ``before`` (a last position; None: from the top)."""
        heads = [
            h
            for h in self.iter_heads(prefix=prefix, category=category)
            if before is None or h.last_position < before
        ]
        heads.sort(key=lambda h: h.last_position, reverse=True)
        return heads[:limit]

    def categories(self) -> list[str]:
        """Return the distinct categories of the stored streams, sorted."""
        return sorted({h.category for h in self.iter_heads() if h.category is not None})

    def totals(self) -> dict[str, int]:
        """Return ``streams``, ``events`` and ``categories`` (distinct, among streams) counts,
        ``last_position`` (the highest position stored, 0 on an empty store) and
        ``approximate`` (True when the stream and event counts are estimates)."""
        streams = events = last = 0
        categories: set[str] = set()
        for head in self.iter_heads():
            streams += 1
            events += head.event_count
            last = max(last, head.last_position)
            if head.category is not None:
                categories.add(head.category)
        return {
            "streams": streams,
            "events": events,
            "categories": len(categories),
            "last_position": last,
            "approximate": False,
        }

    def events_per_minute(self, since: datetime) -> dict[datetime, int]:
        """Return the number of events recorded in each UTC minute from ``since`` on, keyed by
        the minute's start; minutes without events are left out."""
        counts: dict[datetime, int] = {}
        for head in self.iter_heads():
            if head.last_recorded_at < since:
                continue
            query = StreamQuery(stream_id=head.stream_id, backwards=True, limit=1)
            for event in self.iter_read(query, batch_size=200):
                if event.recorded_at < since:
                    break
                minute = event.recorded_at.astimezone(UTC).replace(second=0, microsecond=0)
                counts[minute] = counts.get(minute, 0) + 1
        return counts

    # What import_events keeps of its source besides ids, versions, natural times and order:
    # "positions" and "recorded_at" where a backend's override can write them.
    import_keeps: frozenset[str] = frozenset()

    def import_events(
        self,
        streams: Mapping[str, ImportedStream],
        events: Sequence[ImportedEvent],
        *,
        keep_positions: bool = True,
    ) -> int:
        """Store ``events`` of an export (streams/transfer.py), given in their source's
        position order, keeping their ids, versions and order; ``streams`` holds the head
        (kind, category) of every stream among them. Returns how many were stored.

        This default appends them in small commits of consecutive events with explicit
        versions, so the store assigns new positions (in the same order) and recorded times;
        backends that can write positions and store times override it (``import_keeps``).
        ``keep_positions=False`` asks an override to behave like this default (a merge into
        a store that has positions of its own). Raises as :meth:`append` (VersionConflict
        when a stream's versions do not continue the stored ones); what earlier commits of
        the call stored stays stored."""
        stored = 0
        for appends, _first in import_commits(streams, events):
            self.append(appends)
            stored += sum(len(a.events) for a in appends)
        return stored

    def on_durable(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once what was just appended is durable: now, unless the backend
        is inside a transaction that has yet to commit (then on its commit, or never)."""
        callback()

    def ping(self) -> None:
        """Raise Unavailable when the backend cannot be reached (a cheap read)."""
        self.head("flipbook:readiness-probe")

    def close(self) -> None:
        """Release connections and clients held by the backend."""

    # -- from an event loop (optional) ----------------------------------------------------------

    # Whether append_async may store anything (callers skip the attempt when it cannot).
    async_appends = False

    async def append_async(self, appends: Sequence[PreparedAppend]) -> CommitResult | None:
        """:meth:`append` without a thread, for the cases a backend can answer from the
        running event loop. Returns None, having stored nothing, for the rest: the caller
        then calls :meth:`append` (on a thread). Raises as :meth:`append`."""
        return None

    async def close_async(self) -> None:
        """Release what :meth:`append_async` holds in the running event loop."""

    # -- shared checks ------------------------------------------------------------------------

    def resolve_resend(self, appends: Sequence[PreparedAppend]) -> CommitResult | None:
        """After a refused commit: return the stored original if this is an identical
        re-send, raise IdConflict if its client-chosen ids are stored with other content,
        and return None when none of its ids is stored (a genuine refusal)."""
        given = [e.id for a in appends for e in a.events if e.id_given]
        if not given:
            return None
        located = self.find_event_streams(given)
        if not located:
            return None
        if any(not e.id_given for a in appends for e in a.events):
            # The events without ids got new ones, so this cannot be matched as a re-send.
            raise IdConflict(
                [str(i) for i in given if i in located],
                "this commit also has events without ids, so a re-send of it cannot be "
                "recognised: give every event of a commit an id to make it idempotent",
            )
        # Read only the events stored in the stream this commit puts them in: one stored
        # elsewhere differs anyway, and reading it would make the answer's time grow with
        # the size of an event the caller may not be allowed to read.
        here = [e.id for a in appends for e in a.events if located.get(e.id) == a.stream_id]
        stored = self.find_events(here) if here else {}
        differing = []
        for a in appends:
            for e in a.events:
                s = stored.get(e.id)
                if s is None or not _same_event(a.stream_id, e, s):
                    differing.append(str(e.id))
        if differing:
            raise IdConflict(differing)
        results = []
        for a in appends:
            events = tuple(sorted((stored[e.id] for e in a.events), key=lambda r: r.position))
            head = self.head(a.stream_id)
            version = None if head is None or head.kind == NEUTRAL else events[-1].version
            category = head.category if head is not None else None
            results.append(
                AppendResult(a.stream_id, version, events, duplicate=True, category=category)
            )
        return CommitResult(tuple(results), duplicate=True)

    def explain_refusal(self, append: PreparedAppend) -> Exception | None:
        """Return the error that explains why ``append``'s check fails against the stream's
        head now, or None when it would pass (the head moved: retry)."""
        head = self.head(append.stream_id)
        if head is None:
            return refusal_error(append, None, None, 0)
        return refusal_error(append, head.kind, head.category, head.version or 0, head.deleted)


def refusal_error(
    append: PreparedAppend,
    kind: str | None,
    category: str | None,
    version: int,
    deleted: str | None = None,
) -> Exception | None:
    """The error for ``append`` against a head of ``kind``/``category``/``version`` (kind None:
    no such stream; ``deleted`` "hard": a tombstone), or None when the check would pass."""
    expected = append.expected_version
    stream_id = append.stream_id
    if deleted == "hard":
        return stream_deleted(stream_id)
    if kind is None:
        if expected == "exists" or (isinstance(expected, int) and expected > 0):
            return VersionConflict(stream_id, expected, 0)
        return None
    if append.kind is not None and kind != append.kind:
        return ValidationError(
            "kind", f"stream {stream_id!r} is {kind}; an append cannot change its kind"
        )
    if kind == NEUTRAL and isinstance(expected, int):
        return ValidationError(
            "expected_version",
            f"stream {stream_id!r} is version-neutral and takes no version check",
        )
    if append.category and category and category != append.category:
        return ValidationError(
            "category",
            f"stream {stream_id!r} has category {category!r}; "
            "change it in the admin, not by an append",
        )
    if isinstance(expected, int) and kind != NEUTRAL and version != expected:
        return VersionConflict(stream_id, expected, version)
    return None


def stream_deleted(stream_id: str) -> StreamDeleted:
    """The error of a read of or an append to a hard-deleted stream."""
    return StreamDeleted(
        f"stream {stream_id!r} was hard-deleted: its id cannot be read or appended to again; "
        "use another stream id",
        stream_id=stream_id,
    )


def check_readable(stream_id: str, deleted: str | None) -> None:
    """Raise what a read of a deleted stream answers: NotFound (soft), StreamDeleted (hard)."""
    if deleted == "hard":
        raise stream_deleted(stream_id)
    if deleted == "soft":
        raise NotFound(
            f"stream {stream_id!r} was deleted; an append starts it again", stream_id=stream_id
        )


def same_event(stream_id: str, new: PreparedEvent, stored: RecordedEvent) -> bool:
    """Whether ``stored`` is ``new`` appended to ``stream_id`` (an identical re-send)."""
    return _same_event(stream_id, new, stored)


def _same_event(stream_id: str, new: PreparedEvent, stored: RecordedEvent) -> bool:
    return (
        stored.stream_id == stream_id
        and stored.name == new.name
        and _same_json(stored.payload, new.payload_json)
        and _same_json(stored.metadata, new.metadata_json)
        and stored.timestamp == new.timestamp
        and (new.version is None or stored.version == new.version)
    )


def _same_json(stored: Any, sent_json: str) -> bool:
    # Compare numbers as decimals: PostgreSQL's jsonb returns 1.5e300 as a 301-digit integer,
    # which is not equal to the float it was sent as.
    def load(text: str) -> Any:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal)

    same: bool = load(json.dumps(stored)) == load(sent_json)
    return same


def import_commits(
    streams: Mapping[str, ImportedStream],
    events: Sequence[ImportedEvent],
    *,
    as_recorded: bool = False,
) -> Iterator[tuple[tuple[PreparedAppend, ...], ImportedEvent]]:
    """Cut position-ordered events into commits (with the first event of each) of
    consecutive runs, one run per stream per commit, so that each commit's positions come
    out in the source's order. ``as_recorded`` also cuts where positions leave a gap or the
    recorded time changes, so a backend can write each commit at its source's first
    position and time. Commits stay small enough for one transaction of every backend."""
    runs: list[tuple[str, list[PreparedEvent]]] = []
    first: ImportedEvent | None = None
    previous: ImportedEvent | None = None
    size = volume = 0
    for imported in events:
        sid = imported.stream_id
        event = imported.event
        bytes_ = len(event.payload_json) + len(event.metadata_json)
        full = size >= IMPORT_COMMIT_EVENTS or volume + bytes_ > IMPORT_COMMIT_BYTES
        apart = (
            as_recorded
            and previous is not None
            and (
                imported.position != previous.position + 1
                or imported.recorded_at != previous.recorded_at
            )
        )
        previous = imported
        if runs and not full and not apart and runs[-1][0] == sid:
            runs[-1][1].append(event)
            size += 1
            volume += bytes_
            continue
        if runs and (
            full or apart or len(runs) >= IMPORT_COMMIT_STREAMS or any(r[0] == sid for r in runs)
        ):
            assert first is not None
            yield tuple(_import_append(streams[r[0]], r[1]) for r in runs), first
            runs, size, volume = [], 0, 0
        if not runs:
            first = imported
        runs.append((sid, [event]))
        size += 1
        volume += bytes_
    if runs:
        assert first is not None
        yield tuple(_import_append(streams[r[0]], r[1]) for r in runs), first


def _import_append(stream: ImportedStream, events: list[PreparedEvent]) -> PreparedAppend:
    first = events[0].version
    expected: ExpectedVersion = "any" if first is None else first - 1
    return PreparedAppend(stream.stream_id, tuple(events), expected, stream.category, stream.kind)


def effective_kind(append: PreparedAppend) -> str:
    """The kind a new stream gets from its first append."""
    return append.kind or VERSIONED
