"""Export and import of a store as JSON Lines (docs/operations/export-import.md).

An export is one JSON object per line, written with sorted keys and no spaces:

* a header: ``{"type": "flipbook-export", "format": 1, "scope": {...}, ...}``;
* one ``stream`` line per stream head (id, kind, category, metadata), in stream id order;
* one ``event`` line per event in position order (stream_id, version, position, id, name,
  timestamp, recorded_at, payload, metadata);
* a trailer: ``{"type": "end", "streams": S, "events": N, "checksum": "sha256:..."}``.

The checksum is SHA-256 over the canonical stream and event lines *without* what a backend
may assign itself on import (positions, recorded times, stream metadata), so an export of
the source and an export of the store it was imported into have the same checksum exactly
when both hold the same streams and the same events in the same order. Both directions
stream: the exporter pages through the all-feed, the importer writes bounded batches."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams.backends import get_event_store
from streams.backends.base import BaseEventStore, same_event
from streams.exceptions import IdConflict, StoreNotEmpty, ValidationError
from streams.personal_data.protection import protect
from streams.records import (
    NEUTRAL,
    VERSIONED,
    FeedQuery,
    ImportedEvent,
    ImportedStream,
    PreparedAppend,
    RecordedEvent,
    StreamInfo,
)
from streams.validation import (
    current_limits,
    prepare_event,
    validate_category,
    validate_int,
    validate_stream_id,
    validate_timestamp,
)

FORMAT = 1
EXPORT_TYPE = "flipbook-export"
# Called with (items done, items expected or None when unknown).
Progress = Callable[[int, int | None], None]
# Fields of a line the checksum leaves out: a target backend may assign them itself.
UNCHECKED = {"event": ("position", "recorded_at"), "stream": ("metadata",)}


def canonical(obj: Any) -> str:
    """The one text of a JSON value in an export: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def time_text(value: datetime | None) -> str | None:
    """A time as an export writes it: UTC, ISO 8601, always with microseconds."""
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def stream_line(head: StreamInfo) -> dict[str, Any]:
    """The ``stream`` line of a head."""
    return {
        "type": "stream",
        "stream_id": head.stream_id,
        "kind": head.kind,
        "category": head.category,
        "metadata": head.metadata,
    }


def event_line(event: RecordedEvent) -> dict[str, Any]:
    """The ``event`` line of a stored event."""
    return {
        "type": "event",
        "stream_id": event.stream_id,
        "version": event.version,
        "position": event.position,
        "id": str(event.id),
        "name": event.name,
        "timestamp": time_text(event.timestamp),
        "recorded_at": time_text(event.recorded_at),
        "payload": event.payload,
        "metadata": event.metadata,
    }


