"""Reading the all-feed for subscriptions, only through ``streams.services.read_all`` (settled
positions, so never out of order)."""

from __future__ import annotations

from datetime import datetime

from streams import services
from streams.conf import flipbook_settings
from streams.records import RecordedEvent
from subscriptions.models import Subscription
from subscriptions.records import SubscriptionFilter


def filter_of(row: Subscription) -> SubscriptionFilter:
    return SubscriptionFilter(
        row.filter_category, row.filter_stream_id, tuple(row.filter_names or ())
    )


def scan_feed(
    flt: SubscriptionFilter, after: int, want: int, budget: int
) -> tuple[list, int, bool]:
    """Matching events after ``after`` (at most ``want``), the position up to which no other
    matching event exists, and whether that position is the feed's settled head."""
    categories = [flt.category] if flt.category else []
    max_limit = flipbook_settings.LIMITS["MAX_READ_LIMIT"]
    events: list[RecordedEvent] = []
    scanned = 0
    position = after
    while True:
        limit = min(want - len(events), max_limit)
        if flt.stream_id is not None:
            limit = min(max(limit, 1000), max_limit)  # filtered here, not by the store
        page = services.read_all(
            after=position, limit=limit, categories=categories, names=flt.names
        )
        for event in page.events:
            if flt.stream_id is None or event.stream_id == flt.stream_id:
                events.append(event)
                if len(events) == want:
                    return events, event.position, False
        scanned += len(page.events)
        if page.next_after <= position:
            return events, position, True
        position = page.next_after
        if len(page.events) < limit:
            return events, position, True
        if scanned >= budget:
            return events, position, False


def event_at(position: int) -> RecordedEvent | None:
    page = services.read_all(after=position - 1, limit=1)
    if page.events and page.events[0].position == position:
        return page.events[0]
    return None


def is_visible(position: int) -> bool:
    """Whether the feed's settled head has reached ``position``."""
    page = services.read_all(after=position - 1, limit=1)
    return bool(page.events) or page.next_after >= position


def feed_head(after: int = 0) -> int:
    """Return the settled head of the all-feed: no event can become visible at or below it.
    Found with a few one-event reads (galloping, then bisecting), whatever the backend."""

    def probe(p: int) -> tuple[str, int]:
        page = services.read_all(after=p, limit=1)
        if page.events:
            return "above", page.events[0].position
        if page.next_after > p:
            return "exact", page.next_after
        return "below", p

    low = after
    kind, value = probe(low)
    if kind != "above":
        return value
    low, step = value, 1024
    while True:
        kind, value = probe(low + step)
        if kind == "exact":
            return value
        if kind == "below":
            high = low + step
            break
        low, step = value, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        kind, value = probe(middle)
        if kind == "exact":
            return value
        if kind == "above":
            low = value
        else:
            high = middle
    kind, value = probe(low)
    return value if kind != "below" else low


def position_before(moment: datetime) -> int:
    """The position of the last event recorded at or before ``moment`` (0: none). Commits
    become visible in position order, so recorded times rise with positions (up to clock
    steps between servers): a bisection of one-event reads finds it on any backend."""

    def first_after(p: int) -> RecordedEvent | None:
        page = services.read_all(after=p, limit=1)
        return page.events[0] if page.events else None

    first = first_after(0)
    if first is None or first.recorded_at > moment:
        return 0
    low, high = first.position, feed_head(first.position) + 1  # recorded(low) <= moment
    while high - low > 1:
        event = first_after((low + high) // 2 - 1)
        if event is None or event.position >= high:
            high = (low + high) // 2  # no event in [middle, high)
        elif event.recorded_at <= moment:
            low = event.position
        else:
            high = event.position
    return low
