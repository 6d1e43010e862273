"""REST views of a stream's state and snapshots: ``streams/<id>/state`` and
``streams/<id>/snapshots[/latest]``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from api.rest import serializers as s
from api.rest.authentication import principal_of
from api.rest.params import int_param, json_object, text_param, time_param
from api.rest.schema import (
    STREAM_ID_PATH,
    STREAM_ID_QUERY,
    errors,
    integer_schema,
    text_schema,
)
from api.rest.views import SNAPSHOT_FIELDS, StreamRoutedView
from snapshots import services as snapshots
from snapshots.state import state_at_time, state_at_version
from streams.exceptions import ValidationError

REVISION_PARAMETER = OpenApiParameter(
    "revision",
    text_schema(s.MAX_SNAPSHOT_REVISION),
    description='Only snapshots of this revision (a reducer revision, or "client").',
)


class StreamStateView(StreamRoutedView):
    query_parameters = frozenset({"stream_id", "version", "at", "known_at"})
    route_operation = "state"
    operations = {"get": "stream_state"}

    @extend_schema(
        operation_id="stream_state",
        summary="The reduced state of a stream",
        description=(
            "The stream category's reducer folded over its events, from the newest usable "
            "snapshot: as of `version` (absent or 0: the latest), or as of natural time `at` "
            "(ISO 8601), optionally as the store knew it at `known_at` (bitemporal). Give "
            "`version` or `at`, not both. 404 for a stream without events or a version beyond "
            "its head; 422 when the reducer fails on the stream's events."
        ),
        parameters=[
            STREAM_ID_PATH,
            STREAM_ID_QUERY,
            OpenApiParameter(
                "version", integer_schema(0), description="The version (0: the latest)."
            ),
            OpenApiParameter(
                "at",
                OpenApiTypes.DATETIME,
                description="Natural time (ISO 8601; encode '+' as %2B, or use Z).",
            ),
            OpenApiParameter(
                "known_at",
                OpenApiTypes.DATETIME,
                description="With `at`: only events the store had recorded by then.",
            ),
        ],
        responses={200: s.StateSerializer, **errors(400, 401, 403, 404, 422, 503)},
        tags=["state"],
    )
    def get(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("read", [stream_id])
        version = int_param(request, "version")
        at = time_param(request, "at")
        known_at = time_param(request, "known_at")
        if at is None:
            if known_at is not None:
                raise ValidationError("known_at", "is only used with at")
            return Response(state_at_version(stream_id, version).as_dict())
        if version is not None:
            raise ValidationError("at", "give either version or at, not both")
        return Response(state_at_time(stream_id, at, known_at).as_dict())


class SnapshotsView(StreamRoutedView):
    query_parameters = frozenset({"stream_id", "revision"})
    route_operation = "snapshots"
    operations = {"get": "list_snapshots", "put": "set_snapshot"}

    @extend_schema(
        operation_id="list_snapshots",
        summary="A stream's snapshots",
        description=(
            "Every stored snapshot of the stream (of `revision` when given), without payloads, "
            "ordered by version then revision; empty when there are none."
        ),
        parameters=[STREAM_ID_PATH, STREAM_ID_QUERY, REVISION_PARAMETER],
        responses={200: s.SnapshotListSerializer, **errors(400, 401, 403, 503)},
        tags=["snapshots"],
    )
    def get(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("read", [stream_id])
        found = snapshots.list_snapshots(stream_id, revision=text_param(request, "revision"))
        return Response({"snapshots": [snap.as_dict(payload=False) for snap in found]})

    @extend_schema(
        operation_id="set_snapshot",
        summary="Store a client's snapshot",
        description=(
            "Stores the state of the stream at `version`, replacing the snapshot of the same "
            'version and revision. The default revision "client" is never used to serve '
            "states; a snapshot is used only when its revision equals the reducer's."
        ),
        parameters=[STREAM_ID_PATH, STREAM_ID_QUERY],
        request=s.SetSnapshotSerializer,
        examples=[
            OpenApiExample(
                "A wallet's state at version 3",
                request_only=True,
                value={
                    "version": 3,
                    "payload": {"owner": "alice", "balance": 70},
                    "label": "nightly",
                },
            )
        ],
        responses={201: s.SnapshotSerializer, **errors(400, 401, 403, 404, 413, 415, 503)},
        tags=["snapshots"],
    )
    def put(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("write", [stream_id])
        body = json_object(request, SNAPSHOT_FIELDS, "a snapshot")
        for field in ("version", "payload"):
            if field not in body:
                raise ValidationError(field, "is required")
        snapshot = snapshots.set_snapshot(
            stream_id,
            body["version"],
            body["payload"],
            revision=body.get("revision", snapshots.CLIENT_REVISION),
            timestamp=body.get("timestamp"),
            label=body.get("label", ""),
            ttl=body.get("ttl"),
        )
        return Response(snapshot.as_dict(), status=201)


class LatestSnapshotView(StreamRoutedView):
    query_parameters = frozenset({"stream_id", "version", "revision"})
    route_operation = "snapshot_latest"
    operations = {"get": "latest_snapshot"}

    @extend_schema(
        operation_id="latest_snapshot",
        summary="A stream's latest snapshot",
        description=(
            "The snapshot with the highest version, at or before `version` when given, of "
            "`revision` when given (else of any revision), payload included; 404 when none."
        ),
        parameters=[
            STREAM_ID_PATH,
            STREAM_ID_QUERY,
            OpenApiParameter(
                "version", integer_schema(1), description="At or before this version."
            ),
            REVISION_PARAMETER,
        ],
        responses={200: s.SnapshotSerializer, **errors(400, 401, 403, 404, 503)},
        tags=["snapshots"],
    )
    def get(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("read", [stream_id])
        snapshot = snapshots.latest_snapshot(
            stream_id,
            version=int_param(request, "version"),
            revision=text_param(request, "revision"),
        )
        return Response(snapshot.as_dict())
