"""Durable subscriptions: named consumers of the all-feed with a stored checkpoint.

The one API that REST, gRPC, the push worker, the admin and the console call. Events are read
only through ``streams.services.read_all`` (settled positions, so never out of order); the
subscription rows change only through conditional UPDATEs (compare-and-set on the checkpoint
and the retry state), never read-then-write. Delivery is at-least-once, in position order."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connections, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.dispatch import receiver
from django.utils import timezone

from streams import services
from streams.exceptions import AlreadyExists, NotFound, ValidationError
from streams.models import ParkedEvent, Subscription
from streams.records import Page, RecordedEvent
from streams.signals import events_committed
from streams.validation import validate_category, validate_int, validate_name, validate_stream_id

logger = logging.getLogger("flipbook.subscriptions")

NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,100}")
TARGET_PATTERN = re.compile(r"[^\s/]{1,255}:[0-9]{1,5}")
DEFAULT_MAX_ATTEMPTS = 5
MAX_ATTEMPTS_LIMIT = 1000
MAX_WAIT_SECONDS = 30.0
MAX_ERROR_CHARS = 2000
MAX_FILTER_NAMES = 100
CAS_ATTEMPTS = 20
# Parked events being retried: asked for ("retry"), or delivered to a pull consumer ("sent").
RETRYING = ("retry", "sent")

DEFAULTS = {
    "LAG_CAP": 1000,  # lag is counted exactly up to this many events
    "ACK_LAG_CAP": 100,  # ... in the answers of ack and nack, which consumers call often
    "STALL_SECONDS": 60.0,  # lag and no heartbeat for this long: "stalled"
    "HEARTBEAT_SECONDS": 1.0,  # at most one heartbeat write per subscription per this
    "POLL_MAX_SECONDS": 1.0,  # long-poll fallback for commits made by other processes
    "SCAN_BUDGET": 10_000,  # feed events one call scans for a stream filter
    "PUSH_BATCH": 100,
    "PUSH_TIMEOUT_SECONDS": 10.0,
    "PUSH_BACKOFF_SECONDS": 1.0,
    "PUSH_BACKOFF_MAX_SECONDS": 60.0,
    "PUSH_POLL_SECONDS": 1.0,
    "PUSH_LEASE_SECONDS": 30.0,
}


def config(key: str) -> Any:
    """A value of settings.FLIPBOOK_SUBSCRIPTIONS, or its default."""
    return getattr(settings, "FLIPBOOK_SUBSCRIPTIONS", {}).get(key, DEFAULTS[key])


# -- records ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """Which events a subscription receives: one category or one stream (or neither: the
    whole feed), and optionally only some event names."""

    category: str | None = None
    stream_id: str | None = None
    names: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "stream_id": self.stream_id, "names": list(self.names)}


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """A subscription as the APIs show it, with its lag and status (see README)."""

    name: str
    filter: SubscriptionFilter
    checkpoint: int
    head_position: int
    lag: int
    lag_capped: bool
    status: str
    last_heartbeat: datetime | None
    parked: int
    max_attempts: int
    push: dict[str, str] | None
    created_at: datetime
    retry_position: int | None
    retry_attempts: int
    last_error: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "filter": self.filter.as_dict(),
            "checkpoint": self.checkpoint,
            "head_position": self.head_position,
            "lag": self.lag,
            "lag_capped": self.lag_capped,
            "status": self.status,
            "last_heartbeat": _iso(self.last_heartbeat),
            "parked": self.parked,
            "max_attempts": self.max_attempts,
            "push": self.push,
            "created_at": _iso(self.created_at),
            "retry_position": self.retry_position,
            "retry_attempts": self.retry_attempts,
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class Batch:
    """What ``next_batch`` delivers: events (retries asked for first, then in position
    order) and the subscription's checkpoint."""

    events: list[RecordedEvent]
    checkpoint: int

    def as_dict(self) -> dict[str, Any]:
        return {"events": [e.as_dict() for e in self.events], "checkpoint": self.checkpoint}