class Checksum:
    """SHA-256 over the canonical stream and event lines, less the fields in UNCHECKED."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._exact = hashlib.sha256()
        self.streams = 0
        self.events = 0

    def add(self, line: dict[str, Any], text: str | None = None) -> None:
        """Count and hash one stream or event line (``text``: its canonical text, when the
        caller has it already)."""
        kind = line["type"]
        if kind == "event":
            self.events += 1
        else:
            self.streams += 1
        left_out = UNCHECKED[kind]
        kept = canonical({k: v for k, v in line.items() if k not in left_out})
        self._hash.update(kept.encode() + b"\n")
        self._exact.update((text or canonical(line)).encode() + b"\n")

    def hexdigest(self) -> str:
        """Over what every import keeps: the same streams and events in the same order."""
        return "sha256:" + self._hash.hexdigest()

    def exact_hexdigest(self) -> str:
        """Over the whole lines: positions, recorded times and stream metadata too."""
        return "sha256:" + self._exact.hexdigest()


@dataclass(frozen=True, slots=True)
class ExportScope:
    """What an export holds: the whole store, one category, or the streams whose ids start
    with a prefix (both may be given)."""

    category: str | None = None
    prefix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "prefix": self.prefix}


def export_store(
    *,
    category: str | None = None,
    prefix: str | None = None,
    store: BaseEventStore | None = None,
    batch: int = 1000,
    progress: Progress | None = None,
) -> Iterator[str]:
    """Yield the lines (each ending in a newline) of an export of ``store`` (default: the
    configured one), or of one category and/or id prefix of it, in bounded memory.

    The export holds what is stored up to the last position at its start: events appended
    while it runs are left out. Raises ValidationError for a bad category or prefix, and
    Unavailable when the backend fails."""
    scope = ExportScope(validate_category(category), _prefix(prefix))
    store = store or get_event_store()
    totals = store.totals()
    horizon = int(totals["last_position"])
    expected = (
        None if scope.category or scope.prefix or totals["events"] < 0 else int(totals["events"])
    )
    checksum = Checksum()
    yield _line(
        {
            "type": EXPORT_TYPE,
            "format": FORMAT,
            "scope": scope.as_dict(),
            "exported_at": time_text(datetime.now(UTC)),
            "last_position": horizon,
            "events_expected": expected,
        }
    )
    for head in store.iter_heads(prefix=scope.prefix, category=scope.category):
        line = stream_line(head)
        text = canonical(line)
        checksum.add(line, text)
        yield text + "\n"
    for event in feed_events(store, scope, horizon, batch):
        line = event_line(event)
        text = canonical(line)
        checksum.add(line, text)
        yield text + "\n"
        if progress is not None and checksum.events % batch == 0:
            progress(checksum.events, expected)
    if progress is not None:
        progress(checksum.events, expected)
    yield _line(
        {
            "type": "end",
            "streams": checksum.streams,
            "events": checksum.events,
            "checksum": checksum.hexdigest(),
            "exact_checksum": checksum.exact_hexdigest(),
        }
    )


def feed_events(
    store: BaseEventStore, scope: ExportScope, horizon: int, batch: int = 1000
) -> Iterator[RecordedEvent]:
    """The events of ``scope`` with positions up to ``horizon``, in position order, read
    from the all-feed ``batch`` at a time (a prefix is filtered here: the feed has no
    index by stream id)."""
    categories = (scope.category,) if scope.category else ()
    after = 0
    while after < horizon:
        page = store.read_all(FeedQuery(after=after, limit=batch, categories=categories))
        for event in page.events:
            if event.position > horizon:
                return
            if scope.prefix is None or event.stream_id.startswith(scope.prefix):
                yield event
        if page.next_after <= after:
            return  # nothing settled past ``after`` (the horizon's events were removed)
        after = page.next_after


def export_checksum(
    *,
    category: str | None = None,
    prefix: str | None = None,
    store: BaseEventStore | None = None,
) -> dict[str, Any]:
    """Return the trailer of an export (``streams``, ``events``, ``checksum``,
    ``exact_checksum``), without keeping its lines."""
    trailer = ""
    for trailer in export_store(category=category, prefix=prefix, store=store):  # noqa: B007
        pass
    result: dict[str, Any] = json.loads(trailer)
    return result


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: ``events`` stored, ``skipped`` (a merge's identical events),
    ``streams`` read, and the checksum of what it read (equal to the export's own)."""

    streams: int
    events: int
    skipped: int
    checksum: str
    exact_checksum: str
    keeps: frozenset[str]


