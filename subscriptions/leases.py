"""What the push worker and streaming deliveries (gRPC Subscribe) need: leases on push
subscriptions, their outcomes and retries, and the next delivery after a cursor."""

from __future__ import annotations

import builtins
from datetime import timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from streams.records import RecordedEvent
from subscriptions.checkpoints import move_checkpoint
from subscriptions.conf import RETRYING, config
from subscriptions.feed import event_at, filter_of, scan_feed
from subscriptions.records import Delivery, PushTarget
from subscriptions.rows import get_row, heartbeat, parked_rows, subscription_rows
from subscriptions.validation import validate_limit


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
    candidates = (
        subscription_rows()
        .exclude(push_kind="")
        .filter(free & due, paused=False)
        .order_by("name")[:limit]
    )
    held = []
    for row in candidates:
        claimed = (
            subscription_rows()
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
    subscription_rows().filter(push_lease_owner=owner).update(
        push_lease_owner="", push_lease_until=None
    )


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
    subscription_rows().filter(name=name).update(**changes)


def pending_retries(name: str, *, limit: int = 100) -> list[RecordedEvent]:
    """The events of a subscription whose retry was asked for, oldest first."""
    row = get_row(name)
    positions = (
        parked_rows()
        .filter(subscription=row, status__in=RETRYING)
        .order_by("position")
        .values_list("position", flat=True)[:limit]
    )
    return [e for e in (event_at(p) for p in positions) if e is not None]


def settle_retry(name: str, position: int) -> bool:
    """A retried parked event was handled: forget it. False when it is no longer a retry."""
    row = get_row(name)
    deleted, _ = (
        parked_rows().filter(subscription=row, position=position, status__in=RETRYING).delete()
    )
    return bool(deleted)


def acknowledge(name: str, position: int) -> int:
    """As :func:`ack` without computing the lag; returns the checkpoint."""
    return move_checkpoint(name, position).checkpoint


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
    want = 0 if max == 0 else validate_limit(max, "max")
    row = get_row(name)
    heartbeat(row)
    if row.paused:  # the stream stays open and quiet (its cursor kept) until resumed
        cursor = row.checkpoint if after is None else builtins.max(after, row.checkpoint)
        return Delivery([], [], cursor, row.checkpoint, None, nack_mark)
    start = row.checkpoint if after is None else builtins.max(after, row.checkpoint)
    mark = None
    if row.retry_position is not None:
        mark = (row.retry_position, row.retry_attempts)
        if mark != nack_mark and row.retry_position <= start:
            start = row.retry_position - 1
    pending = list(
        parked_rows()
        .filter(subscription=row, status__in=RETRYING)
        .order_by("position")
        .values_list("position", "status")[:100]
    )
    due = [p for p, status in pending if status == "retry"]
    retries = [(e, p in due) for e, p in ((event_at(p), p) for p, _ in pending) if e]
    if due:  # the stream sends these now; only then does a cumulative ack settle them
        parked_rows().filter(subscription=row, status="retry", position__in=due).update(
            status="sent"
        )
    if want == 0:
        return Delivery([], retries, start, row.checkpoint, None, mark)
    events, scanned_to, reached = scan_feed(filter_of(row), start, want, int(config("SCAN_BUDGET")))
    head = scanned_to if reached and not events else None
    return Delivery(events, retries, start, row.checkpoint, head, mark)