@dataclass(frozen=True, slots=True)
class NackResult:
    """The outcome of a nack: the event's failed attempts, whether it is parked now."""

    position: int
    attempts: int
    parked: bool
    checkpoint: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "attempts": self.attempts,
            "parked": self.parked,
            "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True, slots=True)
class ParkedInfo:
    """A parked event of a subscription: the event's identity, the last error, attempts."""

    position: int
    stream_id: str
    version: int | None
    name: str
    event_id: str
    error: str
    attempts: int
    parked_at: datetime
    status: str = "parked"

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "stream_id": self.stream_id,
            "version": self.version,
            "name": self.name,
            "event_id": self.event_id,
            "error": self.error,
            "attempts": self.attempts,
            "parked_at": _iso(self.parked_at),
            "status": self.status,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# -- waking waiters -----------------------------------------------------------------------------


class FeedNotifier:
    """Wakes long-polls, Subscribe streams and the push worker when something they wait for
    may have happened in this process: a commit (events_committed), an ack, a retry request.

    Waiters hold no database connection while they wait; commits made by other processes are
    noticed by the waiters' fallback poll (every POLL_MAX_SECONDS at most)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._waiting = 0  # threads in wait(): a commit with no waiter skips notify_all
        self._generation = 0
        self._closed = False
        self._futures: set[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = set()

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def closed(self) -> bool:
        return self._closed

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            if self._waiting:
                self._condition.notify_all()
            if not self._futures:
                return
            futures = list(self._futures)
        for loop, future in futures:
            with contextlib.suppress(RuntimeError):  # a closed loop: its waiter is gone
                loop.call_soon_threadsafe(_resolve, future)

    def wait(self, generation: int, timeout: float) -> bool:
        """Block until notified after ``generation`` (True) or ``timeout`` seconds (False)."""
        with self._condition:
            self._waiting += 1
            try:
                return self._condition.wait_for(
                    lambda: self._generation != generation or self._closed, timeout
                )
            finally:
                self._waiting -= 1

    async def wait_async(self, generation: int, timeout: float) -> bool:
        """As :meth:`wait`, without holding a thread."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        entry = (loop, future)
        with self._condition:
            if self._generation != generation or self._closed:
                return True
            self._futures.add(entry)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._condition:
                self._futures.discard(entry)

    def close(self) -> None:
        """Wake every waiter and make later waits return at once (the server is stopping)."""
        self._closed = True
        self.notify()

    def reopen(self) -> None:
        self._closed = False


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


notifier = FeedNotifier()


@receiver(events_committed, dispatch_uid="flipbook.subscriptions.notify")
def _on_commit(**kwargs) -> None:
    # Only a wake-up: the payload is never delivered (on PostgreSQL commits may reach this
    # signal out of position order); waiters read the store through read_all.
    notifier.notify()


