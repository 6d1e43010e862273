"""REST v1: a stream's retention policy (``streams/<id>/retention``) and scavenging
(``scavenges``), see docs/concepts/lifecycle.md."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.audit import record_key_action
from api.rest.authentication import principal_of
from api.rest.params import json_object
from api.rest.schema import STREAM_ID_PATH, STREAM_ID_QUERY, errors
from api.rest.views import ApiView, StreamRoutedView
from streams import lifecycle
from streams.exceptions import ValidationError

RETENTION_FIELDS = {"max_age", "max_count"}
SCAVENGE_FIELDS = {"batch", "limit"}
MAX_SCAVENGE_LIMIT = lifecycle.MAX_SCAVENGE_REQUEST


class RetentionRequestSerializer(serializers.Serializer):
    max_age = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="Keep events at most this many seconds after they were recorded.",
    )
    max_count = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="Keep only the newest this many events.",
    )


class RetentionSerializer(serializers.Serializer):
    stream_id = serializers.CharField()
    # DRF takes declared fields out of the class; mypy sees Field.source.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["stream", "category", "none"],
        help_text="Where the policy comes from: the stream's own, its category's "
        "(FLIPBOOK_RETENTION), or none.",
    )
    max_age = serializers.IntegerField(allow_null=True)
    max_count = serializers.IntegerField(allow_null=True)
    category = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField(
        allow_null=True, help_text="When the stream's own policy was set."
    )


class ScavengeRequestSerializer(serializers.Serializer):
    batch = serializers.IntegerField(
        min_value=1, required=False, help_text="Events per write (FLIPBOOK_SCAVENGE_BATCH)."
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_SCAVENGE_LIMIT,
        required=False,
        help_text=f"Stop after removing this many events (at most {MAX_SCAVENGE_LIMIT}).",
    )


class ScavengeSerializer(serializers.Serializer):
    truncated_streams = serializers.IntegerField(
        help_text="Streams whose retention moved their truncation point."
    )
    scavenged_streams = serializers.IntegerField(help_text="Streams that lost events for good.")
    removed_events = serializers.IntegerField()
    complete = serializers.BooleanField(
        help_text="False when the run stopped at its limit: send another for the rest."
    )


class StreamRetentionView(StreamRoutedView):
    route_operation = "retention"
    operations = {
        "get": "stream_retention",
        "put": "set_stream_retention",
        "delete": "clear_stream_retention",
    }

    @extend_schema(
        operation_id="stream_retention",
        summary="The retention policy of a stream",
        description=(
            "The policy the next scavenge applies to the stream: its own (`source` "
            '"stream"), else its category\'s in FLIPBOOK_RETENTION ("category"), else none.'
        ),
        parameters=[STREAM_ID_PATH, STREAM_ID_QUERY],
        responses={200: RetentionSerializer, **errors(400, 401, 403, 503)},
        tags=["streams"],
    )
    def get(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("read", [stream_id])
        return Response(lifecycle.stream_retention(stream_id).as_dict())

    @extend_schema(
        operation_id="set_stream_retention",
        summary="Set a stream's own retention policy",
        description=(
            "Like KurrentDB's $maxAge/$maxCount: keep events at most `max_age` seconds and/or "
            "only the newest `max_count`. Replaces the stream's previous policy and its "
            "category's; a scavenge applies it. The stream need not exist yet. 400 unless at "
            "least one is a positive integer; 410 on a hard-deleted stream. Needs write scope."
        ),
        parameters=[STREAM_ID_PATH, STREAM_ID_QUERY],
        request=RetentionRequestSerializer,
        responses={200: RetentionSerializer, **errors(400, 401, 403, 410, 415, 503)},
        tags=["streams"],
    )
    def put(self, request: Request, stream_id: str) -> Response:
        principal = principal_of(request)
        principal.require("write", [stream_id])
        body = json_object(request, RETENTION_FIELDS, "a retention policy")
        max_age: Any = body.get("max_age")  # as sent: the service validates them
        max_count: Any = body.get("max_count")
        policy = lifecycle.set_stream_retention(stream_id, max_age=max_age, max_count=max_count)
        record_key_action(
            request._request,
            principal,
            "stream.retention_set",
            policy.stream_id,
            max_age=policy.max_age,
            max_count=policy.max_count,
        )
        return Response(policy.as_dict())

    @extend_schema(
        operation_id="clear_stream_retention",
        summary="Clear a stream's own retention policy",
        description=(
            "Its category's policy (if any) applies again; answers the policy that applies "
            "now. 404 when the stream has no policy of its own. Needs write scope."
        ),
        parameters=[STREAM_ID_PATH, STREAM_ID_QUERY],
        responses={200: RetentionSerializer, **errors(400, 401, 403, 404, 503)},
        tags=["streams"],
    )
    def delete(self, request: Request, stream_id: str) -> Response:
        principal = principal_of(request)
        principal.require("write", [stream_id])
        policy = lifecycle.clear_stream_retention(stream_id)
        record_key_action(request._request, principal, "stream.retention_clear", policy.stream_id)
        return Response(policy.as_dict())


class ScavengeView(ApiView):
    operations = {"post": "scavenge"}

    @extend_schema(
        operation_id="scavenge",
        summary="Scavenge: apply retention, remove what deletes and truncations hid",
        description=(
            "Applies each stream's retention policy (its own, else its category's), then "
            "removes for good the events of hard-deleted streams and those below truncation "
            "points, in short writes of `batch` events (appends keep running). Stops after "
            f"`limit` removed events (default and at most {MAX_SCAVENGE_LIMIT}): `complete` "
            "false means more is left, so send another. Positions of what remains never "
            "change. Needs an admin key valid for every stream."
        ),
        request=ScavengeRequestSerializer,
        responses={200: ScavengeSerializer, **errors(400, 401, 403, 415, 503)},
        tags=["streams"],
    )
    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        principal.require_unrestricted("admin", "the whole store to scavenge it")
        body = json_object(request, SCAVENGE_FIELDS, "a scavenge")
        batch: Any = body.get("batch")
        limit: Any = body.get("limit", MAX_SCAVENGE_LIMIT)
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > MAX_SCAVENGE_LIMIT:
            raise ValidationError("limit", f"must be between 1 and {MAX_SCAVENGE_LIMIT}")
        report = lifecycle.scavenge(batch=batch, limit=limit)
        record_key_action(request._request, principal, "store.scavenge", "", **report.as_dict())
        return Response(report.as_dict())
