"""REST v1 views of durable subscriptions: each checks the key, calls streams/subscriptions.py.

Reading and acknowledging need a read key, managing (create, delete, reset, parked events) a
write key; keys restricted to a stream prefix are refused (a subscription reads the all-feed).
``next`` long-polls without holding a thread or a database connection: ``next_view`` awaits
the subscription notifier between polls (see README, "Durable subscriptions")."""

from __future__ import annotations

import re
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from api.audit import record_key_action
from api.rest import serializers as s
from api.rest.authentication import principal_of
from api.rest.params import int_param, json_object, text_param
from api.rest.schema import JSON, cursor_parameter, errors
from api.rest.views import ApiView
from streams.exceptions import ValidationError
from subscriptions import services as subscriptions

TAGS = ["subscriptions"]
NAME_PATH = OpenApiParameter(
    "name",
    {"type": "string", "pattern": s.SUBSCRIPTION_NAME_PATTERN},
    OpenApiParameter.PATH,
    description="The subscription's name.",
)
POSITION_PATH = OpenApiParameter(
    "position",
    {"type": "integer", "minimum": 1},
    OpenApiParameter.PATH,
    description="The parked event's position.",
)
_NUMBER = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")
POLL_ONCE = "flipbook_poll_once"


def _page_limit(request: Request) -> int:
    limit = int_param(request, "limit", 100)
    if not 1 <= limit <= 1000:
        raise ValidationError("limit", "must be between 1 and 1000")
    return limit


def _wait_param(request: HttpRequest | Request) -> float:
    params = request.query_params if isinstance(request, Request) else request.GET
    value = params.get("wait")
    if value is None or value == "":
        return 0.0
    if not _NUMBER.fullmatch(value) or float(value) > subscriptions.MAX_WAIT_SECONDS:
        raise ValidationError("wait", "must be a number of seconds from 0 to 30")
    return float(value)


class SubscriptionView(ApiView):
    """Base: every operation reads the all-feed, so prefix-restricted keys are refused."""

    def require(self, request: Request, scope: str) -> None:
        principal_of(request).require_unrestricted(scope, "subscriptions")

    def audit(self, request: Request, action: str, name: str, **details: Any) -> None:
        """Record a management action (api/audit.py); reads, acks and nacks are not."""
        record_key_action(request._request, principal_of(request), action, name, **details)


