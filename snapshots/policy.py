"""The snapshot policy: "snapshot every N events" per category (set in the admin), applied
after each commit by one background thread, off the request path.

The ``events_committed`` receiver only puts the committed streams on a bounded queue (never
blocking: a full queue drops the work, and the next commit to the stream makes up for it).
The thread coalesces queued streams, and for each one whose category has a policy and which
has reached a multiple of N above its latest snapshot, folds it from that snapshot to the
highest such multiple and stores the state there."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from typing import Any

from django.db import connections
from django.db.models.signals import post_delete, post_save

from snapshots.backends import get_snapshot_store
from snapshots.records import Snapshot
from streams import services
from streams.conf import flipbook_settings
from streams.exceptions import FlipbookError, NotFound
from streams.records import NEUTRAL, CommitResult
from streams.signals import events_committed

logger = logging.getLogger("flipbook.snapshots")
POLICY_LABEL = "policy"
GATE_SECONDS = 1.0


def snapshot_every(category: str | None) -> int | None:
    """The category's policy: a snapshot every N events, or None."""
    if not category or not policies_exist():
        return None
    from snapshots.categories import category_settings

    row = category_settings(category)
    return row[3] if row is not None and row[3] else None


_gate_lock = threading.Lock()
_gate: tuple[float, bool] = (0.0, False)


def policies_exist() -> bool:
    """Whether any category has a snapshot policy (cached for a second, and dropped when a
    category is saved in this process), so streams without policies cost no queries."""
    global _gate
    checked, exists = _gate
    if time.monotonic() - checked < GATE_SECONDS:
        return exists
    from snapshots.models import Category

    exists = Category.objects.filter(snapshot_every__gte=1).exists()
    with _gate_lock:
        _gate = (time.monotonic(), exists)
    return exists


def policies_known_absent() -> bool:
    """Whether the gate of :func:`policies_exist` is fresh and says no policy exists."""
    checked, exists = _gate
    return not exists and time.monotonic() - checked < GATE_SECONDS


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def forget_policies(**kwargs) -> None:
    global _gate
    with _gate_lock:
        _gate = (0.0, False)


def make_due_snapshot(stream_id: str) -> Snapshot | None:
    """Store the snapshot the stream's category policy says is due, and return it (None
    when none is due). With "every N events", snapshots are at multiples of N: one is due
    when the stream has reached a multiple of N above its latest snapshot of the current
    reducer revision; it is made at the highest such multiple (the worker may lag behind the
    writers), folded from the latest snapshot. Raises FlipbookError."""
    from snapshots.categories import reducer_for_category
    from snapshots.services import store_state
    from snapshots.state import fold_at_version

    if not policies_exist():
        return None
    head = services.stream_head(stream_id)
    if head.kind == NEUTRAL:
        return None
    every = snapshot_every(head.category)
    if not every:
        return None
    assert head.version is not None  # a versioned stream has one
    target = head.version - head.version % every
    if target == 0:
        return None
    reducer = reducer_for_category(head.category)
    latest = get_snapshot_store().latest(stream_id, revision=reducer.revision)
    if latest is not None and latest.version >= target:
        return None
    state = fold_at_version(head, reducer, target, need_times=True)
    assert state.version is not None  # target, or fold_at_version raises
    return store_state(
        stream_id,
        state.version,
        state.payload,
        reducer,
        state.timestamp,
        state.recorded_at,
        label=POLICY_LABEL,
    )


class SnapshotPolicyWorker:
    """A daemon thread fed by a bounded queue of stream ids."""

    def __init__(self, maxsize: int) -> None:
        self.queue: queue.Queue[str] = queue.Queue(maxsize=maxsize)
        self.made = 0
        self.failed = 0
        self.dropped = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_drop_log = 0.0

    def submit(self, stream_id: str) -> bool:
        """Queue a stream to look at; False (and the work is dropped) when the queue is full.
        Never blocks and never raises."""
        try:
            self._ensure_thread()
            self.queue.put_nowait(stream_id)
            return True
        except queue.Full:
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log > 10:
                self._last_drop_log = now
                logger.warning(
                    "snapshot policy queue is full; dropped work (%d so far)", self.dropped
                )
            return False
        except Exception:  # a commit has succeeded whatever happens here
            logger.exception("snapshot policy could not queue stream %r", stream_id)
            return False

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is processed; False on timeout."""
        with self.queue.all_tasks_done:
            return self.queue.all_tasks_done.wait_for(
                lambda: self.queue.unfinished_tasks == 0, timeout
            )

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="flipbook-snapshot-policy", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        idle = True
        while True:
            try:
                # Keep the connection while work keeps coming; let go after a quiet second,
                # so an idle worker holds no connection (nor one across test databases).
                first = self.queue.get() if idle else self.queue.get(timeout=1.0)
            except queue.Empty:
                self._close_connections()
                idle = True
                continue
            idle = False
            batch = [first]
            while len(batch) < 1000:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                for stream_id in dict.fromkeys(batch):  # each stream once, in arrival order
                    self._process(stream_id)
            finally:
                for _ in batch:
                    self.queue.task_done()

    def _close_connections(self) -> None:
        try:
            connections.close_all()
        except Exception:
            logger.exception("snapshot policy could not close its connections")

    def _process(self, stream_id: str) -> None:
        try:
            if make_due_snapshot(stream_id) is not None:
                self.made += 1
        except NotFound:
            pass
        except FlipbookError as exc:
            self.failed += 1
            logger.warning("snapshot policy: no snapshot of %r: %s", stream_id, exc.message)
        except Exception:
            self.failed += 1
            logger.exception("snapshot policy failed on stream %r", stream_id)


_worker: SnapshotPolicyWorker | None = None
_worker_lock = threading.Lock()


def get_worker() -> SnapshotPolicyWorker:
    """The process-wide policy worker (its thread starts with the first commit)."""
    global _worker
    if _worker is None:
        with _worker_lock:
            if _worker is None:
                size = _setting("QUEUE_SIZE")
                _worker = SnapshotPolicyWorker(maxsize=size)
    return _worker


def wait_idle(timeout: float = 10.0) -> bool:
    """Wait until the policy worker has processed every commit queued so far."""
    return get_worker().wait_idle(timeout)


def on_events_committed(sender, result: CommitResult, **kwargs) -> None:
    """Receiver of ``events_committed``: queue the committed versioned streams."""
    if not _setting("ENABLED"):
        return
    if _on_event_loop():
        # No query on a loop: skip only when a fresh gate says no policy exists; otherwise
        # queue, and the worker's thread asks the database (make_due_snapshot).
        if policies_known_absent():
            return
    elif not policies_exist():
        return  # no category has a policy: appends pay nothing for this
    worker = get_worker()
    for stream in result.streams:
        if stream.version is not None:
            worker.submit(stream.stream_id)


on_events_committed.loop_safe = True  # type: ignore[attr-defined]  # a queue put at most


def _setting(name: str) -> Any:
    return flipbook_settings.SNAPSHOT_POLICY[name]


def connect() -> None:
    """Connect the policy to new commits and to category changes (called by the app)."""
    from snapshots.models import Category

    events_committed.connect(on_events_committed, dispatch_uid="flipbook-snapshot-policy")
    post_save.connect(forget_policies, sender=Category, dispatch_uid="flipbook-policy-gate")
    post_delete.connect(forget_policies, sender=Category, dispatch_uid="flipbook-policy-gate-d")
