"""The subscription rows: lookups, heartbeats, status and the info built from a row."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from streams.exceptions import NotFound
from subscriptions.conf import config
from subscriptions.feed import filter_of, scan_feed
from subscriptions.models import ParkedEvent, Subscription
from subscriptions.records import ParkedInfo, SubscriptionInfo
from subscriptions.validation import validate_subscription_name


def db_alias() -> str:
    # Subscriptions live beside the events (one database, one backup); on a store that is
    # not a Django database (DynamoDB) they live in Django's default database.
    from streams.backends import get_event_store

    return getattr(get_event_store(), "using", "default")


def subscription_rows():
    return Subscription.objects.using(db_alias())


def parked_rows():
    return ParkedEvent.objects.using(db_alias())


def get_row(name: str) -> Subscription:
    name = validate_subscription_name(name)
    row = subscription_rows().filter(name=name).first()
    if row is None:
        raise NotFound(f"subscription {name!r} does not exist", subscription=name)
    return row


_beats: dict[tuple, float] = {}
_beats_lock = threading.Lock()


def heartbeat(row: Subscription) -> None:
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
    subscription_rows().filter(
        Q(last_heartbeat__isnull=True) | Q(last_heartbeat__lt=wall - timedelta(seconds=interval)),
        pk=row.pk,
    ).update(last_heartbeat=wall)


def _status(lag: int, heartbeat: datetime | None, created_at: datetime, paused: bool) -> str:
    if paused:
        return "paused"  # not stalled: an operator stopped it on purpose
    stall = timedelta(seconds=float(config("STALL_SECONDS")))
    now = timezone.now()
    seen = heartbeat is not None and now - heartbeat < stall
    if lag == 0:
        return "live" if seen else "idle"
    if seen or (heartbeat is None and now - created_at < stall):
        return "behind"
    return "stalled"


def info_of(
    row: Subscription,
    lag_cap: int | None = None,
    scan: tuple | None = None,
    parked_counts: Iterable[tuple[str, int]] | None = None,
) -> SubscriptionInfo:
    """The info of ``row``; ``scan`` is a ``scan_feed`` from its checkpoint made already,
    ``parked_counts`` its (status, count) pairs read already (see :func:`parked_counts_of`)."""
    cap = lag_cap or int(config("LAG_CAP"))
    flt = filter_of(row)
    events, scanned_to, reached = scan or scan_feed(flt, row.checkpoint, cap, cap * 10)
    counts = {"parked": 0, "retry": 0, "sent": 0}
    for status, count in _parked_counts(row) if parked_counts is None else parked_counts:
        counts[status] = count
    lag = len(events) + counts["retry"] + counts["sent"]
    capped = not reached
    head = scanned_to  # the settled head when not capped, else where the count stopped
    push = None
    if row.push_kind == "webhook":
        push = {"kind": "webhook", "url": _without_credentials(row.push_target)}
    elif row.push_kind == "grpc":
        push = {"kind": "grpc", "target": row.push_target}
    return SubscriptionInfo(
        name=row.name,
        filter=flt,
        checkpoint=row.checkpoint,
        head_position=max(head, row.checkpoint),
        lag=lag,
        lag_capped=capped,
        status=_status(lag, row.last_heartbeat, row.created_at, row.paused),
        last_heartbeat=row.last_heartbeat,
        parked=sum(counts.values()),
        max_attempts=row.max_attempts,
        push=push,
        created_at=row.created_at,
        retry_position=row.retry_position,
        retry_attempts=row.retry_attempts,
        last_error=row.last_error,
        paused=row.paused,
    )


def _parked_counts(row: Subscription) -> Iterable[tuple[str, int]]:
    from django.db.models import Count

    return (
        parked_rows()
        .filter(subscription=row)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )


def parked_counts_of(rows: list[Subscription]) -> dict[int, list[tuple[str, int]]]:
    """The (status, count) pairs of parked events of each of ``rows`` (by pk), in one query."""
    from django.db.models import Count

    counts: dict[int, list[tuple[str, int]]] = {row.pk: [] for row in rows}
    found = (
        parked_rows()
        .filter(subscription__in=[row.pk for row in rows])
        .values_list("subscription", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for pk, status, n in found:
        counts[pk].append((status, n))
    return counts


def parked_info_of(parked: ParkedEvent) -> ParkedInfo:
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


def _without_credentials(url: str) -> str:
    """``url`` with any user:password@ (accepted before the outbound policy) masked, so a
    reader of the subscription never sees them."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}{sep}***@{authority.rpartition('@')[2]}{slash}{path}"