def release_connections() -> None:
    """Give back this thread's database connections before a wait (unless a transaction is
    open), so a waiting consumer holds no connection (PostgreSQL: back to the pool)."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


# -- validation ---------------------------------------------------------------------------------


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
        parts = urlsplit(url) if isinstance(url, str) else None
        if (
            parts is None
            or len(url) > 1000
            or parts.scheme not in ("http", "https")
            or not parts.netloc
        ):
            raise ValidationError(f"{field}.url", "must be an http:// or https:// URL")
        return {"kind": "webhook", "url": url}
    if kind == "grpc":
        if set(value) - {"kind", "target"}:
            raise ValidationError(field, "a gRPC endpoint takes only kind and target")
        target = value.get("target")
        if not isinstance(target, str) or not TARGET_PATTERN.fullmatch(target):
            raise ValidationError(f"{field}.target", "must be host:port of an EventHandler")
        return {"kind": "grpc", "target": target}
    raise ValidationError(f"{field}.kind", "must be 'webhook' or 'grpc'")


def _start_position(value: Any, field: str) -> int:
    if value is None or value == "beginning":
        return 0
    if value == "end":
        return feed_head()
    if isinstance(value, dict) and set(value) == {"after"}:
        position = validate_int(value["after"], f"{field}.after", minimum=0)
        if position and not _visible(position):
            raise ValidationError(f"{field}.after", "is beyond the head of the feed")
        return position
    raise ValidationError(field, 'must be "beginning", "end" or {"after": <position>}')


def _position(value: Any, field: str = "position") -> int:
    return validate_int(value, field, minimum=1)


def _limit(value: Any, field: str = "limit", default: int = 100) -> int:
    if value is None:
        return default
    return validate_int(value, field, minimum=1, maximum=settings.FLIPBOOK_LIMITS["MAX_READ_LIMIT"])


# -- reading the feed (only through services.read_all) -------------------------------------------


def _filter_of(row: Subscription) -> SubscriptionFilter:
    return SubscriptionFilter(
        row.filter_category, row.filter_stream_id, tuple(row.filter_names or ())
    )


def _scan(flt: SubscriptionFilter, after: int, want: int, budget: int) -> tuple[list, int, bool]:
    """Matching events after ``after`` (at most ``want``), the position up to which no other
    matching event exists, and whether that position is the feed's settled head."""
    categories = [flt.category] if flt.category else []
    max_limit = settings.FLIPBOOK_LIMITS["MAX_READ_LIMIT"]
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


def _event_at(position: int) -> RecordedEvent | None:
    page = services.read_all(after=position - 1, limit=1)
    if page.events and page.events[0].position == position:
        return page.events[0]
    return None


def _visible(position: int) -> bool:
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


# -- rows ---------------------------------------------------------------------------------------


def _alias() -> str:
    # Subscriptions live beside the events (one database, one backup); on a store that is
    # not a Django database (DynamoDB) they live in Django's default database.
    from streams.backends import get_event_store

    return getattr(get_event_store(), "using", "default")


def _subs():
    return Subscription.objects.using(_alias())


def _parked():
    return ParkedEvent.objects.using(_alias())


def _row(name: str) -> Subscription:
    name = validate_subscription_name(name)
    row = _subs().filter(name=name).first()
    if row is None:
        raise NotFound(f"subscription {name!r} does not exist", subscription=name)
    return row


_beats: dict[tuple, float] = {}
_beats_lock = threading.Lock()


def _heartbeat(row: Subscription) -> None:
    """Record that a consumer is alive: at most one write per HEARTBEAT_SECONDS per
    subscription (a remembered time in this process, then a conditional UPDATE)."""
    interval = float(config("HEARTBEAT_SECONDS"))
    now = time.monotonic()
    with _beats_lock:
        key = (row._state.db, row.pk, row.created_at)
        if now - _beats.get(key, -1e9) < interval:
            return
        if len(_beats) > 10_000:
            _beats.clear()
        _beats[key] = now
    wall = timezone.now()
    _subs().filter(
        Q(last_heartbeat__isnull=True) | Q(last_heartbeat__lt=wall - timedelta(seconds=interval)),
        pk=row.pk,
    ).update(last_heartbeat=wall)


def _status(lag: int, heartbeat: datetime | None, created_at: datetime) -> str:
    stall = timedelta(seconds=float(config("STALL_SECONDS")))
    now = timezone.now()
    seen = heartbeat is not None and now - heartbeat < stall
    if lag == 0:
        return "live" if seen else "idle"
    if seen or (heartbeat is None and now - created_at < stall):
        return "behind"
    return "stalled"


