"""The gRPC transport: flipbook.v1 over grpcio (install the ``grpc`` extra)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

try:
    import grpc
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the gRPC transport needs grpcio and protobuf: pip install 'flipbook-client[grpc]'"
    ) from exc

from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc as pb_grpc
from flipbook_client._grpc_messages import (
    DIRECTIONS,
    MAX_MESSAGE_BYTES,
    START,
    append_request,
    append_result_of,
    event_of,
    filter_message,
    json_bytes,
    parked_of,
    retention_of,
    set_time,
    snapshot_of,
    state_of,
    stream_info_of,
    subscription_of,
    time_of,
)
from flipbook_client.errors import (
    ERRORS_BY_GRPC_STATUS,
    FlipbookError,
    Unavailable,
    Unsupported,
    error_from_body,
)
from flipbook_client.retry import RetryPolicy, events_have_ids
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
)

ERROR_METADATA_KEY = "flipbook-error-bin"
R = TypeVar("R")


def parse_target(url: str) -> tuple[str, bool]:
    """(host:port, use TLS) of ``host:port``, ``grpc://host:port`` or ``grpcs://host:port``."""
    if url.startswith("grpcs://"):
        return url[len("grpcs://") :].rstrip("/"), True
    if url.startswith("grpc://"):
        return url[len("grpc://") :].rstrip("/"), False
    if "://" in url:
        raise ValueError(f"a gRPC url is host:port, grpc://host:port or grpcs://host:port: {url}")
    return url.rstrip("/"), False


def error_of(error: grpc.RpcError) -> FlipbookError:
    """The client error of a failed call: the JSON of the ``flipbook-error-bin`` trailing
    metadata when the server sent it, else one named by the status code."""
    code = error.code() if hasattr(error, "code") else None
    status = code.name if code is not None else None
    details = error.details() if hasattr(error, "details") else str(error)
    fallback = ERRORS_BY_GRPC_STATUS.get(status or "", FlipbookError)
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for item in trailing or ():  # (key, value) namedtuples
        if item.key == ERROR_METADATA_KEY:
            value = item.value
            try:
                body = json.loads(value if isinstance(value, str) else value.decode("utf-8"))
            except ValueError:
                break
            return error_from_body(body, status, fallback)
    return fallback(details or f"gRPC call failed: {status}", status=status)


# -- the transport -----------------------------------------------------------------------------


