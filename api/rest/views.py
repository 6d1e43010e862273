"""REST v1 views. Each checks the key's scope and streams, calls the store service, and
returns the records' dicts; every error is raised and answered by api/rest/exceptions.py."""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.metrics import observe_commit
from api.rest import serializers as s
from api.rest.authentication import principal_of
from api.rest.middleware import name_operation
from api.rest.ndjson import NDJSONRenderer, ndjson_response, wants_ndjson
from api.rest.params import (
    bool_param,
    int_param,
    json_object,
    line_cap,
    text_param,
    time_param,
)
from api.rest.routing import StreamRoute
from api.rest.schema import (
    DEFAULT_LIMIT,
    JSON,
    NDJSON_NOTE,
    STREAM_ID_PATH,
    STREAM_ID_QUERY,
    cursor_parameter,
    errors,
    integer_schema,
    limit_parameter,
    list_of,
    ndjson_events,
    text_schema,
)
from streams import lifecycle, services
from streams.exceptions import ValidationError
from streams.records import AppendResult, CommitResult, event_dicts
from streams.validation import MAX_CATEGORY, MAX_NAME, MAX_STREAM_ID

APPEND_FIELDS = {"expected_version", "category", "kind", "events"}
SNAPSHOT_FIELDS = {"version", "payload", "label", "revision", "timestamp", "ttl"}
COMMIT_FIELDS = {"streams"}


def append_dict(result: AppendResult) -> dict[str, Any]:
    # Where each event went, not what it says: the client sent the payloads (echoing them
    # cost time and bandwidth, and a large append came back larger than the limit).
    return {
        "stream_id": result.stream_id,
        "version": result.version,
        "duplicate": result.duplicate,
        "events": [
            {
                "id": str(e.id),
                "version": e.version,
                "position": e.position,
                "recorded_at": e.recorded_at.isoformat(),
            }
            for e in result.events
        ],
    }


def created_or_ok(duplicate: bool) -> int:
    # A re-sent identical commit stored nothing new: 200 with the original result.
    return 200 if duplicate else 201


# -- views -----------------------------------------------------------------------------------

# Every view takes ?format= (content negotiation: json, ndjson where offered).
COMMON_QUERY_PARAMETERS = frozenset({"format"})
_PLAIN_ACCEPTS = frozenset({"*/*", "application/json"})


class ApiView(APIView):
    """Base of the v1 views: names each operation for the latency metric, and refuses query
    parameters the view does not read (a typo must not silently widen a read)."""

    operations: dict[str, str] = {}
    query_parameters: frozenset[str] = frozenset()
    # Query parameters only one method takes: {"delete": frozenset({"hard"})}.
    method_query_parameters: dict[str, frozenset[str]] = {}

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # Most calls accept anything or JSON and pick no ?format=: then the answer is the
        # first renderer, without DRF parsing the Accept header (a twentieth of an append).
        accept = request.META.get("HTTP_ACCEPT")
        plain = accept is None or accept in _PLAIN_ACCEPTS
        if plain and "format" not in request.GET and not getattr(self, "format_kwarg", None):
            renderer = self.get_renderers()[0]
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    def initial(self, request: Request, *args, **kwargs) -> None:
        method = (request.method or "").lower()
        name_operation(request._request, self.operations.get(method, "other"))
        super().initial(request, *args, **kwargs)
        known = (
            self.query_parameters
            | self.method_query_parameters.get(method, frozenset())
            | COMMON_QUERY_PARAMETERS
        )
        for name in request.query_params:
            if name not in known:
                raise ValidationError(
                    name,
                    "is not a query parameter of this endpoint; it takes "
                    + (", ".join(sorted(known)) or "none"),
                )