def _info(
    row: Subscription, lag_cap: int | None = None, scan: tuple | None = None
) -> SubscriptionInfo:
    """The info of ``row``; ``scan`` is a ``_scan`` from its checkpoint made already."""
    cap = lag_cap or int(config("LAG_CAP"))
    flt = _filter_of(row)
    events, scanned_to, reached = scan or _scan(flt, row.checkpoint, cap, cap * 10)
    counts = {"parked": 0, "retry": 0, "sent": 0}
    for status, count in _parked_counts(row):
        counts[status] = count
    lag = len(events) + counts["retry"] + counts["sent"]
    capped = not reached
    head = scanned_to  # the settled head when not capped, else where the count stopped
    push = None
    if row.push_kind == "webhook":
        push = {"kind": "webhook", "url": row.push_target}
    elif row.push_kind == "grpc":
        push = {"kind": "grpc", "target": row.push_target}
    return SubscriptionInfo(
        name=row.name,
        filter=flt,
        checkpoint=row.checkpoint,
        head_position=max(head, row.checkpoint),
        lag=lag,
        lag_capped=capped,
        status=_status(lag, row.last_heartbeat, row.created_at),
        last_heartbeat=row.last_heartbeat,
        parked=sum(counts.values()),
        max_attempts=row.max_attempts,
        push=push,
        created_at=row.created_at,
        retry_position=row.retry_position,
        retry_attempts=row.retry_attempts,
        last_error=row.last_error,
    )


def _parked_counts(row: Subscription) -> Iterable[tuple[str, int]]:
    from django.db.models import Count

    return (
        _parked().filter(subscription=row).values_list("status").annotate(n=Count("id")).order_by()
    )


def _parked_info(parked: ParkedEvent) -> ParkedInfo:
    return ParkedInfo(
        position=parked.position,
        stream_id=parked.stream_id,
        version=parked.version,
        name=parked.name,
        event_id=str(parked.event_id),
        error=parked.error,
        attempts=parked.attempts,
        parked_at=parked.parked_at,
        status=parked.status,
    )


# -- the service ----------------------------------------------------------------------------------


def create_subscription(
    name: str,
    *,
    filter: dict[str, Any] | SubscriptionFilter | None = None,
    start: Any = "beginning",
    max_attempts: int | None = None,
    push: dict[str, str] | None = None,
) -> SubscriptionInfo:
    """Create a subscription. ``start``: "beginning" (every event), "end" (only new events)
    or {"after": N}. Returns its info. Raises ValidationError, or AlreadyExists when the
    name is taken."""
    name = validate_subscription_name(name)
    flt = validate_filter(filter)
    attempts = DEFAULT_MAX_ATTEMPTS if max_attempts is None else max_attempts
    attempts = validate_int(attempts, "max_attempts", minimum=1, maximum=MAX_ATTEMPTS_LIMIT)
    endpoint = validate_push(push)
    checkpoint = _start_position(start, "start")
    try:
        with transaction.atomic(using=_alias()):
            row = _subs().create(
                name=name,
                filter_category=flt.category,
                filter_stream_id=flt.stream_id,
                filter_names=list(flt.names),
                checkpoint=checkpoint,
                max_attempts=attempts,
                push_kind=endpoint["kind"] if endpoint else "",
                push_target=(endpoint.get("url") or endpoint.get("target")) if endpoint else "",
            )
    except IntegrityError as exc:
        raise AlreadyExists(
            f"a subscription named {name!r} exists already; choose another name or delete it",
            subscription=name,
        ) from exc
    notifier.notify()  # a new push subscription: the worker looks at once
    return _info(row)


def get_subscription(name: str) -> SubscriptionInfo:
    """Return a subscription's info: checkpoint, head, lag, status, parked count. Raises
    NotFound."""
    return _info(_row(name))


def list_subscriptions(*, limit: int = 100, cursor: str | None = None) -> Page[SubscriptionInfo]:
    """Return a page of subscriptions ordered by name; continue with ``next_cursor``."""
    limit = validate_int(limit, "limit", minimum=1, maximum=1000)
    rows = _subs().order_by("name")
    if cursor is not None:
        rows = rows.filter(name__gt=validate_subscription_name(cursor, "cursor"))
    rows = list(rows[:limit])
    next_cursor = rows[-1].name if len(rows) == limit else None
    return Page([_info(row) for row in rows], next_cursor)


def delete_subscription(name: str) -> None:
    """Delete a subscription and its parked events. Raises NotFound."""
    deleted, _ = _subs().filter(name=validate_subscription_name(name)).delete()
    if not deleted:
        raise NotFound(f"subscription {name!r} does not exist", subscription=name)


