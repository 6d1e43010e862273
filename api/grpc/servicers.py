"""The flipbook.v1 EventStore and SnapshotStore servicers: authorise, convert, call the store
service, convert.

Servicers raise Flipbook errors and never build a status themselves: the interceptors map
errors, authenticate, log and measure (api/grpc/interceptors.py)."""

from __future__ import annotations

from collections.abc import Iterator

from api.audit import actor_of_principal, record_grpc_action
from api.grpc import messages
from api.grpc.interceptors import TRANSPORT, check_key_still_active, principal_of
from api.metrics import observe_commit
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from snapshots import services as snapshots
from snapshots.state import state_at_time, state_at_version
from streams import lifecycle, services
from streams.conf import flipbook_settings
from streams.exceptions import ValidationError
from streams.records import CommitResult

# Events per store read while streaming a whole stream or the all-feed.
STREAM_BATCH = 1000
DEFAULT_PAGE = 100


def _batch_size() -> int:
    return min(STREAM_BATCH, flipbook_settings.LIMITS["MAX_READ_LIMIT"])


class EventStoreServicer(eventstore_pb2_grpc.EventStoreServicer):
    """Implements flipbook.v1.EventStore on the store service (streams/services.py)."""

    def Append(self, request: pb.AppendRequest, context) -> pb.AppendResponse:
        principal_of(context).require("write", [request.stream_id])
        append = messages.stream_append(request)
        result = services.append_to_stream(
            append.stream_id,
            append.events,
            expected_version=append.expected_version,
            category=append.category,
            kind=append.kind,
        )
        observe_commit(TRANSPORT, CommitResult((result,), duplicate=result.duplicate))
        return messages.append_response(result)

    def Commit(self, request: pb.CommitRequest, context) -> pb.CommitResponse:
        principal_of(context).require("write", [s.stream_id for s in request.streams])
        appends = [
            messages.stream_append(s, f"streams[{i}]") for i, s in enumerate(request.streams)
        ]
        result = services.commit(appends)
        observe_commit(TRANSPORT, result)
        return messages.commit_response(result)

    def Read(self, request: pb.ReadRequest, context) -> Iterator[pb.ReadResponse]:
        principal_of(context).require("read", [request.stream_id])
        arguments = messages.read_arguments(request)
        cursor = request.cursor or None
        if request.limit:
            page = services.read_stream(**arguments, limit=request.limit, cursor=cursor)
            for event in page.items:
                yield pb.ReadResponse(event=messages.event_message(event))
            if page.next_cursor is not None:
                yield pb.ReadResponse(next_cursor=page.next_cursor)
            return
        # limit 0: every selected event, one bounded store read at a time.
        batch = _batch_size()
        while True:
            check_key_still_active(context)
            page = services.read_stream(**arguments, limit=batch, cursor=cursor)
            for event in page.items:
                yield pb.ReadResponse(event=messages.event_message(event))
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def GetLatest(self, request: pb.GetLatestRequest, context) -> pb.Event:
        principal_of(context).require("read", [request.stream_id])
        return messages.event_message(services.latest_event(request.stream_id))

    def ReadAll(self, request: pb.ReadAllRequest, context) -> Iterator[pb.ReadAllResponse]:
        principal_of(context).require_unrestricted("read", "the all-feed")
        filters = {"categories": request.categories, "names": request.names}
        after = request.after
        if request.limit:
            page = services.read_all(after=after, limit=request.limit, **filters)
            for event in page.events:
                yield pb.ReadAllResponse(event=messages.event_message(event))
            after = page.next_after
        else:
            # limit 0: every event that exists now, one bounded store read at a time.
            batch = _batch_size()
            while True:
                check_key_still_active(context)
                page = services.read_all(after=after, limit=batch, **filters)
                for event in page.events:
                    yield pb.ReadAllResponse(event=messages.event_message(event))
                after = page.next_after
                if len(page.events) < batch:
                    break
        yield pb.ReadAllResponse(checkpoint=pb.Checkpoint(position=after))

    def GetStream(self, request: pb.GetStreamRequest, context) -> pb.StreamInfo:
        principal_of(context).require("read", [request.stream_id])
        return messages.stream_info_message(services.stream_head(request.stream_id))

    def Delete(self, request: pb.DeleteRequest, context) -> pb.StreamInfo:
        principal_of(context).require("write", [request.stream_id])
        head = lifecycle.delete_stream(request.stream_id, hard=request.hard)
        return messages.stream_info_message(head)

    def Truncate(self, request: pb.TruncateRequest, context) -> pb.StreamInfo:
        principal_of(context).require("write", [request.stream_id])
        head = lifecycle.truncate_stream(request.stream_id, request.before)
        return messages.stream_info_message(head)

    def GetRetention(self, request: pb.GetRetentionRequest, context) -> pb.Retention:
        principal_of(context).require("read", [request.stream_id])
        return messages.retention_message(lifecycle.stream_retention(request.stream_id))

    def SetRetention(self, request: pb.SetRetentionRequest, context) -> pb.Retention:
        principal = principal_of(context)
        principal.require("write", [request.stream_id])
        policy = lifecycle.set_stream_retention(
            request.stream_id,
            max_age=request.max_age if request.HasField("max_age") else None,
            max_count=request.max_count if request.HasField("max_count") else None,
        )
        record_grpc_action(
            context.peer(),
            principal,
            "stream.retention_set",
            policy.stream_id,
            max_age=policy.max_age,
            max_count=policy.max_count,
        )
        return messages.retention_message(policy)

    def ClearRetention(self, request: pb.GetRetentionRequest, context) -> pb.Retention:
        principal = principal_of(context)
        principal.require("write", [request.stream_id])
        policy = lifecycle.clear_stream_retention(request.stream_id)
        record_grpc_action(context.peer(), principal, "stream.retention_clear", policy.stream_id)
        return messages.retention_message(policy)

    def Scavenge(self, request: pb.ScavengeRequest, context) -> pb.ScavengeResponse:
        principal = principal_of(context)
        principal.require_unrestricted("admin", "the whole store to scavenge it")
        if not 0 <= request.limit <= lifecycle.MAX_SCAVENGE_REQUEST:
            raise ValidationError(
                "limit", f"must be between 1 and {lifecycle.MAX_SCAVENGE_REQUEST}"
            )
        if request.batch < 0:
            raise ValidationError("batch", "must be a positive integer")
        report = lifecycle.scavenge(
            batch=request.batch or None, limit=request.limit or lifecycle.MAX_SCAVENGE_REQUEST
        )
        record_grpc_action(context.peer(), principal, "store.scavenge", "", **report.as_dict())
        return pb.ScavengeResponse(
            truncated_streams=report.truncated_streams,
            scavenged_streams=report.scavenged_streams,
            removed_events=report.removed_events,
            complete=report.complete,
        )

    def Erase(self, request: pb.EraseRequest, context) -> pb.Erasure:
        principal = principal_of(context)
        principal.require_unrestricted("admin", "personal data of a subject")
        result = services.erase_personal_data(
            request.subject, erased_by=actor_of_principal(principal), via="api"
        )
        record_grpc_action(
            context.peer(),
            principal,
            "subject.erase",
            result.subject,
            keys_destroyed=result.keys_destroyed,
            snapshots_dropped=result.snapshots_dropped,
        )
        return messages.erasure_message(result)

    def ListStreams(self, request: pb.ListStreamsRequest, context) -> pb.ListStreamsResponse:
        principal = principal_of(context)
        principal.require("read")
        prefix = request.prefix
        restriction = principal.stream_prefix
        # A key restricted to a prefix sees only its streams (as over REST): a broader
        # prefix narrows to its own, a disjoint one lists nothing.
        if restriction and not prefix.startswith(restriction):
            if not restriction.startswith(prefix):
                return pb.ListStreamsResponse()
            prefix = restriction
        page = services.list_streams(
            prefix=prefix,
            category=request.category or None,
            limit=request.limit or DEFAULT_PAGE,
            cursor=request.cursor or None,
        )
        return pb.ListStreamsResponse(
            streams=[messages.stream_info_message(s) for s in page.items],
            next_cursor=page.next_cursor or "",
        )

    def Subscribe(self, request: pb.SubscribeRequest, context) -> Iterator[pb.SubscribeResponse]:
        from api.grpc.subscriptions import subscribe  # durable subscriptions live there

        yield from subscribe(request, context)

    def GetState(self, request: pb.GetStateRequest, context) -> pb.State:
        principal_of(context).require("read", [request.stream_id])
        as_of = request.WhichOneof("as_of")
        known_at = messages.timestamp_of(request, "known_at", "known_at")
        if as_of == "at":
            at = messages.timestamp_of(request, "at", "at")
            state = state_at_time(request.stream_id, at, known_at)
        else:
            if known_at is not None:
                raise ValidationError("known_at", "is only used with at")
            version = request.version if as_of == "version" else None
            state = state_at_version(request.stream_id, version)
        return messages.state_message(state)


class SnapshotStoreServicer(eventstore_pb2_grpc.SnapshotStoreServicer):
    """Implements flipbook.v1.SnapshotStore on the snapshot service (snapshots/services.py)."""

    def Set(self, request: pb.SetSnapshotRequest, context) -> pb.Snapshot:
        principal_of(context).require("write", [request.stream_id])
        snapshot = snapshots.set_snapshot(**messages.set_snapshot_arguments(request))
        return messages.snapshot_message(snapshot)

    def Get(self, request: pb.GetSnapshotRequest, context) -> pb.Snapshot:
        principal_of(context).require("read", [request.stream_id])
        snapshot = snapshots.latest_snapshot(
            request.stream_id,
            version=request.version or None,
            revision=request.revision or None,
        )
        return messages.snapshot_message(snapshot)