class SubscriptionListView(SubscriptionView):
    query_parameters = frozenset({"limit", "cursor"})
    operations = {"get": "list_subscriptions", "post": "create_subscription"}

    @extend_schema(
        operation_id="list_subscriptions",
        summary="List subscriptions",
        parameters=[
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 1000},
                description="Page size (default 100).",
            ),
            cursor_parameter(),
        ],
        responses={200: s.SubscriptionPageSerializer, **errors(400, 401, 403, 503)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        self.require(request, "read")
        page = subscriptions.list_subscriptions(
            limit=_page_limit(request), cursor=text_param(request, "cursor")
        )
        items = [info.as_dict() for info in page.items]
        return Response({"items": items, "next_cursor": page.next_cursor})

    @extend_schema(
        operation_id="create_subscription",
        summary="Create a subscription",
        description=(
            "A named consumer of the all-feed (or of one category or stream, optionally only "
            "some event names) with a stored checkpoint. `start`: `beginning` (default), "
            '`end`, or `{"after": N}`. With `push` the server delivers the events to a webhook '
            "or a gRPC EventHandler; without it the consumer pulls with `next`. 409 "
            "`already_exists` when the name is taken."
        ),
        request=s.CreateSubscriptionSerializer,
        responses={
            201: s.SubscriptionSerializer,
            **errors(400, 401, 403, 503),
            (409, JSON): OpenApiResponse(
                s.ErrorSerializer, description="already_exists: the name is taken"
            ),
        },
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        self.require(request, "write")
        body = json_object(
            request, {"name", "filter", "start", "max_attempts", "push"}, "a subscription"
        )
        name: Any = body.get("name")  # JSON as sent: the service validates it
        info = subscriptions.create_subscription(
            name,
            filter=body.get("filter"),
            start=body.get("start", "beginning"),
            max_attempts=body.get("max_attempts"),
            push=body.get("push"),
        )
        self.audit(
            request,
            "subscription.create",
            info.name,
            filter=info.filter.as_dict(),
            checkpoint=info.checkpoint,
        )
        return Response(info.as_dict(), status=201)


class SubscriptionDetailView(SubscriptionView):
    operations = {"get": "retrieve_subscription", "delete": "delete_subscription"}

    @extend_schema(
        operation_id="retrieve_subscription",
        summary="A subscription: checkpoint, lag, status, parked events",
        parameters=[NAME_PATH],
        responses={200: s.SubscriptionSerializer, **errors(400, 401, 403, 404, 503)},
        tags=TAGS,
    )
    def get(self, request: Request, name: str) -> Response:
        self.require(request, "read")
        return Response(subscriptions.get_subscription(name).as_dict())

    @extend_schema(
        operation_id="delete_subscription",
        summary="Delete a subscription and its parked events",
        parameters=[NAME_PATH],
        responses={204: None, **errors(400, 401, 403, 404, 503)},
        tags=TAGS,
    )
    def delete(self, request: Request, name: str) -> Response:
        self.require(request, "write")
        subscriptions.delete_subscription(name)
        self.audit(request, "subscription.delete", name)
        return Response(status=204)


class SubscriptionNextView(SubscriptionView):
    query_parameters = frozenset({"wait", "max"})
    operations = {"post": "next_batch"}

    @extend_schema(
        operation_id="next_batch",
        summary="The next batch of a subscription (long-polls)",
        description=(
            "Events after the checkpoint that match the filter, in position order (events "
            "whose retry was asked for come first), at most `max`. When there are none the "
            "request waits up to `wait` seconds for new ones. Events not acknowledged (`ack`) "
            "are delivered again by the next call: at-least-once."
        ),
        parameters=[
            NAME_PATH,
            OpenApiParameter(
                "max",
                {"type": "integer", "minimum": 1, "maximum": 10000},
                description="At most this many events (default 100).",
            ),
            OpenApiParameter(
                "wait",
                {"type": "number", "minimum": 0, "maximum": 30},
                description="Seconds to wait when there is nothing to deliver (default 0).",
            ),
        ],
        request=None,
        responses={200: s.SubscriptionBatchSerializer, **errors(400, 401, 403, 404, 503)},
        tags=TAGS,
    )
    def post(self, request: Request, name: str) -> Response:
        self.require(request, "read")
        wait = _wait_param(request)
        if getattr(request._request, POLL_ONCE, False):
            wait = 0.0  # next_view waits between polls itself
        batch = subscriptions.next_batch(name, max=int_param(request, "max", 100), wait=wait)
        return Response(batch.as_dict())


class SubscriptionAckView(SubscriptionView):
    operations = {"post": "ack"}

    @extend_schema(
        operation_id="ack",
        summary="Acknowledge events (cumulative)",
        description=(
            "Every event at or below `position` is done: the checkpoint moves there (never "
            "back). A position beyond the feed's head is refused."
        ),
        parameters=[NAME_PATH],
        request=s.AckSerializer,
        responses={200: s.SubscriptionSerializer, **errors(400, 401, 403, 404, 503)},
        tags=TAGS,
    )
    def post(self, request: Request, name: str) -> Response:
        self.require(request, "read")
        body = json_object(request, {"position"}, "an ack")
        position: Any = body.get("position")  # JSON as sent: the service validates it
        return Response(subscriptions.ack(name, position).as_dict())


class SubscriptionNackView(SubscriptionView):
    operations = {"post": "nack"}

    @extend_schema(
        operation_id="nack",
        summary="Report a failed event",
        description=(
            "Events before `position` count as acknowledged; the event at `position` is "
            "delivered again, and parked (with the error) after `max_attempts` failures, "
            "when the checkpoint moves past it."
        ),
        parameters=[NAME_PATH],
        request=s.NackSerializer,
        responses={200: s.NackResultSerializer, **errors(400, 401, 403, 404, 503)},
        tags=TAGS,
    )
    def post(self, request: Request, name: str) -> Response:
        self.require(request, "read")
        body = json_object(request, {"position", "error"}, "a nack")
        position: Any = body.get("position")  # JSON as sent: the service validates it
        result = subscriptions.nack(name, position, body.get("error", ""))
        return Response(result.as_dict())


class SubscriptionResetView(SubscriptionView):
    operations = {"post": "reset_subscription"}

    @extend_schema(
        operation_id="reset_subscription",
        summary="Move the checkpoint",
        description=(
            '`to`: "beginning", "end" or {"after": N}. Events after it are delivered again; '
            "parked events after it are dropped (they are delivered again too)."
        ),
        parameters=[NAME_PATH],
        request=s.ResetSerializer,
        responses={200: s.SubscriptionSerializer, **errors(400, 401, 403, 404, 503)},
        tags=TAGS,
    )
    def post(self, request: Request, name: str) -> Response:
        self.require(request, "write")
        body = json_object(request, {"to"}, "a reset")
        if "to" not in body:
            raise ValidationError(
                "to", 'is required: "beginning", "end", {"after": N} or {"at": "<time>"}'
            )
        info = subscriptions.reset_subscription(name, body["to"])
        self.audit(
            request, "subscription.reset", name, to=body["to"], checkpoint_after=info.checkpoint
        )
        return Response(info.as_dict())


class ParkedListView(SubscriptionView):
    query_parameters = frozenset({"limit", "cursor"})
    operations = {"get": "list_parked"}

    @extend_schema(
        operation_id="list_parked",
        summary="A subscription's parked events",
        parameters=[
            NAME_PATH,
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 1000},
                description="Page size (default 100).",
            ),
            cursor_parameter(),
        ],
        responses={200: s.ParkedEventPageSerializer, **errors(400, 401, 403, 404, 503)},
        tags=TAGS,
    )
    def get(self, request: Request, name: str) -> Response:
        self.require(request, "read")
        page = subscriptions.list_parked(
            name, limit=_page_limit(request), cursor=text_param(request, "cursor")
        )
        items = [p.as_dict() for p in page.items]
        return Response({"items": items, "next_cursor": page.next_cursor})