def import_store(
    lines: Iterable[str | bytes],
    *,
    store: BaseEventStore | None = None,
    merge: bool = False,
    batch: int = 500,
    progress: Progress | None = None,
) -> ImportReport:
    """Import an export (its lines, as :func:`export_store` writes them) into ``store``
    (default: the configured one), ``batch`` events at a time, keeping ids, versions,
    natural times and order, and positions and recorded times where the backend can
    (``BaseEventStore.import_keeps``).

    The store must hold no events, else StoreNotEmpty, unless ``merge``: then events whose
    ids are stored with the same content are skipped, an id stored with other content is an
    IdConflict, and the rest is appended after what the store holds (new positions; a
    stream's versions must continue its stored ones, else VersionConflict). Raises
    ValidationError (naming the line) for a malformed export, a truncated one (no trailer)
    or one whose trailer's counts or checksum disagree with its lines; batches stored
    before such an error stay stored (import again with ``merge`` to finish)."""
    store = store or get_event_store()
    batch = validate_int(batch, "batch", minimum=1, maximum=10_000)
    reader = _ExportReader(lines)  # reads the header: not an export, nothing is asked
    if not merge and not is_empty(store):
        raise StoreNotEmpty()
    expected = reader.header.get("events_expected")
    heads: dict[str, ImportedStream] = {}
    pending: list[ImportedEvent] = []
    stored = skipped = 0

    def flush() -> None:
        nonlocal stored, skipped
        todo = pending
        if merge:
            todo = _unstored(store, pending)
            skipped += len(pending) - len(todo)
        if todo:
            todo = _protected(todo, heads, store)
            stored += store.import_events(heads, todo, keep_positions=not merge)
        pending.clear()
        if progress is not None:
            progress(stored + skipped, expected if isinstance(expected, int) else None)

    for item in reader:
        if isinstance(item, ImportedStream):
            heads[item.stream_id] = item
            continue
        if item.stream_id not in heads:
            raise ValidationError(
                f"line {reader.number}", f"stream {item.stream_id!r} has no stream line before"
            )
        pending.append(item)
        if len(pending) >= batch:
            flush()
    flush()
    return ImportReport(
        streams=reader.checksum.streams,
        events=stored,
        skipped=skipped,
        checksum=reader.checksum.hexdigest(),
        exact_checksum=reader.checksum.exact_hexdigest(),
        keeps=frozenset() if merge else store.import_keeps,
    )


def is_empty(store: BaseEventStore) -> bool:
    """Whether ``store`` holds no stream and no event."""
    if store.read_all(FeedQuery(after=0, limit=1)).events:
        return False
    return not store.list_streams(prefix=None, category=None, after=None, limit=1)


def _unstored(store: BaseEventStore, events: list[ImportedEvent]) -> list[ImportedEvent]:
    """The events of a merge batch not stored yet; IdConflict for any stored otherwise."""
    stored = store.find_events([i.event.id for i in events])
    if not stored:
        return events
    differing = [
        str(i.event.id)
        for i in events
        if i.event.id in stored and not same_event(i.stream_id, i.event, stored[i.event.id])
    ]
    if differing:
        raise IdConflict(
            differing,
            "the target holds these ids with other content; a merge skips only identical events",
        )
    return [i for i in events if i.event.id not in stored]


