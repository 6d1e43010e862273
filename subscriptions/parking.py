"""Parked events: list them; retry, skip or replay one; retry or skip every one up to a
position; and who else is held up by the same event."""

from __future__ import annotations

from django.db import transaction

from streams.exceptions import NotFound, ValidationError
from streams.records import Page
from streams.validation import validate_int
from subscriptions.models import ParkedEvent, Subscription
from subscriptions.notifier import notifier
from subscriptions.records import ParkedInfo, StuckSubscriber, SubscriptionInfo
from subscriptions.rows import (
    db_alias,
    get_row,
    info_of,
    parked_info_of,
    parked_rows,
    subscription_rows,
)
from subscriptions.validation import validate_position


def list_parked(name: str, *, limit: int = 100, cursor: str | None = None) -> Page[ParkedInfo]:
    """Return a page of a subscription's parked events, oldest first. Raises NotFound."""
    row = get_row(name)
    limit = validate_int(limit, "limit", minimum=1, maximum=1000)
    parked = parked_rows().filter(subscription=row).order_by("position")
    if cursor is not None:
        if not isinstance(cursor, str) or not cursor.isdigit() or len(cursor) > 20:
            raise ValidationError("cursor", "is not a cursor this list issued")
        parked = parked.filter(position__gt=int(cursor))
    items = [parked_info_of(p) for p in parked[:limit]]
    next_cursor = str(items[-1].position) if len(items) == limit else None
    return Page(items, next_cursor)


def _parked_row(row: Subscription, position: int) -> ParkedEvent:
    position = validate_position(position)
    parked = parked_rows().filter(subscription=row, position=position).first()
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
    row = get_row(name)
    parked = _parked_row(row, position)
    parked_rows().filter(pk=parked.pk).update(status="retry", attempts=0)
    notifier.notify()
    parked.refresh_from_db()
    return parked_info_of(parked)


def skip_parked(name: str, position: int) -> SubscriptionInfo:
    """Drop a parked event for good. Raises NotFound."""
    row = get_row(name)
    parked = _parked_row(row, position)
    parked_rows().filter(pk=parked.pk).delete()
    return info_of(row)


def replay_parked(name: str, position: int) -> SubscriptionInfo:
    """Set the checkpoint just before a parked event and drop the parked events from it on:
    it and every later event are delivered again. Raises NotFound."""
    row = get_row(name)
    parked = _parked_row(row, position)
    with transaction.atomic(using=db_alias()):
        subscription_rows().filter(pk=row.pk).update(
            checkpoint=parked.position - 1, retry_position=None, retry_attempts=0
        )
        parked_rows().filter(subscription=row, position__gte=parked.position).delete()
    notifier.notify()
    row.refresh_from_db()
    return info_of(row)


def retry_parked_through(name: str, position: int) -> int:
    """Ask for one more delivery of every parked event at or below ``position`` (as
    :func:`retry_parked` each); return how many. Raises NotFound."""
    row = get_row(name)
    position = validate_position(position)
    count = (
        parked_rows()
        .filter(subscription=row, position__lte=position, status="parked")
        .update(status="retry", attempts=0)
    )
    if count:
        notifier.notify()
    return count


def skip_parked_through(name: str, position: int) -> int:
    """Drop every parked event at or below ``position`` for good; return how many. Raises
    NotFound."""
    row = get_row(name)
    position = validate_position(position)
    count, _ = parked_rows().filter(subscription=row, position__lte=position).delete()
    return count


def stuck_behind(position: int) -> list[StuckSubscriber]:
    """The subscriptions held up by the event at ``position``: those that parked it, and
    those retrying it now (their checkpoint waits just before it). Two queries."""
    position = validate_position(position)
    stuck = [
        StuckSubscriber(p.subscription.name, "parked", p.attempts, p.status)
        for p in parked_rows().filter(position=position).select_related("subscription")
    ]
    stuck += [
        StuckSubscriber(row.name, "retrying", row.retry_attempts, "retry")
        for row in subscription_rows().filter(retry_position=position)
    ]
    return sorted(stuck, key=lambda s: s.name)