def _parked_action(
    action: str, summary: str, description: str, response: type[Serializer]
) -> type[SubscriptionView]:
    operation = f"{action}_parked"

    class ParkedActionView(SubscriptionView):
        operations = {"post": operation}

        @extend_schema(
            operation_id=operation,
            summary=summary,
            description=description,
            parameters=[NAME_PATH, POSITION_PATH],
            request=None,
            responses={200: response, **errors(400, 401, 403, 404, 503)},
            tags=TAGS,
        )
        def post(self, request: Request, name: str, position: int) -> Response:
            self.require(request, "write")
            result: Any = getattr(subscriptions, operation)(name, position)
            self.audit(request, f"parked.{action}", name, position=position)
            return Response(result.as_dict())

    ParkedActionView.__name__ = ParkedActionView.__qualname__ = f"Parked{action.title()}View"
    return ParkedActionView


ParkedRetryView = _parked_action(
    "retry",
    "Retry a parked event",
    "Deliver it once more: the push worker tries now, a pull consumer gets it first in its "
    "next batch; max_attempts failures park it again.",
    s.ParkedEventSerializer,
)
ParkedSkipView = _parked_action(
    "skip", "Skip a parked event", "Drop it for good.", s.SubscriptionSerializer
)
ParkedReplayView = _parked_action(
    "replay",
    "Replay from a parked event",
    "Set the checkpoint just before it and drop the parked events from it on: it and every "
    "later event are delivered again.",
    s.SubscriptionSerializer,
)


def _pause_action(verb: str, summary: str, description: str) -> type[SubscriptionView]:
    operation = f"{verb}_subscription"

    class PauseView(SubscriptionView):
        operations = {"post": operation}

        @extend_schema(
            operation_id=operation,
            summary=summary,
            description=description,
            parameters=[NAME_PATH],
            request=None,
            responses={200: s.SubscriptionSerializer, **errors(400, 401, 403, 404, 503)},
            tags=TAGS,
        )
        def post(self, request: Request, name: str) -> Response:
            self.require(request, "write")
            info: Any = getattr(subscriptions, operation)(name)
            self.audit(request, f"subscription.{verb}", name)
            return Response(info.as_dict())

    PauseView.__name__ = PauseView.__qualname__ = f"Subscription{verb.title()}View"
    return PauseView


SubscriptionPauseView = _pause_action(
    "pause",
    "Pause a subscription",
    "Nothing is delivered (next returns empty batches, push and gRPC streams send nothing) "
    "until it is resumed; the checkpoint stays.",
)
SubscriptionResumeView = _pause_action(
    "resume", "Resume a paused subscription", "Delivery goes on from the checkpoint."
)


# -- the long-poll ------------------------------------------------------------------------------

_next_once = SubscriptionNextView.as_view()


def _poll(request: HttpRequest, name: str) -> HttpResponse:
    try:
        return _next_once(request, name=name)
    finally:
        subscriptions.release_connections()


async def next_view(request: HttpRequest, name: str) -> HttpResponse:
    """``POST subscriptions/{name}/next``: the DRF view polls once (auth, validation, errors);
    between polls this coroutine awaits the notifier (commits and acks in this process) or a
    short timeout (commits of other processes), holding no thread and no connection."""
    setattr(request, POLL_ONCE, True)
    try:
        wait = _wait_param(request)
    except ValidationError:
        wait = 0.0  # the view answers the validation error
    deadline = time.monotonic() + wait
    delay = 0.05
    # Each poll runs on the shared executor and gives its connection back: between polls the
    # request holds no thread of its own and no database connection.
    poll = sync_to_async(_poll, thread_sensitive=False)
    while True:
        generation = subscriptions.notifier.generation
        response = await poll(request, name)
        remaining = deadline - time.monotonic()
        data = getattr(response, "data", None)
        if (
            response.status_code != 200
            or not isinstance(data, dict)
            or data.get("events")
            or remaining <= 0
            or subscriptions.notifier.closed
        ):
            return response
        if not await subscriptions.notifier.wait_async(generation, min(delay, remaining)):
            delay = min(delay * 2, float(subscriptions.config("POLL_MAX_SECONDS")))


# drf-spectacular documents the DRF view behind this coroutine; CSRF is off as on DRF views.
next_view.cls = SubscriptionNextView  # type: ignore[attr-defined]
next_view.initkwargs = {}  # type: ignore[attr-defined]
next_view.csrf_exempt = True  # type: ignore[attr-defined]