class _ExportReader:
    """Parses and checks an export's lines: yields ImportedStream and ImportedEvent values,
    checks positions rise and versions continue, and at the end checks the trailer."""

    def __init__(self, lines: Iterable[str | bytes]) -> None:
        self._lines = iter(lines)
        self.number = 0
        self.checksum = Checksum()
        self.limits = current_limits()
        self.kinds: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.position = 0
        first = self._next()
        if first is None or first.get("type") != EXPORT_TYPE:
            raise ValidationError(
                "line 1", "is not the header of a Flipbook export (flipbook export writes one)"
            )
        if first.get("format") != FORMAT:
            raise ValidationError(
                "line 1", f"export format {first.get('format')!r}: this version reads {FORMAT}"
            )
        self.header = first

    def _next(self) -> dict[str, Any] | None:
        for raw in self._lines:
            self.number += 1
            text = raw.decode() if isinstance(raw, bytes | bytearray) else raw
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValidationError(f"line {self.number}", f"is not JSON ({exc})") from exc
            if not isinstance(value, dict):
                raise ValidationError(f"line {self.number}", "must be a JSON object")
            return value
        return None

    def __iter__(self) -> Iterator[ImportedStream | ImportedEvent]:
        while True:
            line = self._next()
            if line is None:
                raise ValidationError(
                    f"line {self.number}",
                    "the export ends without its trailer line: it is truncated",
                )
            kind = line.get("type")
            if kind == "end":
                self._check_trailer(line)
                return
            if kind == "stream":
                yield self._stream(line)
            elif kind == "event":
                yield self._event(line)
            else:
                raise ValidationError(f"line {self.number}.type", f"unknown line type {kind!r}")

    def _stream(self, line: dict[str, Any]) -> ImportedStream:
        field = f"line {self.number}"
        sid = validate_stream_id(line.get("stream_id"), f"{field}.stream_id")
        kind = line.get("kind")
        if kind not in (VERSIONED, NEUTRAL):
            raise ValidationError(f"{field}.kind", "must be 'versioned' or 'neutral'")
        metadata = line.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValidationError(f"{field}.metadata", "must be a JSON object")
        if sid in self.kinds:
            raise ValidationError(f"{field}.stream_id", f"stream {sid!r} has two stream lines")
        self.kinds[sid] = kind
        category = validate_category(line.get("category"), f"{field}.category")
        self.checksum.add(
            {
                "type": "stream",
                "stream_id": sid,
                "kind": kind,
                "category": category,
                "metadata": metadata,
            }
        )
        return ImportedStream(sid, kind, category, metadata)

    def _event(self, line: dict[str, Any]) -> ImportedEvent:
        field = f"line {self.number}"
        sid = validate_stream_id(line.get("stream_id"), f"{field}.stream_id")
        position = validate_int(line.get("position"), f"{field}.position", minimum=1)
        if position <= self.position:
            raise ValidationError(
                f"{field}.position", f"{position} does not follow {self.position}"
            )
        self.position = position
        recorded_at = validate_timestamp(line.get("recorded_at"), f"{field}.recorded_at")
        if recorded_at is None:
            raise ValidationError(f"{field}.recorded_at", "is required")
        fields = {k: line.get(k) for k in ("name", "payload", "metadata", "timestamp", "id")}
        if fields["id"] is None:
            raise ValidationError(f"{field}.id", "is required")
        event = prepare_event({**fields, "version": line.get("version")}, field, self.limits)
        kind = self.kinds.get(sid)
        if kind == NEUTRAL and event.version is not None:
            raise ValidationError(f"{field}.version", "must be null on a version-neutral stream")
        if kind == VERSIONED:
            last = self.versions.get(sid)
            if event.version is None or (last is not None and event.version != last + 1):
                raise ValidationError(
                    f"{field}.version",
                    f"stream {sid!r} needs version {1 if last is None else last + 1} here",
                )
            self.versions[sid] = event.version
        self.checksum.add(
            {
                "type": "event",
                "stream_id": sid,
                "version": event.version,
                "position": position,
                "id": str(event.id),
                "name": event.name,
                "timestamp": time_text(event.timestamp),
                "recorded_at": time_text(recorded_at),
                "payload": event.payload,
                "metadata": event.metadata,
            }
        )
        return ImportedEvent(sid, event, position, recorded_at)

    def _check_trailer(self, line: dict[str, Any]) -> None:
        field = f"line {self.number}"
        for name, counted in (("streams", self.checksum.streams), ("events", self.checksum.events)):
            if line.get(name) != counted:
                raise ValidationError(
                    f"{field}.{name}",
                    f"the trailer counts {line.get(name)!r}, the export holds {counted}",
                )
        exact = line.get("exact_checksum")
        if line.get("checksum") != self.checksum.hexdigest() or (
            exact is not None and exact != self.checksum.exact_hexdigest()
        ):
            raise ValidationError(
                f"{field}.checksum",
                "does not match the export's lines: the file was changed or damaged",
            )


def _protected(
    events: list[ImportedEvent], heads: dict[str, ImportedStream], store: BaseEventStore
) -> list[ImportedEvent]:
    """``events`` with their personal fields encrypted, as an append would store them: an
    export holds them decrypted, and the backend's import writes what it is given."""
    appends = tuple(
        PreparedAppend(
            item.stream_id,
            (item.event,),
            "any",
            heads[item.stream_id].category,
            heads[item.stream_id].kind,
        )
        for item in events
    )
    protected = protect(appends, store)
    if protected is appends:
        return events
    return [item._replace(event=a.events[0]) for item, a in zip(events, protected, strict=True)]


def _line(obj: dict[str, Any]) -> str:
    return canonical(obj) + "\n"


def _prefix(prefix: str | None) -> str | None:
    if prefix is None or prefix == "":
        return None
    return validate_stream_id(prefix, "prefix")
