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
from streams.backends.base import BaseEventStore
from streams.conf import flipbook_settings
from streams.exceptions import NotFound, StreamDeleted, ValidationError
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

    def as_dict(self) -> dict[str, int]:
        return {
            "truncated_streams": self.truncated_streams,
            "scavenged_streams": self.scavenged_streams,
            "removed_events": self.removed_events,
        }


Progress = Callable[[str, ScavengeReport], object]


def scavenge(
    *,
    batch: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ScavengeReport:
    """Apply retention (FLIPBOOK_RETENTION) by truncating streams, then remove for good the
    events that reads no longer show: below each truncation point, and every event of a
    hard-deleted stream. Works in writes of at most ``batch`` events (default
    FLIPBOOK_SCAVENGE_BATCH), each a short transaction of its own, so appends never wait
    long. Positions of what remains never change and are never reused. ``progress`` is
    called with the stream id and the report so far after each write. Raises Unavailable."""
    batch = validate_int(
        flipbook_settings.SCAVENGE_BATCH if batch is None else batch, "batch", minimum=1
    )
    now = now or datetime.now(UTC)
    store = get_event_store()
    report = ScavengeReport()
    for category, policy in retention_policies().items():
        for head in store.iter_heads(category=category):
            cut = retention_cutoff(store, head, policy, now)
            if cut > head.truncate_before:
                try:
                    truncate_stream(head.stream_id, cut)
                except (NotFound, StreamDeleted):
                    continue  # deleted meanwhile: the scavenge below takes its events
                report.truncated_streams += 1
    after: str | None = None
    while True:
        candidates = store.scavenge_candidates(after=after, limit=200)
        for stream_id in candidates:
            removed_here = 0
            while True:
                removed = store.scavenge_stream(stream_id, batch)
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
