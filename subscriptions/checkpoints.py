"""Create, read, delete, poll, acknowledge, nack and reset subscriptions. Rows change only
through conditional UPDATEs (compare-and-set on the checkpoint and the retry state), never
read-then-write."""

from __future__ import annotations

import time
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from streams.exceptions import AlreadyExists, NotFound, ValidationError
from streams.records import Page, RecordedEvent
from streams.validation import validate_int
from subscriptions.conf import (
    CAS_ATTEMPTS,
    DEFAULT_MAX_ATTEMPTS,
    MAX_ATTEMPTS_LIMIT,
    MAX_ERROR_CHARS,
    RETRYING,
    config,
)
from subscriptions.feed import event_at, filter_of, scan_feed
from subscriptions.models import Subscription
from subscriptions.notifier import notifier, release_connections
from subscriptions.records import Batch, NackResult, SubscriptionFilter, SubscriptionInfo
from subscriptions.rows import (
    db_alias,
    get_row,
    heartbeat,
    info_of,
    parked_counts_of,
    parked_rows,
    subscription_rows,
)
from subscriptions.validation import (
    validate_filter,
    validate_limit,
    validate_position,
    validate_push,
    validate_start_position,
    validate_subscription_name,
    validate_wait,
)


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
    checkpoint = validate_start_position(start, "start")
    try:
        with transaction.atomic(using=db_alias()):
            row = subscription_rows().create(
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
    return info_of(row)


def get_subscription(name: str) -> SubscriptionInfo:
    """Return a subscription's info: checkpoint, head, lag, status, parked count. Raises
    NotFound."""
    return info_of(get_row(name))


def list_subscriptions(*, limit: int = 100, cursor: str | None = None) -> Page[SubscriptionInfo]:
    """Return a page of subscriptions ordered by name; continue with ``next_cursor``."""
    limit = validate_int(limit, "limit", minimum=1, maximum=1000)
    rows = subscription_rows().order_by("name")
    if cursor is not None:
        rows = rows.filter(name__gt=validate_subscription_name(cursor, "cursor"))
    rows = list(rows[:limit])
    next_cursor = rows[-1].name if len(rows) == limit else None
    counts = parked_counts_of(rows)  # one query for the page, not one per subscription
    return Page([info_of(row, parked_counts=counts[row.pk]) for row in rows], next_cursor)


def delete_subscription(name: str) -> None:
    """Delete a subscription and its parked events. Raises NotFound."""
    deleted, _ = subscription_rows().filter(name=validate_subscription_name(name)).delete()
    if not deleted:
        raise NotFound(f"subscription {name!r} does not exist", subscription=name)


def poll_batch(name: str, *, max: int = 100, include_retries: bool = True) -> Batch:
    """Return the next batch at once (possibly empty): events whose retry was asked for,
    then events after the checkpoint that match the filter, in position order. Records a
    heartbeat. Raises NotFound, ValidationError."""
    want = validate_limit(max, "max")
    row = get_row(name)
    heartbeat(row)
    if row.paused:  # the consumer is alive (heartbeat) and gets nothing until resumed
        return Batch([], row.checkpoint)
    events: list[RecordedEvent] = []
    if include_retries:
        retries = parked_rows().filter(subscription=row, status__in=RETRYING)
        positions = list(retries.order_by("position").values_list("position", flat=True)[:want])
        for position in positions:
            event = event_at(position)
            if event is not None:
                events.append(event)
        if positions:
            # Only a delivered retry is settled by a cumulative ack; one asked for meanwhile
            # stays "retry" and comes again.
            retries.filter(status="retry", position__in=positions).update(status="sent")
    checkpoint = row.checkpoint
    if len(events) < want:
        found, scanned_to, _ = scan_feed(
            filter_of(row), checkpoint, want - len(events), int(config("SCAN_BUDGET"))
        )
        events += found
        # Nothing matches up to the settled position scanned: move the checkpoint there
        # (compare-and-set) so the next call and the lag do not scan it again.
        if (
            not found
            and scanned_to > checkpoint
            and subscription_rows()
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


def ack(name: str, position: int) -> SubscriptionInfo:
    """Acknowledge every event at or below ``position`` (cumulative): the checkpoint moves
    there unless it is past it already; retries asked for at or below it are done. Raises
    NotFound, or ValidationError for a position beyond the feed's head."""
    cap = int(config("ACK_LAG_CAP"))
    ahead: list = []
    row = move_checkpoint(name, position, lag_cap=cap, ahead=ahead)
    if ahead and row.checkpoint == position:
        # The read that proved the position visible counted the lag after it too.
        events, scanned_to, reached = ahead[0]
        events = [e for e in events if e.position > position]
        if len(events) > cap:
            events, reached = events[:cap], False
        return info_of(row, cap, (events, scanned_to, reached))
    return info_of(row, cap)


def move_checkpoint(
    name: str, position: int, *, lag_cap: int = 0, ahead: list | None = None
) -> Subscription:
    position = validate_position(position)
    row = get_row(name)
    if position > row.checkpoint:
        # One read of the matching events from the position on: it proves the position is
        # at or below the settled head, and (``ahead``) holds the lag after it.
        read = scan_feed(filter_of(row), position - 1, lag_cap + 1, (lag_cap + 1) * 10)
        events, scanned_to, _ = read
        if not events and scanned_to < position:
            raise ValidationError("position", "is beyond the head of the feed")
        if ahead is not None:
            ahead.append(read)
    passed = Q(retry_position__lte=position)
    subscription_rows().filter(pk=row.pk, checkpoint__lt=position).update(
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
    settled = parked_rows().filter(subscription=row, status="sent", position__lte=position)
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
    position = validate_position(position)
    if not isinstance(error, str):
        raise ValidationError("error", "must be a string")
    error = error[:MAX_ERROR_CHARS]
    row = get_row(name)
    heartbeat(row)
    if position <= row.checkpoint:
        return _nack_retry(row, position, error)
    event = event_at(position)
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
        with transaction.atomic(using=db_alias()):
            # Compare-and-set on the checkpoint and the retry state read above.
            if subscription_rows().filter(pk=row.pk, **old).update(**changes):
                if parked:
                    parked_rows().update_or_create(
                        subscription=row,
                        position=position,
                        defaults=_parked_fields(event, error, attempts),
                    )
                notifier.notify()
                return NackResult(position, attempts, parked, changes["checkpoint"])
        row = get_row(name)
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
        parked_rows()
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
    parked = parked_rows().get(subscription=row, position=position)
    notifier.notify()
    return NackResult(position, parked.attempts, parked.status == "parked", row.checkpoint)


def reset_subscription(name: str, to: Any) -> SubscriptionInfo:
    """Move the checkpoint to "beginning", "end", {"after": N} or {"at": "<ISO 8601 time>"}
    (just before the first event recorded after that time), back or forward. Events after
    it are delivered again; parked events after it are dropped (they will be delivered
    again too). Raises NotFound, ValidationError."""
    row = get_row(name)
    checkpoint = validate_start_position(to, "to", allow_time=True)
    with transaction.atomic(using=db_alias()):
        subscription_rows().filter(pk=row.pk).update(
            checkpoint=checkpoint, retry_position=None, retry_attempts=0, last_error=""
        )
        parked_rows().filter(subscription=row, position__gt=checkpoint).delete()
    notifier.notify()
    row.refresh_from_db()
    return info_of(row)


def pause_subscription(name: str) -> SubscriptionInfo:
    """Pause a subscription: pulls get empty batches, the push worker and gRPC streams send
    nothing, until :func:`resume_subscription`. The checkpoint stays. Raises NotFound."""
    return _set_paused(name, True)


def resume_subscription(name: str) -> SubscriptionInfo:
    """Resume a paused subscription: delivery goes on from its checkpoint. Raises NotFound."""
    return _set_paused(name, False)


def _set_paused(name: str, paused: bool) -> SubscriptionInfo:
    row = get_row(name)
    subscription_rows().filter(pk=row.pk).update(paused=paused)
    notifier.notify()  # waiting long-polls and the push worker look again
    row.refresh_from_db()
    return info_of(row)