def poll_batch(name: str, *, max: int = 100, include_retries: bool = True) -> Batch:
    """Return the next batch at once (possibly empty): events whose retry was asked for,
    then events after the checkpoint that match the filter, in position order. Records a
    heartbeat. Raises NotFound, ValidationError."""
    want = _limit(max, "max")
    row = _row(name)
    _heartbeat(row)
    events: list[RecordedEvent] = []
    if include_retries:
        retries = _parked().filter(subscription=row, status__in=RETRYING)
        positions = list(retries.order_by("position").values_list("position", flat=True)[:want])
        for position in positions:
            event = _event_at(position)
            if event is not None:
                events.append(event)
        if positions:
            # Only a delivered retry is settled by a cumulative ack; one asked for meanwhile
            # stays "retry" and comes again.
            retries.filter(status="retry", position__in=positions).update(status="sent")
    checkpoint = row.checkpoint
    if len(events) < want:
        found, scanned_to, _ = _scan(
            _filter_of(row), checkpoint, want - len(events), int(config("SCAN_BUDGET"))
        )
        events += found
        # Nothing matches up to the settled position scanned: move the checkpoint there
        # (compare-and-set) so the next call and the lag do not scan it again.
        if (
            not found
            and scanned_to > checkpoint
            and _subs()
            .filter(pk=row.pk, checkpoint=checkpoint, retry_position=row.retry_position)
            .update(checkpoint=scanned_to)
        ):
            checkpoint = scanned_to
    return Batch(events, checkpoint)


def next_batch(name: str, *, max: int = 100, wait: float = 0.0) -> Batch:
    """Return the next batch (see :func:`poll_batch`); when it is empty, wait up to ``wait``
    seconds (at most 30) for events, holding no database connection while waiting.
    Unacknowledged events are delivered again by the next call."""
    wait = validate_wait(wait)
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        generation = notifier.generation
        batch = poll_batch(name, max=max)
        remaining = deadline - time.monotonic()
        if batch.events or remaining <= 0 or notifier.closed:
            return batch
        release_connections()
        if not notifier.wait(generation, min(delay, remaining)):
            delay = min(delay * 2, float(config("POLL_MAX_SECONDS")))


def validate_wait(value: Any) -> float:
    """Seconds a long-poll may wait: a number from 0 to 30. Raises ValidationError."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValidationError("wait", "must be a number of seconds")
    if not 0 <= value <= MAX_WAIT_SECONDS:
        raise ValidationError("wait", f"must be between 0 and {MAX_WAIT_SECONDS:g} seconds")
    return float(value)


def ack(name: str, position: int) -> SubscriptionInfo:
    """Acknowledge every event at or below ``position`` (cumulative): the checkpoint moves
    there unless it is past it already; retries asked for at or below it are done. Raises
    NotFound, or ValidationError for a position beyond the feed's head."""
    cap = int(config("ACK_LAG_CAP"))
    ahead: list = []
    row = _acknowledge(name, position, lag_cap=cap, ahead=ahead)
    if ahead and row.checkpoint == position:
        # The read that proved the position visible counted the lag after it too.
        events, scanned_to, reached = ahead[0]
        events = [e for e in events if e.position > position]
        if len(events) > cap:
            events, reached = events[:cap], False
        return _info(row, cap, (events, scanned_to, reached))
    return _info(row, cap)


def _acknowledge(
    name: str, position: int, *, lag_cap: int = 0, ahead: list | None = None
) -> Subscription:
    position = _position(position)
    row = _row(name)
    if position > row.checkpoint:
        # One read of the matching events from the position on: it proves the position is
        # at or below the settled head, and (``ahead``) holds the lag after it.
        read = _scan(_filter_of(row), position - 1, lag_cap + 1, (lag_cap + 1) * 10)
        events, scanned_to, _ = read
        if not events and scanned_to < position:
            raise ValidationError("position", "is beyond the head of the feed")
        if ahead is not None:
            ahead.append(read)
    passed = Q(retry_position__lte=position)
    _subs().filter(pk=row.pk, checkpoint__lt=position).update(
        checkpoint=position,
        retry_position=Case(
            When(passed, then=Value(None)),
            default=F("retry_position"),
            output_field=models.BigIntegerField(null=True),
        ),
        retry_attempts=Case(
            When(passed, then=Value(0)),
            default=F("retry_attempts"),
            output_field=models.PositiveIntegerField(),
        ),
        last_heartbeat=timezone.now(),
    )
    settled = _parked().filter(subscription=row, status="sent", position__lte=position)
    if settled.exists():  # one query in the common case; a delete is a transaction
        settled.delete()
    notifier.notify()
    row.refresh_from_db()
    return row


