"""Event-sourced aggregates on Flipbook: ``Aggregate`` folds its stream's events with one
apply method per event name; ``Repository`` loads (newest snapshot + later events), saves
with the expected version, retries commands on conflict and writes snapshots by a policy."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from flipbook_client.errors import FlipbookError, NotFound, VersionConflict
from flipbook_client.types import Append, AppendResult, Event, NewEvent, aware

logger = logging.getLogger("flipbook_client")
A = TypeVar("A", bound="Aggregate")
R = TypeVar("R")


class UnknownEvent(LookupError):
    """An aggregate has no apply method for an event name."""


def applies(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a method as the apply method of event ``name`` (for names that are not Python
    identifiers; otherwise ``apply_<Name>`` is enough)."""

    def mark(method: Callable[..., None]) -> Callable[..., None]:
        method.flipbook_applies = name  # type: ignore[attr-defined]
        return method

    return mark


class Aggregate:
    """The state of one stream, rebuilt by applying its events in version order.

    Subclasses set ``category`` (set on the stream's first append), define
    ``apply_<EventName>(self, event)`` methods (or ``@applies("Name")``), and command methods
    that check the state and call ``self.record(name, payload)``. ``snapshot_revision``
    names the state's shape: bump it when apply methods or attributes change, and older
    snapshots are ignored. The state kept in snapshots is ``snapshot_state()``: by default
    every public attribute but ``id`` and ``version`` (JSON values only)."""

    category: ClassVar[str | None] = None
    snapshot_revision: ClassVar[str] = "1"
    _appliers: ClassVar[dict[str, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        appliers: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                name = getattr(value, "flipbook_applies", None)
                if name is None and attr.startswith("apply_") and callable(value):
                    name = attr[len("apply_") :]
                if name:
                    appliers[name] = attr
        cls._appliers = appliers

    def __init__(self, id: str) -> None:
        self.id = id
        self.version = 0
        self._pending: list[NewEvent] = []

    # -- events -----------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Apply one event (stored or just recorded) to the state and advance the version."""
        method = self._appliers.get(event.name)
        if method is None:
            self.apply_unknown(event)
        else:
            getattr(self, method)(event)
        if event.version is not None:
            self.version = event.version

    def apply_unknown(self, event: Event) -> None:
        """Called for an event name without an apply method: refuses it (override to skip)."""
        raise UnknownEvent(
            f"{type(self).__name__} has no apply method for event {event.name!r} "
            f"(define apply_{event.name} or @applies({event.name!r}))"
        )

    def record(
        self,
        name: str,
        payload: Any = None,
        *,
        metadata: dict[str, Any] | None = None,
        timestamp: datetime | str | None = None,
        id: str | None = None,
    ) -> None:
        """Record a new event: apply it now, append it on the next ``Repository.save``. It
        gets a new UUID unless ``id`` is given, so saving it again after a lost answer
        returns the stored result (a duplicate) instead of storing it twice."""
        id = id or str(uuid.uuid4())
        new = NewEvent(name, payload, metadata, timestamp, id)
        self.apply(
            Event(
                stream_id=self.id,
                version=self.version + 1,
                name=name,
                payload=payload,
                metadata=metadata or {},
                id=id,
                position=0,
                timestamp=aware(timestamp),
            )
        )
        self._pending.append(new)

    @property
    def pending_events(self) -> list[NewEvent]:
        """Events recorded since the aggregate was loaded or saved."""
        return list(self._pending)

    @property
    def saved_version(self) -> int:
        """The stream's version the pending events will be appended after."""
        return self.version - len(self._pending)

    # -- snapshots --------------------------------------------------------------------------

    def snapshot_state(self) -> Any:
        """The JSON value a snapshot keeps; ``restore_state`` must accept it."""
        return {
            k: v
            for k, v in vars(self).items()
            if not k.startswith("_") and k not in ("id", "version")
        }

    def restore_state(self, state: Any) -> None:
        """Set the state from ``snapshot_state()``'s value."""
        for key, value in state.items():
            if key not in ("id", "version"):
                setattr(self, key, value)


class Repository(Generic[A]):
    """Loads and saves aggregates of one class through a ``Client``.

    ``snapshot_every=N`` stores a snapshot (revision ``sdk:<Class>:<snapshot_revision>``,
    so the server's own reducer snapshots are never mistaken for it) whenever a save
    crosses a multiple of N versions; ``snapshot_policy(aggregate, saved_from_version)``
    decides instead when given. Loading starts from the newest such snapshot and reads
    only the events after it. ``stream_id_of`` maps an aggregate id to its stream id
    (default: the id itself)."""

    def __init__(
        self,
        client: Any,
        aggregate: type[A],
        *,
        snapshot_every: int | None = None,
        snapshot_policy: Callable[[A, int], bool] | None = None,
        stream_id_of: Callable[[str], str] | None = None,
    ) -> None:
        if snapshot_every is not None and snapshot_every < 1:
            raise ValueError("snapshot_every must be at least 1 (or None: no snapshots)")
        self.client = client
        self.aggregate = aggregate
        self.snapshot_every = snapshot_every
        if snapshot_policy is None and snapshot_every is not None:
            every = snapshot_every

            def snapshot_policy(aggregate: A, saved_from: int) -> bool:
                return aggregate.version // every > saved_from // every

        self.snapshot_policy = snapshot_policy
        self.stream_id_of = stream_id_of or (lambda aggregate_id: aggregate_id)
        self.revision = f"sdk:{aggregate.__qualname__}:{aggregate.snapshot_revision}"
        # What the last load did (for logs and tests): the snapshot version it started from
        # (None: from the first event) and how many events it read after it.
        self.last_load: tuple[int | None, int] = (None, 0)

    def load(self, aggregate_id: str) -> A:
        """The aggregate at its stream's latest version (version 0 when it has no events)."""
        stream_id = self.stream_id_of(aggregate_id)
        aggregate = self.aggregate(aggregate_id)
        from_snapshot = None
        if self.snapshot_policy is not None:
            try:
                snapshot = self.client.snapshots.get(stream_id, revision=self.revision)
            except NotFound:
                snapshot = None
            if snapshot is not None:
                aggregate.restore_state(snapshot.payload)
                aggregate.version = snapshot.version
                from_snapshot = snapshot.version
        read = 0
        for event in self.client.read(stream_id, from_version=aggregate.version + 1):
            aggregate.apply(event)
            read += 1
        self.last_load = (from_snapshot, read)
        return aggregate

    def get(self, aggregate_id: str) -> A:
        """The aggregate; NotFound when its stream has no events."""
        aggregate = self.load(aggregate_id)
        if aggregate.version == 0:
            raise NotFound(
                f"{self.aggregate.__name__} {aggregate_id!r} has no events",
                details={"stream_id": self.stream_id_of(aggregate_id)},
            )
        return aggregate

    def save(self, *aggregates: A) -> list[AppendResult]:
        """Append each aggregate's pending events, checked against the version it was
        loaded at; several aggregates are saved in one atomic commit. Raises
        VersionConflict when another writer got in first (nothing is stored then)."""
        dirty = [a for a in aggregates if a._pending]
        if not dirty:
            return []
        if len(dirty) == 1:
            a = dirty[0]
            results = [
                self.client.append(
                    self.stream_id_of(a.id),
                    a.pending_events,
                    expected_version=a.saved_version,
                    category=type(a).category,
                )
            ]
        else:
            appends = [
                Append(
                    self.stream_id_of(a.id),
                    a.pending_events,
                    expected_version=a.saved_version,
                    category=type(a).category,
                )
                for a in dirty
            ]
            results = self.client.commit(appends).streams
        for aggregate, result in zip(dirty, results, strict=True):
            saved_from = aggregate.saved_version
            aggregate._pending.clear()
            if result.version is not None:
                aggregate.version = result.version
            self._maybe_snapshot(aggregate, saved_from)
        return results

    def execute(
        self,
        aggregate_ids: str | Sequence[str],
        command: Callable[..., R],
        *,
        retries: int = 0,
        backoff: float = 0.01,
    ) -> R:
        """Load the aggregate(s), run ``command(*aggregates)``, save them (atomically when
        several) and return the command's result. On VersionConflict reload and run the
        command again, up to ``retries`` more times (with a short jittered backoff); the
        last conflict is raised when they are used up. Errors the command raises propagate
        and nothing is saved."""
        ids = [aggregate_ids] if isinstance(aggregate_ids, str) else list(aggregate_ids)
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        attempt = 0
        while True:
            aggregates = [self.load(i) for i in ids]
            result = command(*aggregates)
            try:
                self.save(*aggregates)
            except VersionConflict:
                if attempt >= retries:
                    raise
                attempt += 1
                logger.debug("conflict on %s, retry %d of %d", ids, attempt, retries)
                time.sleep(backoff * attempt * random.uniform(0.5, 1.5))
                continue
            return result

    def _maybe_snapshot(self, aggregate: A, saved_from: int) -> None:
        if self.snapshot_policy is None or not self.snapshot_policy(aggregate, saved_from):
            return
        try:
            self.client.snapshots.set(
                self.stream_id_of(aggregate.id),
                aggregate.version,
                aggregate.snapshot_state(),
                revision=self.revision,
                label="sdk",
            )
        except FlipbookError as error:
            # The events are stored; a missed snapshot only makes the next load longer.
            logger.warning("snapshot of %s failed: %s", aggregate.id, error)


def retry_on_conflict(function: Callable[[], R], *, retries: int = 3, backoff: float = 0.01) -> R:
    """Call ``function()`` again (up to ``retries`` more times) while it raises
    VersionConflict; the function must read what it needs afresh on each call."""
    attempt = 0
    while True:
        try:
            return function()
        except VersionConflict:
            if attempt >= retries:
                raise
            attempt += 1
            time.sleep(backoff * attempt * random.uniform(0.5, 1.5))
