"""The Flipbook client: one interface over the REST and the gRPC transports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from flipbook_client.retry import RetryPolicy
from flipbook_client.types import (
    Append,
    AppendResult,
    Batch,
    CaughtUp,
    CommitResult,
    Erasure,
    Event,
    ExpectedVersion,
    FeedPage,
    NackResult,
    NewEvent,
    Page,
    Parked,
    Retention,
    ScavengeReport,
    Snapshot,
    State,
    StreamInfo,
    Subscription,
    new_events,
)

Transport = Literal["rest", "grpc"]
READ_BATCH = 1000


class Client:
    """A connection to a Flipbook server.

    ``url`` is the HTTP base (``http://127.0.0.1:8000``) for ``transport="rest"``, or
    ``host:port`` / ``grpc://host:port`` / ``grpcs://host:port`` for ``transport="grpc"``.
    Every method raises a ``flipbook_client.errors.FlipbookError`` subclass on refusal.
    Calls that are safe to repeat are retried with backoff and jitter while the server is
    unavailable (``retry``: a ``RetryPolicy``, default ``RetryPolicy()``; ``NO_RETRY``
    turns it off); appends and commits only when every event carries an ``id``.
    Use it as a context manager, or call ``close()``."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        transport: Transport = "rest",
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        **options: Any,
    ) -> None:
        if transport == "rest":
            from flipbook_client._rest import RestTransport

            self._transport: Any = RestTransport(
                url, api_key, timeout=timeout, retry=retry, **options
            )
        elif transport == "grpc":
            from flipbook_client._grpc import GrpcTransport

            self._transport = GrpcTransport(url, api_key, timeout=timeout, retry=retry, **options)
        else:
            raise ValueError(f"transport must be 'rest' or 'grpc', not {transport!r}")
        self.transport: Transport = transport
        self.snapshots = Snapshots(self._transport)
        self.subscriptions = Subscriptions(self._transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections or the gRPC channel."""
        self._transport.close()

    # -- writing ----------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: Iterable[NewEvent | Mapping[str, Any]],
        *,
        expected_version: ExpectedVersion = "any",
        category: str | None = None,
        kind: Literal["versioned", "neutral"] | None = None,
    ) -> AppendResult:
        """Append events to one stream after checking ``expected_version`` (an int N: the
        stream is exactly at N, 0 = new; "any"; "exists"). Returns the stored events.
        Raises VersionConflict (``current_version``), IdConflict, ValidationError, ..."""
        return self._transport.append(
            stream_id, new_events(events), expected_version, category, kind
        )

    def commit(self, appends: Iterable[Append | Mapping[str, Any]]) -> CommitResult:
        """Append to several streams atomically: every check passes and all events are
        stored, or nothing is. Each entry is an ``Append`` or a dict of its fields."""
        return self._transport.commit([Append.of(a) for a in appends])

    # -- reading ----------------------------------------------------------------------------

    def read(
        self,
        stream_id: str,
        *,
        from_version: int | None = None,
        to_version: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        direction: Literal["forwards", "backwards"] = "forwards",
        batch: int = READ_BATCH,
    ) -> Iterator[Event]:
        """Iterate over a stream's events (a version range, or a natural-time range with
        ``since``/``until``), following the server's cursors; memory stays bounded."""
        return self._transport.read(
            stream_id,
            batch=batch,
            from_version=from_version,
            to_version=to_version,
            since=since,
            until=until,
            direction=direction,
        )

    def read_page(
        self,
        stream_id: str,
        *,
        from_version: int | None = None,
        to_version: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        direction: Literal["forwards", "backwards"] = "forwards",
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Event]:
        """One page of a stream's events; pass ``next_cursor`` back as ``cursor``."""
        return self._transport.read_page(
            stream_id,
            from_version=from_version,
            to_version=to_version,
            since=since,
            until=until,
            direction=direction,
            limit=limit,
            cursor=cursor,
        )

    def latest(self, stream_id: str) -> Event:
        """The last event of a stream; NotFound when it has none."""
        return self._transport.latest(stream_id)

    def stream(self, stream_id: str) -> StreamInfo:
        """The head of a stream ("version 0"); NotFound when it has no events."""
        return self._transport.stream(stream_id)

    def delete_stream(self, stream_id: str, *, hard: bool = False) -> StreamInfo:
        """Delete a stream: soft (reads answer NotFound until an append starts it again, its
        versions continuing) or ``hard`` (a tombstone: reads and appends raise StreamDeleted
        for ever). Returns the head as it was. NotFound for a missing stream."""
        return self._transport.delete_stream(stream_id, hard=hard)

    def truncate_stream(self, stream_id: str, before: int) -> StreamInfo:
        """Hide a stream's events below version ``before`` (a position on version-neutral
        streams); reads then start there. Returns the new head."""
        return self._transport.truncate_stream(stream_id, before)

    def stream_retention(self, stream_id: str) -> Retention:
        """The retention policy a scavenge applies to a stream: its own (``source``
        "stream"), else its category's ("category"), else none ("none")."""
        return self._transport.stream_retention(stream_id)

    def set_stream_retention(
        self, stream_id: str, *, max_age: int | None = None, max_count: int | None = None
    ) -> Retention:
        """Give a stream its own retention policy, replacing its category's: keep events at
        most ``max_age`` seconds and/or only the newest ``max_count`` (at least one, each a
        positive integer, else ValidationError). A scavenge applies it."""
        return self._transport.set_stream_retention(stream_id, max_age=max_age, max_count=max_count)

    def clear_stream_retention(self, stream_id: str) -> Retention:
        """Remove a stream's own retention policy (its category's applies again) and return
        the policy that applies now. NotFound when it had none of its own."""
        return self._transport.clear_stream_retention(stream_id)

    def scavenge(self, *, batch: int | None = None, limit: int | None = None) -> ScavengeReport:
        """Ask the server to scavenge (apply retention, remove what deletes and truncations
        hid): one request removes at most ``limit`` events (the server caps it); repeat
        while the report is not ``complete``. Needs an admin key valid for every stream."""
        return self._transport.scavenge(batch=batch, limit=limit)

    def erase(self, subject: str) -> Erasure:
        """Erase a subject's personal data by destroying its data keys (cannot be undone).
        NotFound when nothing is stored for it. Needs an admin key valid for every stream."""
        return self._transport.erase(subject)

    def list_streams(
        self,
        *,
        prefix: str | None = None,
        category: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[StreamInfo]:
        """A page of stream heads ordered by id."""
        return self._transport.list_streams(
            prefix=prefix, category=category, limit=limit, cursor=cursor
        )

    def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        categories: Sequence[str] = (),
        names: Sequence[str] = (),
    ) -> FeedPage:
        """A page of the all-feed after a position; continue with ``next_after``."""
        return self._transport.read_all(
            after=after, limit=limit, categories=list(categories), names=list(names)
        )

    def state(
        self,
        stream_id: str,
        *,
        version: int | None = None,
        at: datetime | str | None = None,
        known_at: datetime | str | None = None,
    ) -> State:
        """The stream's state as the server's reducer folds it: as of ``version`` (None:
        the latest) or natural time ``at`` (optionally as known at ``known_at``)."""
        if version is not None and at is not None:
            raise ValueError("give version or at, not both")
        return self._transport.state(stream_id, version=version, at=at, known_at=known_at)