def nack(name: str, position: int, error: str = "") -> NackResult:
    """Report that the event at ``position`` failed with ``error``. Events before it count
    as acknowledged. The event is delivered again by the next call, and parked (with the
    error; the checkpoint moves past it) after ``max_attempts`` failures. Also takes a
    failed retry of a parked event. Raises NotFound, ValidationError."""
    position = _position(position)
    if not isinstance(error, str):
        raise ValidationError("error", "must be a string")
    error = error[:MAX_ERROR_CHARS]
    row = _row(name)
    _heartbeat(row)
    if position <= row.checkpoint:
        return _nack_retry(row, position, error)
    event = _event_at(position)
    if event is None:
        raise ValidationError("position", "no event is stored at this position")
    for _ in range(CAS_ATTEMPTS):
        old = {
            "checkpoint": row.checkpoint,
            "retry_position": row.retry_position,
            "retry_attempts": row.retry_attempts,
        }
        if position <= row.checkpoint:
            raise ValidationError("position", "was acknowledged or parked meanwhile")
        attempts = row.retry_attempts + 1 if row.retry_position == position else 1
        parked = attempts >= row.max_attempts
        changes: dict[str, Any] = {"last_error": error}
        if parked:
            changes.update(checkpoint=position, retry_position=None, retry_attempts=0)
        else:
            changes.update(
                checkpoint=max(row.checkpoint, position - 1),
                retry_position=position,
                retry_attempts=attempts,
            )
        with transaction.atomic(using=_alias()):
            # Compare-and-set on the checkpoint and the retry state read above.
            if _subs().filter(pk=row.pk, **old).update(**changes):
                if parked:
                    _parked().update_or_create(
                        subscription=row,
                        position=position,
                        defaults=_parked_fields(event, error, attempts),
                    )
                notifier.notify()
                return NackResult(position, attempts, parked, changes["checkpoint"])
        row = _row(name)
    raise ValidationError("position", "the subscription kept changing; nack again")


def _parked_fields(event: RecordedEvent, error: str, attempts: int) -> dict[str, Any]:
    return {
        "stream_id": event.stream_id,
        "version": event.version,
        "name": event.name,
        "event_id": event.id,
        "error": error,
        "attempts": attempts,
        "status": "parked",
        "parked_at": timezone.now(),
    }


def _nack_retry(row: Subscription, position: int, error: str) -> NackResult:
    failed = F("attempts") + 1
    updated = (
        _parked()
        .filter(subscription=row, position=position, status__in=RETRYING)
        .update(
            attempts=failed,
            error=error,
            status=Case(
                When(attempts__gte=row.max_attempts - 1, then=Value("parked")),
                default=Value("retry"),
            ),
            parked_at=timezone.now(),
        )
    )
    if not updated:
        raise ValidationError(
            "position", "is at or below the checkpoint: already acknowledged or parked"
        )
    parked = _parked().get(subscription=row, position=position)
    notifier.notify()
    return NackResult(position, parked.attempts, parked.status == "parked", row.checkpoint)


def reset_subscription(name: str, to: Any) -> SubscriptionInfo:
    """Move the checkpoint to "beginning", "end" or {"after": N} (back or forward). Events
    after it are delivered again; parked events after it are dropped (they will be
    delivered again too). Raises NotFound, ValidationError."""
    row = _row(name)
    checkpoint = _start_position(to, "to")
    with transaction.atomic(using=_alias()):
        _subs().filter(pk=row.pk).update(
            checkpoint=checkpoint, retry_position=None, retry_attempts=0, last_error=""
        )
        _parked().filter(subscription=row, position__gt=checkpoint).delete()
    notifier.notify()
    row.refresh_from_db()
    return _info(row)