class StreamListView(ApiView):
    query_parameters = frozenset({"prefix", "category", "limit", "cursor"})
    operations = {"get": "list_streams"}

    @extend_schema(
        operation_id="list_streams",
        summary="List streams",
        description=(
            "Stream heads ordered by id, filtered by id prefix and category. A key restricted "
            "to a stream prefix only sees its own streams."
        ),
        parameters=[
            OpenApiParameter(
                "prefix", text_schema(MAX_STREAM_ID), description="Only ids starting so."
            ),
            OpenApiParameter(
                "category", text_schema(MAX_CATEGORY), description="Only this category."
            ),
            limit_parameter(),
            cursor_parameter(),
        ],
        responses={200: s.StreamPageSerializer, **errors(400, 401, 403, 503)},
        tags=["streams"],
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        principal.require("read")
        prefix = text_param(request, "prefix")
        key_prefix = principal.stream_prefix
        if key_prefix:
            if prefix is None or key_prefix.startswith(prefix):
                prefix = key_prefix
            elif not prefix.startswith(key_prefix):
                return Response({"streams": [], "next_cursor": None})
        page = services.list_streams(
            prefix=prefix,
            category=text_param(request, "category"),
            limit=int_param(request, "limit", DEFAULT_LIMIT),
            cursor=text_param(request, "cursor"),
        )
        return Response(
            {"streams": [info.as_dict() for info in page.items], "next_cursor": page.next_cursor}
        )


class StreamRoutedView(ApiView):
    # A view of one operation under streams/<id>. Requests reach it only through
    # stream_route_view, which has read the stream id and operation (api/rest/routing.py).
    # (A comment, not a docstring: the schema would show it as each operation's description.)

    query_parameters = frozenset({"stream_id"})

    route_operation = ""
    stream_route: StreamRoute

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        route = kwargs.pop("route")
        self.stream_route = route
        kwargs["stream_id"] = route.stream_id
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if self.stream_route.error is not None:
            raise self.stream_route.error


class StreamView(StreamRoutedView):
    """A stream's head ("version 0"): its kind, category, version, event count and the store
    times of its first and last events."""

    route_operation = "stream"
    operations = {"get": "stream_head", "delete": "delete_stream"}
    method_query_parameters = {"delete": frozenset({"hard"})}

    @extend_schema(
        operation_id="retrieve_stream",
        summary="Stream info (its head, version 0)",
        parameters=[STREAM_ID_PATH, STREAM_ID_QUERY],
        responses={200: s.StreamSerializer, **errors(400, 401, 403, 404, 503)},
        tags=["streams"],
    )
    def get(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("read", [stream_id])
        return Response(services.stream_head(stream_id).as_dict())

    @extend_schema(
        operation_id="delete_stream",
        summary="Delete a stream (soft, or hard: a tombstone)",
        description=(
            "Soft (default): reads answer 404 until an append starts the stream again, its "
            "versions continuing after the old last one. `?hard=true`: a tombstone; reads and "
            "appends answer 410 `stream_deleted` for ever. The events stay in the all-feed "
            "until a scavenge. Answers the head as it was. Needs the write scope on the stream."
        ),
        parameters=[
            STREAM_ID_PATH,
            STREAM_ID_QUERY,
            OpenApiParameter("hard", OpenApiTypes.BOOL, description="Leave a tombstone."),
        ],
        responses={200: s.StreamSerializer, **errors(400, 401, 403, 404, 410, 503)},
        tags=["streams"],
    )
    def delete(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("write", [stream_id])
        head = lifecycle.delete_stream(stream_id, hard=bool_param(request, "hard"))
        return Response(head.as_dict())


class StreamEventsView(StreamRoutedView):
    query_parameters = frozenset(
        {
            "stream_id",
            "from_version",
            "to_version",
            "since",
            "until",
            "direction",
            "limit",
            "cursor",
        }
    )
    route_operation = "events"
    operations = {"get": "read_stream", "post": "append_to_stream", "delete": "truncate_stream"}
    method_query_parameters = {"delete": frozenset({"before"})}
    renderer_classes = [JSONRenderer, NDJSONRenderer]

    @extend_schema(
        operation_id="read_stream",
        summary="Read a stream's events",
        description=(
            "By version range (inclusive; by position on version-neutral streams) or by natural"
            " time `since`..`until` (inclusive; time-neutral events left out), forwards or "
            "backwards, a page at a time. A stream with no events reads empty. " + NDJSON_NOTE
        ),
        parameters=[
            STREAM_ID_PATH,
            STREAM_ID_QUERY,
            OpenApiParameter("from_version", integer_schema(1), description="First version."),
            OpenApiParameter("to_version", integer_schema(1), description="Last version."),
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Natural time from (ISO 8601; encode '+' as %2B, or use Z).",
            ),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Natural time to."),
            OpenApiParameter(
                "direction",
                OpenApiTypes.STR,
                enum=["forwards", "backwards"],
                default="forwards",
            ),
            limit_parameter(),
            cursor_parameter(),
        ],
        responses={
            (200, JSON): s.EventPageSerializer,
            **ndjson_events(),
            **errors(400, 401, 403, 503),
        },
        tags=["events"],
    )
    def get(self, request: Request, stream_id: str) -> HttpResponseBase:
        principal_of(request).require("read", [stream_id])
        query: dict[str, Any] = {
            "from_version": int_param(request, "from_version"),
            "to_version": int_param(request, "to_version"),
            "since": time_param(request, "since"),
            "until": time_param(request, "until"),
            "direction": request.query_params.get("direction") or "forwards",
        }
        if wants_ndjson(request):
            if text_param(request, "cursor") is not None:
                raise ValidationError(
                    "cursor",
                    "is not used with NDJSON, which streams every event: resume "
                    "with from_version (or since) instead",
                )
            cap = line_cap(request)
            events = services.iter_stream(stream_id, **query)
            return ndjson_response(request, islice(events, cap))
        page = services.read_stream(
            stream_id,
            **query,
            limit=int_param(request, "limit", DEFAULT_LIMIT),
            cursor=text_param(request, "cursor"),
        )
        return Response(
            {
                "stream_id": stream_id,
                "events": event_dicts(page.items),
                "next_cursor": page.next_cursor,
            }
        )

    @extend_schema(
        operation_id="append_to_stream",
        summary="Append events to a stream",
        description=(
            "Checks `expected_version` (or the events' explicit versions) and stores all "
            "events or none. 201 with each stored event's id, version, position and store "
            "time (not its payload: the client sent it); 200 with the original result when "
            "this re-sends an identical stored commit (same event ids and content)."
        ),
        parameters=[STREAM_ID_PATH, STREAM_ID_QUERY],
        request=s.AppendSerializer,
        examples=[
            OpenApiExample(
                "Open a new stream",
                request_only=True,
                value={
                    "expected_version": 0,
                    "category": "file",
                    "events": [
                        {
                            "name": "Created",
                            "payload": {"size": 0},
                            "metadata": {"actor": "alice"},
                            "timestamp": "2024-05-01T10:00:00Z",
                        }
                    ],
                },
            )
        ],
        responses={
            201: s.AppendResultSerializer,
            200: OpenApiResponse(s.AppendResultSerializer, description="An identical re-send."),
            **errors(400, 401, 403, 409, 413, 415, 503),
        },
        tags=["events"],
    )
    def post(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("write", [stream_id])
        body = json_object(request, APPEND_FIELDS, "an append")
        events: Any = body.get("events")  # JSON as sent: the service validates it
        result = services.append_to_stream(
            stream_id,
            events,
            expected_version=body.get("expected_version", "any"),
            category=body.get("category"),
            kind=body.get("kind"),
        )
        observe_commit("rest", CommitResult((result,), duplicate=result.duplicate))
        return Response(append_dict(result), status=created_or_ok(result.duplicate))

    @extend_schema(
        operation_id="truncate_stream",
        summary="Truncate a stream before a version",
        description=(
            "Hides the events below `before` (a version; a position on version-neutral "
            "streams); a read from a lower version answers what remains. Truncation never moves "
            "back; a scavenge removes the events for good. Answers the new head. Needs the "
            "write scope on the stream."
        ),
        parameters=[
            STREAM_ID_PATH,
            STREAM_ID_QUERY,
            OpenApiParameter(
                "before", OpenApiTypes.INT, required=True, description="First ordinal to keep."
            ),
        ],
        responses={200: s.StreamSerializer, **errors(400, 401, 403, 404, 410, 503)},
        tags=["events"],
    )
    def delete(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("write", [stream_id])
        before = int_param(request, "before")
        if before is None:
            raise ValidationError("before", "is required: the first version to keep")
        return Response(lifecycle.truncate_stream(stream_id, before).as_dict())


class LatestEventView(StreamRoutedView):
    """The last event of a stream (404 when it has none)."""

    route_operation = "latest"
    operations = {"get": "latest_event"}

    @extend_schema(
        operation_id="latest_event",
        summary="The last event of a stream",
        parameters=[STREAM_ID_PATH, STREAM_ID_QUERY],
        responses={200: s.EventSerializer, **errors(400, 401, 403, 404, 503)},
        tags=["events"],
    )
    def get(self, request: Request, stream_id: str) -> Response:
        principal_of(request).require("read", [stream_id])
        return Response(services.latest_event(stream_id).as_dict())


class CommitView(ApiView):
    operations = {"post": "commit"}

    @extend_schema(
        operation_id="commit",
        summary="Append to several streams atomically",
        description=(
            "Every stream's check passes and all events are stored, or nothing is. 201 with "
            "what was stored per stream, in request order; 200 for an identical re-send."
        ),
        request=s.CommitSerializer,
        responses={
            201: s.CommitResultSerializer,
            200: OpenApiResponse(s.CommitResultSerializer, description="An identical re-send."),
            **errors(400, 401, 403, 409, 413, 415, 503),
        },
        tags=["events"],
    )
    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        body = json_object(request, COMMIT_FIELDS, "a commit")
        appends: Any = body.get("streams")  # JSON as sent: the service validates it
        stream_ids = []
        if isinstance(appends, list):
            stream_ids = [
                a["stream_id"]
                for a in appends
                if isinstance(a, dict) and isinstance(a.get("stream_id"), str)
            ]
        principal.require("write", stream_ids)
        result = services.commit(appends)
        observe_commit("rest", result)
        body = {
            "duplicate": result.duplicate,
            "last_position": result.last_position,
            "streams": [append_dict(a) for a in result.streams],
        }
        return Response(body, status=created_or_ok(result.duplicate))


class AllEventsView(ApiView):
    query_parameters = frozenset({"after", "category", "name", "limit"})
    operations = {"get": "read_all"}
    renderer_classes = [JSONRenderer, NDJSONRenderer]

    @extend_schema(
        operation_id="read_all",
        summary="The all-feed",
        description=(
            "Events of every stream with position > `after`, in position order, optionally "
            "only of some categories and event names (repeat the parameter for several). "
            "Continue with `?after=<next_after>`: a reader that follows it sees every event "
            "exactly once. Keys restricted to a stream prefix cannot read it. " + NDJSON_NOTE
        ),
        parameters=[
            OpenApiParameter("after", integer_schema(0), description="Position (default 0)."),
            limit_parameter(),
            list_of(text_schema(MAX_CATEGORY), "category", "Only these categories."),
            list_of(text_schema(MAX_NAME), "name", "Only these event names."),
        ],
        responses={
            (200, JSON): s.FeedPageSerializer,
            **ndjson_events(),
            **errors(400, 401, 403, 503),
        },
        tags=["events"],
    )
    def get(self, request: Request) -> HttpResponseBase:
        principal_of(request).require_unrestricted("read", "the all-feed")
        after = int_param(request, "after", 0)
        categories = request.query_params.getlist("category")
        names = request.query_params.getlist("name")
        if wants_ndjson(request):
            cap = line_cap(request)
            events = services.iter_all(after=after, categories=categories, names=names)
            return ndjson_response(request, islice(events, cap))
        page = services.read_all(
            after=after,
            limit=int_param(request, "limit", DEFAULT_LIMIT),
            categories=categories,
            names=names,
        )
        return Response({"events": event_dicts(page.events), "next_after": page.next_after})