class Snapshots:
    """The snapshot store (``client.snapshots``)."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def set(
        self,
        stream_id: str,
        version: int,
        payload: Any,
        *,
        revision: str | None = None,
        timestamp: datetime | str | None = None,
        label: str = "",
        ttl: float | None = None,
    ) -> Snapshot:
        """Store a state of the stream at ``version``. ``revision`` names what made it
        (default "client", which the server never uses to serve states)."""
        return self._transport.set_snapshot(
            stream_id,
            version,
            payload,
            revision=revision,
            timestamp=timestamp,
            label=label,
            ttl=ttl,
        )

    def get(
        self, stream_id: str, *, version: int | None = None, revision: str | None = None
    ) -> Snapshot:
        """The latest snapshot (at or before ``version``, of ``revision`` when given);
        NotFound when there is none."""
        return self._transport.get_snapshot(stream_id, version=version, revision=revision)

    latest = get

    def list(self, stream_id: str, *, revision: str | None = None) -> list[Snapshot]:
        """Every snapshot of the stream, without payloads (REST only)."""
        return self._transport.list_snapshots(stream_id, revision=revision)


class Subscriptions:
    """Durable subscriptions (``client.subscriptions``): named consumers with a checkpoint."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def create(
        self,
        name: str,
        *,
        category: str | None = None,
        stream_id: str | None = None,
        names: Sequence[str] = (),
        start: str | Mapping[str, int] = "beginning",
        max_attempts: int | None = None,
        push: Mapping[str, Any] | None = None,
    ) -> Subscription:
        """Create a subscription to a category, one stream or everything (neither), only of
        ``names`` when given, starting at ``start`` ("beginning", "end" or {"after": N})."""
        body: dict[str, Any] = {
            "name": name,
            "filter": {"category": category, "stream_id": stream_id, "names": list(names)},
            "start": start,
        }
        if max_attempts is not None:
            body["max_attempts"] = max_attempts
        if push is not None:
            body["push"] = dict(push)
        return self._transport.create_subscription(body)

    def get(self, name: str) -> Subscription:
        return self._transport.get_subscription(name)

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Subscription]:
        return self._transport.list_subscriptions(limit=limit, cursor=cursor)

    def delete(self, name: str) -> None:
        self._transport.delete_subscription(name)

    def next(self, name: str, *, max: int = 100, wait: float = 10) -> Batch:
        """The next events after the checkpoint (waiting up to ``wait`` seconds, at most 30,
        when there are none). Events not acknowledged come again."""
        return self._transport.next_batch(name, max=max, wait=wait)

    def ack(self, name: str, position: int) -> Subscription:
        """Acknowledge every event at or below ``position``."""
        return self._transport.ack(name, position)

    def nack(self, name: str, position: int, error: str = "") -> NackResult:
        """Report the event at ``position`` failed (those before it are acknowledged); it
        comes again, and is parked after the subscription's ``max_attempts``."""
        return self._transport.nack(name, position, error)

    def reset(self, name: str, to: str | Mapping[str, int]) -> Subscription:
        """Move the checkpoint to "beginning", "end" or {"after": N}."""
        return self._transport.reset_subscription(name, to)

    def pause(self, name: str) -> Subscription:
        """Pause delivery (next returns empty batches, push and streams send nothing) until
        ``resume``; the checkpoint stays. Needs write scope."""
        return self._transport.pause_subscription(name)

    def resume(self, name: str) -> Subscription:
        """Resume delivery of a paused subscription from its checkpoint. Needs write scope."""
        return self._transport.resume_subscription(name)

    def stream(self, name: str, *, max_in_flight: int = 100) -> Iterator[Event | CaughtUp]:
        """gRPC only: the subscription's events after its checkpoint, then one ``CaughtUp``,
        then live events, in position order. Acknowledge with ``ack``: at most
        ``max_in_flight`` events beyond the checkpoint come before the stream waits for acks.
        Close the iterator (or break out of the loop) to end it."""
        return self._transport.stream_subscription(name, max_in_flight=max_in_flight)

    def parked(
        self, name: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Parked]:
        """A page of the subscription's parked events, oldest first."""
        return self._transport.list_parked(name, limit=limit, cursor=cursor)

    def retry_parked(self, name: str, position: int) -> Any:
        """Deliver a parked event once more."""
        return self._transport.parked_action(name, position, "retry")

    def skip_parked(self, name: str, position: int) -> Subscription:
        """Drop a parked event for good."""
        return self._transport.parked_action(name, position, "skip")

    def replay_parked(self, name: str, position: int) -> Subscription:
        """Move the checkpoint to just before a parked event; deliver everything from it."""
        return self._transport.parked_action(name, position, "replay")


def connect(
    url: str, api_key: str | None = None, transport: Transport = "rest", **options: Any
) -> Client:
    """Return a Client (the same as ``Client(url, api_key, transport, **options)``)."""
    return Client(url, api_key, transport, **options)