class GrpcTransport:
    """Calls the flipbook.v1 services; every method returns the client's typed values or
    raises a ``FlipbookError`` decoded from the ``flipbook-error-bin`` trailing metadata."""

    name = "grpc"

    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        timeout: float = 30.0,
        root_certificates: bytes | None = None,
        options: Sequence[tuple[str, Any]] = (),
        retry: RetryPolicy | None = None,
    ) -> None:
        target, tls = parse_target(url)
        self.retry = retry or RetryPolicy()
        channel_options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # Reconnect soon after a server restart (gRPC's default first wait is 1 s).
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 3000),
            *options,
        ]
        if tls or root_certificates is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self._channel = grpc.secure_channel(target, credentials, options=channel_options)
        else:
            self._channel = grpc.insecure_channel(target, options=channel_options)
        self.target = target
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._events = pb_grpc.EventStoreStub(self._channel)
        self._snapshots = pb_grpc.SnapshotStoreStub(self._channel)
        subscriptions_stub = getattr(pb_grpc, "SubscriptionsStub", None)
        self._subscriptions = subscriptions_stub(self._channel) if subscriptions_stub else None

    def close(self) -> None:
        self._channel.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _unary(
        self,
        method: Callable[..., R],
        request: Any,
        timeout: float | None = None,
        *,
        idempotent: bool = True,
    ) -> R:
        """One unary call, repeated under the retry policy while it is unavailable when
        ``idempotent`` (every caller that writes says whether it is)."""

        def call() -> R:
            try:
                return method(
                    request,
                    metadata=self._metadata,
                    timeout=timeout if timeout is not None else self.timeout,
                )
            except grpc.RpcError as error:
                raise error_of(error) from None

        return self.retry.call(call, idempotent=idempotent)

    def _stream(
        self, method: Callable[..., Any], request: Any, *, idempotent: bool = True
    ) -> Iterator[Any]:
        """A server-streaming call's messages. Every such call here reads: one that fails
        unavailable before its first message is started again under the retry policy; after
        that the error is raised (the caller decides where to go on from)."""
        # No deadline: a long read may legitimately take longer than one call's timeout.
        attempt = 1
        while True:
            call = method(request, metadata=self._metadata)
            received = False
            try:
                for message in call:
                    received = True
                    yield message
                return
            except grpc.RpcError as error:
                failure = error_of(error)
                if (
                    received
                    or not idempotent
                    or not isinstance(failure, Unavailable)
                    or attempt >= self.retry.max_attempts
                ):
                    raise failure from None
            finally:
                call.cancel()
            wait = self.retry.wait(attempt)
            if self.retry.on_retry is not None:
                self.retry.on_retry(attempt, failure, wait)
            time.sleep(wait)
            attempt += 1

    # -- streams ----------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: list[NewEvent],
        expected_version: ExpectedVersion,
        category: str | None,
        kind: str | None,
    ) -> AppendResult:
        request = append_request(stream_id, events, expected_version, category, kind)
        response = self._unary(self._events.Append, request, idempotent=events_have_ids(events))
        return append_result_of(response)

    def commit(self, appends: list[Append]) -> CommitResult:
        request = pb.CommitRequest(
            streams=[
                append_request(a.stream_id, a.new_events(), a.expected_version, a.category, a.kind)
                for a in appends
            ]
        )
        idempotent = all(events_have_ids(a.new_events()) for a in appends)
        response = self._unary(self._events.Commit, request, idempotent=idempotent)
        return CommitResult(
            streams=[append_result_of(s) for s in response.streams],
            duplicate=response.duplicate,
            last_position=response.last_position,
        )

    def _read_request(
        self,
        stream_id: str,
        *,
        from_version: int | None,
        to_version: int | None,
        since: Any,
        until: Any,
        direction: str,
        limit: int,
        cursor: str | None,
    ) -> pb.ReadRequest:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'forwards' or 'backwards', not {direction!r}")
        request = pb.ReadRequest(
            stream_id=stream_id,
            from_version=from_version or 0,
            to_version=to_version or 0,
            direction=DIRECTIONS[direction],
            limit=limit,
            cursor=cursor or "",
        )
        if since is not None:
            set_time(request.since, since)
        if until is not None:
            set_time(request.until, until)
        return request

    def read_page(self, stream_id: str, **query: Any) -> Page[Event]:
        if not query.get("limit"):
            raise ValueError("read_page needs a limit above 0")
        events, cursor = [], None
        for item in self._stream(self._events.Read, self._read_request(stream_id, **query)):
            if item.WhichOneof("item") == "event":
                events.append(event_of(item.event))
            else:
                cursor = item.next_cursor
        return Page(events, cursor)

    def read(self, stream_id: str, *, batch: int, **query: Any) -> Iterator[Event]:
        # The server streams every selected event in bounded batches of its own (limit 0).
        request = self._read_request(stream_id, limit=0, cursor=None, **query)
        for item in self._stream(self._events.Read, request):
            if item.WhichOneof("item") == "event":
                yield event_of(item.event)

    def latest(self, stream_id: str) -> Event:
        request = pb.GetLatestRequest(stream_id=stream_id)
        return event_of(self._unary(self._events.GetLatest, request))

    def stream(self, stream_id: str) -> StreamInfo:
        request = pb.GetStreamRequest(stream_id=stream_id)
        return stream_info_of(self._unary(self._events.GetStream, request))

    def delete_stream(self, stream_id: str, *, hard: bool) -> StreamInfo:
        request = pb.DeleteRequest(stream_id=stream_id, hard=hard)
        # Not repeated after a lost answer: a second soft delete answers not_found.
        return stream_info_of(self._unary(self._events.Delete, request, idempotent=False))

    def truncate_stream(self, stream_id: str, before: int) -> StreamInfo:
        request = pb.TruncateRequest(stream_id=stream_id, before=before)
        return stream_info_of(self._unary(self._events.Truncate, request, idempotent=True))

    def stream_retention(self, stream_id: str) -> Retention:
        request = pb.GetRetentionRequest(stream_id=stream_id)
        return retention_of(self._unary(self._events.GetRetention, request))

    def set_stream_retention(
        self, stream_id: str, *, max_age: int | None, max_count: int | None
    ) -> Retention:
        request = pb.SetRetentionRequest(stream_id=stream_id)
        if max_age is not None:
            request.max_age = max_age
        if max_count is not None:
            request.max_count = max_count
        return retention_of(self._unary(self._events.SetRetention, request, idempotent=True))

    def clear_stream_retention(self, stream_id: str) -> Retention:
        request = pb.GetRetentionRequest(stream_id=stream_id)
        # Not repeated after a lost answer: a second clear answers not_found.
        return retention_of(self._unary(self._events.ClearRetention, request, idempotent=False))

    def scavenge(self, *, batch: int | None, limit: int | None) -> ScavengeReport:
        request = pb.ScavengeRequest(batch=batch or 0, limit=limit or 0)
        response = self._unary(self._events.Scavenge, request, idempotent=True)
        return ScavengeReport(
            truncated_streams=response.truncated_streams,
            scavenged_streams=response.scavenged_streams,
            removed_events=response.removed_events,
            complete=response.complete,
        )

    def erase(self, subject: str) -> Erasure:
        request = pb.EraseRequest(subject=subject)
        # Not repeated after a lost answer: a second erasure answers not_found.
        response = self._unary(self._events.Erase, request, idempotent=False)
        return Erasure(
            subject=response.subject,
            keys_destroyed=response.keys_destroyed,
            streams=response.streams,
            snapshots_dropped=response.snapshots_dropped,
            erased_at=time_of(response, "erased_at"),
            erased_by=response.erased_by,
            audit_id=response.audit_id,
        )

    def list_streams(
        self, *, prefix: str | None, category: str | None, limit: int, cursor: str | None
    ) -> Page[StreamInfo]:
        request = pb.ListStreamsRequest(
            prefix=prefix or "", category=category or "", limit=limit, cursor=cursor or ""
        )
        response = self._unary(self._events.ListStreams, request)
        return Page([stream_info_of(s) for s in response.streams], response.next_cursor or None)

    def read_all(
        self, *, after: int, limit: int, categories: Sequence[str], names: Sequence[str]
    ) -> FeedPage:
        request = pb.ReadAllRequest(
            after=after, limit=limit, categories=list(categories), names=list(names)
        )
        events, next_after = [], after
        for item in self._stream(self._events.ReadAll, request):
            if item.WhichOneof("item") == "event":
                events.append(event_of(item.event))
            else:
                next_after = item.checkpoint.position
        return FeedPage(events, next_after)

    def state(self, stream_id: str, *, version: int | None, at: Any, known_at: Any) -> State:
        request = pb.GetStateRequest(stream_id=stream_id)
        if at is not None:
            set_time(request.at, at)
        elif version is not None:
            request.version = version
        if known_at is not None:
            set_time(request.known_at, known_at)
        return state_of(self._unary(self._events.GetState, request))

    # -- snapshots --------------------------------------------------------------------------

    def set_snapshot(
        self,
        stream_id: str,
        version: int,
        payload: Any,
        *,
        revision: str | None,
        timestamp: Any,
        label: str,
        ttl: float | None,
    ) -> Snapshot:
        request = pb.SetSnapshotRequest(
            stream_id=stream_id,
            version=version,
            payload=json_bytes(payload),
            revision=revision or "",
            label=label,
        )
        if timestamp is not None:
            set_time(request.timestamp, timestamp)
        if ttl is not None:
            request.ttl = ttl
        return snapshot_of(self._unary(self._snapshots.Set, request))

    def get_snapshot(
        self, stream_id: str, *, version: int | None, revision: str | None
    ) -> Snapshot:
        request = pb.GetSnapshotRequest(
            stream_id=stream_id, version=version or 0, revision=revision or ""
        )
        return snapshot_of(self._unary(self._snapshots.Get, request))

    def list_snapshots(self, stream_id: str, *, revision: str | None) -> list[Snapshot]:
        raise Unsupported("listing snapshots is offered over REST only")

    # -- subscriptions ----------------------------------------------------------------------

    def _subscriptions_stub(self) -> Any:
        if self._subscriptions is None:
            raise Unsupported("this client's gRPC code has no Subscriptions service")
        return self._subscriptions

    def _subscription_call(
        self, method: str, request: Any, timeout: float | None = None, *, idempotent: bool = False
    ) -> Any:
        stub_method = getattr(self._subscriptions_stub(), method)
        return self._unary(stub_method, request, timeout, idempotent=idempotent)

    def create_subscription(self, body: dict[str, Any]) -> Subscription:
        request = pb.CreateSubscriptionRequest(
            name=body["name"],
            filter=filter_message(body.get("filter") or {}),
            max_attempts=body.get("max_attempts") or 0,
        )
        start = body.get("start", "beginning")
        if isinstance(start, dict):
            request.start_after = start["after"]
        else:
            request.start = START[start]
        if body.get("push"):
            request.push.CopyFrom(pb.PushEndpoint(**body["push"]))
        return subscription_of(self._subscription_call("CreateSubscription", request))

    def get_subscription(self, name: str) -> Subscription:
        request = pb.GetSubscriptionRequest(name=name)
        return subscription_of(self._subscription_call("GetSubscription", request, idempotent=True))

    def list_subscriptions(self, *, limit: int | None, cursor: str | None) -> Page[Subscription]:
        request = pb.ListSubscriptionsRequest(limit=limit or 0, cursor=cursor or "")
        response = self._subscription_call("ListSubscriptions", request, idempotent=True)
        return Page([subscription_of(s) for s in response.items], response.next_cursor or None)

    def delete_subscription(self, name: str) -> None:
        self._subscription_call("DeleteSubscription", pb.DeleteSubscriptionRequest(name=name))

    def next_batch(self, name: str, *, max: int, wait: float) -> Batch:
        request = pb.NextRequest(name=name, max=max, wait_seconds=wait)
        response = self._subscription_call(
            "Next", request, timeout=self.timeout + wait, idempotent=True
        )
        return Batch([event_of(e) for e in response.events], response.checkpoint)

    def ack(self, name: str, position: int) -> Subscription:
        request = pb.AckRequest(name=name, position=position)
        return subscription_of(self._subscription_call("Ack", request, idempotent=True))

    def nack(self, name: str, position: int, error: str) -> NackResult:
        request = pb.NackRequest(name=name, position=position, error=error)
        response = self._subscription_call("Nack", request)
        return NackResult(
            position=response.position,
            attempts=response.attempts,
            parked=response.parked,
            checkpoint=response.checkpoint,
        )

    def reset_subscription(self, name: str, to: Any) -> Subscription:
        request = pb.ResetSubscriptionRequest(name=name)
        if isinstance(to, dict):
            request.after = to["after"]
        else:
            request.start = START[to]
        return subscription_of(self._subscription_call("ResetSubscription", request))

    def pause_subscription(self, name: str) -> Subscription:
        request = pb.PauseSubscriptionRequest(name=name)
        return subscription_of(self._subscription_call("PauseSubscription", request))

    def resume_subscription(self, name: str) -> Subscription:
        request = pb.ResumeSubscriptionRequest(name=name)
        return subscription_of(self._subscription_call("ResumeSubscription", request))

    def stream_subscription(self, name: str, *, max_in_flight: int) -> Iterator[Any]:
        request = pb.SubscribeRequest(name=name, max_in_flight=max_in_flight)
        for item in self._stream(self._events.Subscribe, request, idempotent=False):
            if item.WhichOneof("item") == "event":
                yield event_of(item.event)
            else:
                yield CaughtUp(item.caught_up.position)

    def list_parked(self, name: str, *, limit: int | None, cursor: str | None) -> Page[Parked]:
        request = pb.ListParkedRequest(name=name, limit=limit or 0, cursor=cursor or "")
        response = self._subscription_call("ListParked", request, idempotent=True)
        return Page([parked_of(p) for p in response.items], response.next_cursor or None)

    def parked_action(self, name: str, position: int, action: str) -> Any:
        request = pb.ParkedEventRequest(name=name, position=position)
        if action == "retry":
            return parked_of(self._subscription_call("RetryParked", request))
        method = {"skip": "SkipParked", "replay": "ReplayParked"}[action]
        return subscription_of(self._subscription_call(method, request))