def list_parked(name: str, *, limit: int = 100, cursor: str | None = None) -> Page[ParkedInfo]:
    """Return a page of a subscription's parked events, oldest first. Raises NotFound."""
    row = _row(name)
    limit = validate_int(limit, "limit", minimum=1, maximum=1000)
    parked = _parked().filter(subscription=row).order_by("position")
    if cursor is not None:
        if not isinstance(cursor, str) or not cursor.isdigit() or len(cursor) > 20:
            raise ValidationError("cursor", "is not a cursor this list issued")
        parked = parked.filter(position__gt=int(cursor))
    items = [_parked_info(p) for p in parked[:limit]]
    next_cursor = str(items[-1].position) if len(items) == limit else None
    return Page(items, next_cursor)


def _parked_row(row: Subscription, position: int) -> ParkedEvent:
    position = _position(position)
    parked = _parked().filter(subscription=row, position=position).first()
    if parked is None:
        raise NotFound(
            f"subscription {row.name!r} has no parked event at position {position}",
            subscription=row.name,
            position=position,
        )
    return parked


def retry_parked(name: str, position: int) -> ParkedInfo:
    """Deliver a parked event once more: a pull consumer gets it first in its next batch,
    the push worker tries it now; ``max_attempts`` failures park it again. Raises NotFound."""
    row = _row(name)
    parked = _parked_row(row, position)
    _parked().filter(pk=parked.pk).update(status="retry", attempts=0)
    notifier.notify()
    parked.refresh_from_db()
    return _parked_info(parked)


def skip_parked(name: str, position: int) -> SubscriptionInfo:
    """Drop a parked event for good. Raises NotFound."""
    row = _row(name)
    parked = _parked_row(row, position)
    _parked().filter(pk=parked.pk).delete()
    return _info(row)


def replay_parked(name: str, position: int) -> SubscriptionInfo:
    """Set the checkpoint just before a parked event and drop the parked events from it on:
    it and every later event are delivered again. Raises NotFound."""
    row = _row(name)
    parked = _parked_row(row, position)
    with transaction.atomic(using=_alias()):
        _subs().filter(pk=row.pk).update(
            checkpoint=parked.position - 1, retry_position=None, retry_attempts=0
        )
        _parked().filter(subscription=row, position__gte=parked.position).delete()
    notifier.notify()
    row.refresh_from_db()
    return _info(row)


# -- for the push worker (streams/push.py) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PushTarget:
    """A push subscription a worker holds the lease of."""

    name: str
    kind: str
    target: str
    retry_position: int | None
    retry_attempts: int
    push_failures: int
    extra: dict[str, Any] = field(default_factory=dict)


def claim_push_subscriptions(owner: str, *, limit: int = 100) -> list[PushTarget]:
    """Lease the push subscriptions that are due (not backing off) and not leased by another
    worker; each lease is one conditional UPDATE, so two workers never push the same
    subscription at once. Returns what this worker holds now."""
    now = timezone.now()
    lease = timedelta(seconds=float(config("PUSH_LEASE_SECONDS")))
    free = (
        Q(push_lease_until__isnull=True) | Q(push_lease_until__lt=now) | Q(push_lease_owner=owner)
    )
    due = Q(push_next_attempt_at__isnull=True) | Q(push_next_attempt_at__lte=now)
    candidates = _subs().exclude(push_kind="").filter(free & due).order_by("name")[:limit]
    held = []
    for row in candidates:
        claimed = (
            _subs()
            .filter(free, pk=row.pk)
            .exclude(push_kind="")
            .update(push_lease_owner=owner, push_lease_until=now + lease)
        )
        if claimed:
            held.append(
                PushTarget(
                    row.name,
                    row.push_kind,
                    row.push_target,
                    row.retry_position,
                    row.retry_attempts,
                    row.push_failures,
                )
            )
    return held


