"""Search of the all-feed: the category and event-name filters the backends answer, plus
filters checked here on each event (event id prefix, natural-time window, metadata key =
value). Part of the store service; the console's feed browser and its export call it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams import services
from streams.exceptions import ValidationError
from streams.records import FeedPage, RecordedEvent
from streams.validation import validate_category, validate_name, validate_timestamp

# One page reads at most this many feed events looking for matches; the answer's
# ``next_after`` then lets the reader go on from there.
SCAN_MAX = 5000
READ_PAGE = 1000
_ID_PREFIX = re.compile(r"^[0-9a-fA-F-]{1,36}$")


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """A validated filter of the all-feed (see :func:`feed_filter`)."""

    category: str | None = None
    name: str | None = None
    id_prefix: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    meta_key: str | None = None
    meta_value: str | None = None

    @property
    def checks_events(self) -> bool:
        """Whether some filter is checked here rather than by the backend."""
        return bool(self.id_prefix or self.since or self.until or self.meta_key)

    def matches(self, event: RecordedEvent) -> bool:
        """Whether ``event`` passes the filters checked here (the backend did the rest)."""
        if self.id_prefix and not str(event.id).startswith(self.id_prefix):
            return False
        if self.since or self.until:
            # A time-neutral event counts at its recorded time, as in "state as of time T".
            moment = event.timestamp if event.timestamp is not None else event.recorded_at
            if self.since and moment < self.since:
                return False
            if self.until and moment > self.until:
                return False
        if self.meta_key:
            if self.meta_key not in event.metadata:
                return False
            if self.meta_value is not None and not _same(
                event.metadata[self.meta_key], self.meta_value
            ):
                return False
        return True


def _same(value: Any, wanted: str) -> bool:
    # A string compares as itself, anything else as its JSON text (42, true, null).
    if isinstance(value, str):
        return value == wanted
    return json.dumps(value, separators=(",", ":"), sort_keys=True) == wanted


def feed_filter(
    *,
    category: str | None = None,
    name: str | None = None,
    id_prefix: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    metadata: str | None = None,
) -> FeedFilter:
    """Validate the filters of a feed search: ``category``, event ``name``, event ``id_prefix``
    (hex digits and dashes), natural-time ``since``/``until`` (ISO 8601, inclusive) and
    ``metadata`` as ``key`` (the key is present) or ``key=value``. Raises ValidationError."""
    category = validate_category(category or None)
    name = validate_name(name, "name") if name else None
    prefix = None
    if id_prefix:
        if not _ID_PREFIX.match(id_prefix):
            raise ValidationError("id", "an event id prefix holds hex digits and dashes only")
        prefix = id_prefix.lower()
    start = validate_timestamp(since or None, "since")
    end = validate_timestamp(until or None, "until")
    if start and end and start > end:
        raise ValidationError("until", "must not be before since")
    key = value = None
    if metadata:
        key, sep, rest = metadata.partition("=")
        key = key.strip()
        if not key or len(key) > 200:
            raise ValidationError("metadata", "write key or key=value (a key of 1–200 chars)")
        value = rest if sep else None
    return FeedFilter(category, name, prefix, start, end, key, value)


def search_feed(
    query: FeedFilter, *, after: int = 0, limit: int = 50, scan_max: int = SCAN_MAX
) -> FeedPage:
    """One page of the all-feed after position ``after`` that passes ``query``: at most
    ``limit`` events, in position order, after reading at most about ``scan_max`` feed
    events. ``next_after`` is where to continue (it moves past events read and filtered
    out, so a page may hold fewer than ``limit`` events while more follow)."""
    categories = [query.category] if query.category else []
    names = [query.name] if query.name else []
    found: list[RecordedEvent] = []
    scanned = 0
    # With filters checked here, read a little past the page first and more each round: a
    # common match fills the page from one short read, a rare one soon reads full pages.
    want = limit * 2 if query.checks_events else limit
    while True:
        if not query.checks_events:
            want = limit - len(found)
        page = services.read_all(
            after=after, limit=min(max(want, 1), READ_PAGE), categories=categories, names=names
        )
        want *= 2
        for event in page.events:
            if query.matches(event):
                found.append(event)
                if len(found) == limit:
                    return FeedPage(events=found, next_after=event.position)
        scanned += len(page.events)
        if page.next_after <= after:  # the end of the feed, for now
            return FeedPage(events=found, next_after=after)
        after = page.next_after
        if scanned >= scan_max:
            return FeedPage(events=found, next_after=after)


def iter_feed(
    query: FeedFilter, *, after: int = 0, until_position: int | None = None
) -> Iterator[RecordedEvent]:
    """Every event of the all-feed after ``after`` that passes ``query``, in position order,
    read page by page (constant memory): what an export streams. Stops at
    ``until_position`` when given (the feed's end when the export started)."""
    categories = [query.category] if query.category else []
    names = [query.name] if query.name else []
    while True:
        page = services.read_all(after=after, limit=READ_PAGE, categories=categories, names=names)
        for event in page.events:
            if until_position is not None and event.position > until_position:
                return
            if query.matches(event):
                yield event
        if page.next_after <= after:
            return
        after = page.next_after
