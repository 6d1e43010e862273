"""The end of a stream's life: delete (soft or hard), truncate, retention and scavenging.

What each does to reads, appends, positions and snapshots is in docs/concepts/lifecycle.md.
Like streams/services.py, every function validates its input, calls the configured backend
and raises only errors of streams/exceptions.py."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from streams.backends import get_event_store
from streams.backends.base import BaseEventStore, check_readable
from streams.conf import flipbook_settings
from streams.exceptions import NotFound, StreamDeleted, ValidationError
from streams.models import StreamRetention
from streams.records import NEUTRAL, StreamInfo, StreamQuery
from streams.signals import stream_truncated
from streams.validation import validate_category, validate_int, validate_stream_id

logger = logging.getLogger("flipbook.lifecycle")


def delete_stream(stream_id: str, *, hard: bool = False) -> StreamInfo:
    """Delete a stream. Soft: reads answer NotFound until an append starts the stream again,
    its versions continuing after the old last one. Hard: a tombstone, and every later read
    or append answers StreamDeleted. The events stay in the all-feed until scavenged; the
    stream's snapshots are dropped now. Returns the head as it was before the delete.
    Raises ValidationError, NotFound (no such stream, or soft-deleting one deleted already),
    StreamDeleted (hard-deleted already) or Unavailable."""
    stream_id = validate_stream_id(stream_id)
    if not isinstance(hard, bool):
        raise ValidationError("hard", "must be true or false")
    head = get_event_store().delete_stream(stream_id, hard=hard)
    if hard:
        # A tombstone never holds events again: its own retention policy has nothing to do.
        StreamRetention.objects.filter(stream_id=stream_id).delete()
    stream_truncated.send(sender=delete_stream, stream_id=stream_id, before=None)
    return head


def truncate_stream(stream_id: str, before: int) -> StreamInfo:
    """Hide the events of a stream below ``before``: a version (a position on version-neutral
    streams). A read from a lower version answers what remains. Truncation never moves back;
    the events stay in the all-feed until scavenged; snapshots below ``before`` are dropped.
    Returns the new head. Raises ValidationError (``before`` past one after the last
    event), NotFound, StreamDeleted or Unavailable."""
    stream_id = validate_stream_id(stream_id)
    before = validate_int(before, "before", minimum=1)
    head = get_event_store().truncate_stream(stream_id, before)
    if head.kind != NEUTRAL:
        stream_truncated.send(sender=truncate_stream, stream_id=stream_id, before=before)
    return head


@dataclass
class ScavengeReport:
    """What a scavenge did."""

    truncated_streams: int = 0  # streams whose retention moved their truncation point
    scavenged_streams: int = 0  # streams that lost events for good
    removed_events: int = 0
    # False when the run stopped at its ``limit``: more may be left to remove.
    complete: bool = True

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "truncated_streams": self.truncated_streams,
            "scavenged_streams": self.scavenged_streams,
            "removed_events": self.removed_events,
            "complete": self.complete,
        }


Progress = Callable[[str, ScavengeReport], object]

# The most events one scavenge request over the API removes (REST and gRPC): a scavenge of
# a large store is several requests (the CLI repeats until one is complete), none of them
# holding a server worker long.
MAX_SCAVENGE_REQUEST = 100_000


def scavenge(
    *,
    batch: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
) -> ScavengeReport:
    """Apply retention (each stream's own policy, else FLIPBOOK_RETENTION of its category)
    by truncating streams, then remove for good the events that reads no longer show: below
    each truncation point, and every event of a hard-deleted stream. Works in writes of at
    most ``batch`` events (default FLIPBOOK_SCAVENGE_BATCH), each a short transaction of its
    own, so appends never wait long. With ``limit``, stops once that many events are
    removed (``complete`` False in the report: run it again for the rest). Positions of what
    remains never change and are never reused. ``progress`` is called with the stream id and
    the report so far after each write. Raises ValidationError or Unavailable."""
    batch = validate_int(
        flipbook_settings.SCAVENGE_BATCH if batch is None else batch, "batch", minimum=1
    )
    if limit is not None:
        limit = validate_int(limit, "limit", minimum=1)
    now = now or datetime.now(UTC)
    store = get_event_store()
    report = ScavengeReport()
    own_policies = stream_retention_policies()
    for category, policy in retention_policies().items():
        for head in store.iter_heads(category=category):
            if head.stream_id not in own_policies:  # a stream's own policy replaces this one
                _apply_retention(store, head, policy, now, report)
    for stream_id, policy in own_policies.items():
        own_head = store.head(stream_id)
        if own_head is not None and own_head.deleted is None:
            _apply_retention(store, own_head, policy, now, report)
    after: str | None = None
    while True:
        candidates = store.scavenge_candidates(after=after, limit=200)
        for stream_id in candidates:
            removed_here = 0
            while True:
                size = batch if limit is None else min(batch, limit - report.removed_events)
                if size <= 0:
                    report.complete = False
                    if removed_here:
                        report.scavenged_streams += 1
                    return report
                removed = store.scavenge_stream(stream_id, size)
                if not removed:
                    break
                removed_here += removed
                report.removed_events += removed
                if progress is not None:
                    progress(stream_id, report)
            if removed_here:
                report.scavenged_streams += 1
        if len(candidates) < 200:
            return report
        after = candidates[-1]


def _apply_retention(
    store: BaseEventStore,
    head: StreamInfo,
    policy: dict[str, int],
    now: datetime,
    report: ScavengeReport,
) -> None:
    cut = retention_cutoff(store, head, policy, now)
    if cut > head.truncate_before:
        try:
            truncate_stream(head.stream_id, cut)
        except (NotFound, StreamDeleted):
            return  # deleted meanwhile: the scavenge takes its events
        report.truncated_streams += 1


def retention_policies() -> dict[str, dict[str, int]]:
    """FLIPBOOK_RETENTION, validated: {category: {"max_age": seconds, "max_count": n}}."""
    setting: Any = flipbook_settings.RETENTION
    if not isinstance(setting, dict):
        raise ValidationError("FLIPBOOK_RETENTION", "must be a dict of category: policy")
    policies: dict[str, dict[str, int]] = {}
    for category, policy in setting.items():
        category = validate_category(category, "FLIPBOOK_RETENTION")
        if not isinstance(policy, dict) or not policy or set(policy) - {"max_age", "max_count"}:
            raise ValidationError(
                "FLIPBOOK_RETENTION",
                f"the policy of {category!r} must be a dict with max_age and/or max_count",
            )
        policies[category] = {
            key: validate_int(value, f"FLIPBOOK_RETENTION[{category!r}].{key}", minimum=1)
            for key, value in policy.items()
        }
    return policies


@dataclass(frozen=True)
class RetentionPolicy:
    """The retention that applies to a stream: its own policy (``source`` "stream"), else
    its category's in FLIPBOOK_RETENTION ("category"), else none ("none")."""

    stream_id: str
    source: str
    max_age: int | None = None
    max_count: int | None = None
    category: str | None = None
    updated_at: datetime | None = None  # when the stream's own policy was set

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "source": self.source,
            "max_age": self.max_age,
            "max_count": self.max_count,
            "category": self.category,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


# A policy's numbers fit a signed 64-bit column (max_age is seconds: 2**53 s is ages).
MAX_RETENTION = 2**53


def set_stream_retention(
    stream_id: str, *, max_age: int | None = None, max_count: int | None = None
) -> RetentionPolicy:
    """Give a stream its own retention policy (replacing any it had): keep events at most
    ``max_age`` seconds after they were recorded and/or only the newest ``max_count``. It
    replaces the policy of the stream's category in FLIPBOOK_RETENTION; the next scavenge
    applies it. The stream need not exist yet. Returns the policy. Raises ValidationError
    (no key given, or one not a positive integer) or StreamDeleted (a tombstone)."""
    stream_id, max_age, max_count, head = _checked_policy(stream_id, max_age, max_count)
    row, _ = StreamRetention.objects.update_or_create(
        stream_id=stream_id, defaults={"max_age": max_age, "max_count": max_count}
    )
    return _own_policy(row, head)


def check_stream_retention(stream_id: str, max_age: Any, max_count: Any) -> None:
    """Raise what :func:`set_stream_retention` would refuse these arguments with
    (ValidationError, StreamDeleted), storing nothing: for forms that validate first."""
    _checked_policy(stream_id, max_age, max_count)


def _checked_policy(
    stream_id: str, max_age: Any, max_count: Any
) -> tuple[str, int | None, int | None, StreamInfo | None]:
    stream_id = validate_stream_id(stream_id)
    if max_age is None and max_count is None:
        raise ValidationError("retention", "give max_age, max_count or both")
    if max_age is not None:
        max_age = validate_int(max_age, "max_age", minimum=1, maximum=MAX_RETENTION)
    if max_count is not None:
        max_count = validate_int(max_count, "max_count", minimum=1, maximum=MAX_RETENTION)
    head = get_event_store().head(stream_id)
    if head is not None and head.deleted == "hard":
        # A soft-deleted stream may start again and keep its policy; a tombstone cannot.
        check_readable(stream_id, head.deleted)
    return stream_id, max_age, max_count, head


def clear_stream_retention(stream_id: str) -> RetentionPolicy:
    """Remove a stream's own retention policy: its category's applies again. Returns the
    policy that applies now. Raises ValidationError or NotFound (it had none)."""
    stream_id = validate_stream_id(stream_id)
    removed, _ = StreamRetention.objects.filter(stream_id=stream_id).delete()
    if not removed:
        raise NotFound(f"stream {stream_id!r} has no retention policy of its own")
    return stream_retention(stream_id)


def stream_retention(stream_id: str) -> RetentionPolicy:
    """The retention policy that applies to a stream (its own, else its category's, else
    none). Raises ValidationError."""
    stream_id = validate_stream_id(stream_id)
    head = get_event_store().head(stream_id)
    row = StreamRetention.objects.filter(stream_id=stream_id).first()
    if row is not None:
        return _own_policy(row, head)
    category = head.category if head is not None else None
    policy = retention_policies().get(category) if category else None
    if policy is None:
        return RetentionPolicy(stream_id, "none", category=category)
    return RetentionPolicy(
        stream_id,
        "category",
        max_age=policy.get("max_age"),
        max_count=policy.get("max_count"),
        category=category,
    )


def stream_retention_policies() -> dict[str, dict[str, int]]:
    """Every stream's own retention policy: {stream_id: {"max_age": s, "max_count": n}}."""
    policies: dict[str, dict[str, int]] = {}
    for stream_id, max_age, max_count in StreamRetention.objects.values_list(
        "stream_id", "max_age", "max_count"
    ).iterator(chunk_size=2000):
        policy = {}
        if max_age is not None:
            policy["max_age"] = max_age
        if max_count is not None:
            policy["max_count"] = max_count
        policies[stream_id] = policy
    return policies


def _own_policy(row: StreamRetention, head: StreamInfo | None) -> RetentionPolicy:
    return RetentionPolicy(
        row.stream_id,
        "stream",
        max_age=row.max_age,
        max_count=row.max_count,
        category=head.category if head is not None else None,
        updated_at=row.updated_at,
    )


def retention_cutoff(
    store: BaseEventStore, head: StreamInfo, policy: dict[str, int], now: datetime
) -> int:
    """The truncation point ``policy`` asks for on the stream of ``head`` (an ordinal)."""
    neutral = head.kind == NEUTRAL
    after_last = (
        max(head.last_position + 1, head.truncate_before) if neutral else (head.version or 0) + 1
    )
    cut = head.truncate_before
    max_count = policy.get("max_count")
    if max_count is not None:
        if not neutral:
            cut = max(cut, after_last - max_count)
        else:
            newest = store.iter_read(
                StreamQuery(stream_id=head.stream_id, backwards=True), batch_size=1000
            )
            kept = list(islice(newest, max_count))
            if len(kept) == max_count:
                cut = max(cut, kept[-1].position)
    max_age = policy.get("max_age")
    if max_age is not None:
        oldest_kept = now - timedelta(seconds=max_age)
        first_young = after_last
        for index, event in enumerate(
            store.iter_read(StreamQuery(stream_id=head.stream_id), batch_size=1000)
        ):
            if event.recorded_at >= oldest_kept:
                # The oldest event that remains is young enough: nothing to truncate.
                first_young = (
                    0 if index == 0 else event.position if neutral else (event.version or 0)
                )
                break
        cut = max(cut, first_young or 0)
    return cut


class ScheduledScavenger:
    """Runs :func:`scavenge` every ``interval`` seconds on a daemon thread (``serve`` starts
    one when FLIPBOOK_SCAVENGE_INTERVAL is set). A failed run is logged; the next one retries."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="flipbook-scavenger", daemon=True)

    def start(self) -> ScheduledScavenger:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        from django.db import connections

        while not self._stop.wait(self.interval):
            try:
                report = scavenge()
                logger.info("scavenged", extra=report.as_dict())
            except Exception:
                logger.exception("scavenge failed; the next run retries")
            finally:
                connections.close_all()