def release_push_leases(owner: str) -> None:
    """Give up every lease ``owner`` holds (a stopping worker)."""
    _subs().filter(push_lease_owner=owner).update(push_lease_owner="", push_lease_until=None)


def record_push_outcome(name: str, *, reached: bool, backoff: float) -> None:
    """After a push attempt: ``reached`` says a handler answered (a heartbeat); ``backoff``
    seconds (0: none) delay the next attempt; unreachable attempts in a row are counted."""
    now = timezone.now()
    changes: dict[str, Any] = {
        "push_next_attempt_at": now + timedelta(seconds=backoff) if backoff > 0 else None
    }
    if reached:
        changes.update(push_failures=0, last_heartbeat=now)
    else:
        changes["push_failures"] = F("push_failures") + 1
    _subs().filter(name=name).update(**changes)


def pending_retries(name: str, *, limit: int = 100) -> list[RecordedEvent]:
    """The events of a subscription whose retry was asked for, oldest first."""
    row = _row(name)
    positions = (
        _parked()
        .filter(subscription=row, status__in=RETRYING)
        .order_by("position")
        .values_list("position", flat=True)[:limit]
    )
    return [e for e in (_event_at(p) for p in positions) if e is not None]


def settle_retry(name: str, position: int) -> bool:
    """A retried parked event was handled: forget it. False when it is no longer a retry."""
    row = _row(name)
    deleted, _ = _parked().filter(subscription=row, position=position, status__in=RETRYING).delete()
    return bool(deleted)


def acknowledge(name: str, position: int) -> int:
    """As :func:`ack` without computing the lag; returns the checkpoint."""
    return _acknowledge(name, position).checkpoint


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a streaming delivery (gRPC Subscribe) sends next: ``events`` after ``start`` (the
    stream's cursor, moved back once per nack to redeliver the failed event), the retries
    asked for, the checkpoint, ``head`` (the settled position scanned to, when nothing more
    matched) and ``nack_mark`` (pass it back so one nack moves the cursor back only once)."""

    events: list[RecordedEvent]
    retries: list[tuple[RecordedEvent, bool]]  # True: due (asked for or failed again)
    start: int
    checkpoint: int
    head: int | None
    nack_mark: tuple[int, int] | None


def deliver_after(
    name: str,
    after: int | None,
    *,
    max: int = 100,
    nack_mark: tuple[int, int] | None = None,
) -> Delivery:
    """The events a streaming consumer gets after its cursor ``after`` (None: from the
    checkpoint): never below the checkpoint, and from just before a nacked event when a new
    nack (not ``nack_mark``) happened; ``max`` 0 reads no events (the stream's window is
    full and it only needs the checkpoint). Records a heartbeat. Raises NotFound,
    ValidationError."""
    want = 0 if max == 0 else _limit(max, "max")
    row = _row(name)
    _heartbeat(row)
    start = row.checkpoint if after is None else builtins.max(after, row.checkpoint)
    mark = None
    if row.retry_position is not None:
        mark = (row.retry_position, row.retry_attempts)
        if mark != nack_mark and row.retry_position <= start:
            start = row.retry_position - 1
    pending = list(
        _parked()
        .filter(subscription=row, status__in=RETRYING)
        .order_by("position")
        .values_list("position", "status")[:100]
    )
    due = [p for p, status in pending if status == "retry"]
    retries = [(e, p in due) for e, p in ((_event_at(p), p) for p, _ in pending) if e]
    if due:  # the stream sends these now; only then does a cumulative ack settle them
        _parked().filter(subscription=row, status="retry", position__in=due).update(status="sent")
    if want == 0:
        return Delivery([], retries, start, row.checkpoint, None, mark)
    events, scanned_to, reached = _scan(_filter_of(row), start, want, int(config("SCAN_BUDGET")))
    head = scanned_to if reached and not events else None
    return Delivery(events, retries, start, row.checkpoint, head, mark)
