"""The fast paths of the hottest REST calls: an API-key client appending to one stream, or
reading a page of one.

``POST`` and ``GET /api/v1/streams/{id}/events`` answered without Django's request cycle: no
URL resolution, no middleware chain, no DRF request, negotiation or response rendering, which
together cost three times the append itself (a quarter of a 100-event read). They call the
same service, check the same key scope and prefix, read the body and the query as the JSON
parser, ``json_object`` and ``int_param`` do, and answer the same body and headers as
StreamEventsView (Django's security middleware adds them here too), with the same metrics.
Errors are answered by the REST API's one error mapping (``error_response``).

They take only plain requests: a Bearer key, no cookie, an Accept of nothing, ``*/*`` or
JSON, an id without a literal "/", a host Django accepts; an append with a JSON body of a
declared size and no query string, a read with no body and no query parameters but limit,
cursor, from_version, to_version and direction, each once. Any other request returns None
before anything is done, and goes through Django unchanged; so do requests that Django would
redirect (SECURE_SSL_REDIRECT).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.cache import patch_vary_headers
from rest_framework.renderers import JSONRenderer

from api.auth import authenticate_key, bearer_token, cached_principal
from api.logs import new_request_id
from api.metrics import observe_commit, observe_latency
from api.rest.exceptions import error_response
from api.rest.middleware import REQUEST_ID_HEADER
from api.rest.params import int_param, text_param
from api.rest.parsers import reject_constant
from api.rest.schema import DEFAULT_LIMIT
from api.rest.views import APPEND_FIELDS, StreamEventsView, append_dict, created_or_ok
from streams import services
from streams.exceptions import Unauthenticated, ValidationError
from streams.records import AppendResult, CommitResult, event_dicts
from streams.validation import limit

PREFIX = b"/api/v1/streams/"
SUFFIX = b"/events"
JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
PLAIN_ACCEPTS = frozenset({None, "*/*", "application/json"})

_renderer = JSONRenderer()


# The read's query parameters the fast path reads itself; any other goes through Django.
READ_PARAMETERS = frozenset({"limit", "cursor", "from_version", "to_version", "direction"})


def _events_route(scope: dict[str, Any], method: str) -> bool:
    """Whether ``scope`` is ``method`` on a stream's events (checked on the event loop)."""
    raw = scope.get("raw_path") or b""
    return (
        scope["method"] == method
        and raw.startswith(PREFIX)
        and raw.endswith(SUFFIX)
        and not scope.get("root_path")
    )


def is_fast_append(scope: dict[str, Any]) -> bool:
    """Whether ``scope`` may be a fast append."""
    return _events_route(scope, "POST") and not scope.get("query_string")


def is_fast_read(scope: dict[str, Any]) -> bool:
    """Whether ``scope`` may be a fast read."""
    return _events_route(scope, "GET")


def fast_read(environ: dict[str, Any], body: bytes) -> HttpResponse | None:
    """Answer the read in ``environ`` as StreamEventsView.get would (a JSON page), or None
    to leave the request to Django (before anything was done)."""
    taken = _take(environ, not body and environ.get("CONTENT_LENGTH") in (None, "", "0"))
    if taken is None:
        return None
    request, stream_id = taken
    query = request.GET
    for name in query:
        if name not in READ_PARAMETERS or len(query.getlist(name)) != 1:
            return None
    started = time.perf_counter()
    request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
    close_old_connections()  # as Django's request_started and request_finished do
    try:
        response = _read(request, stream_id)
    finally:
        close_old_connections()
    return _finish(request, response, request_id, started, "read_stream")


def _read(request: WSGIRequest, stream_id: str) -> HttpResponse:
    params: Any = _Query(request.GET)  # what int_param and text_param read of a DRF request
    try:
        principal = authenticate_key(bearer_token(request.META["HTTP_AUTHORIZATION"]) or "")
        principal.require("read", [stream_id])
        page = services.read_stream(
            stream_id,
            from_version=int_param(params, "from_version"),
            to_version=int_param(params, "to_version"),
            since=None,
            until=None,
            # As the view: the service refuses any other direction.
            direction=request.GET.get("direction") or "forwards",  # type: ignore[arg-type]
            limit=int_param(params, "limit", DEFAULT_LIMIT),
            cursor=text_param(params, "cursor"),
        )
    except Exception as exc:  # every error, as the DRF view's: one mapping, nothing leaks
        return error_response(exc, request)
    body = {
        "stream_id": stream_id,
        "events": event_dicts(page.items),
        "next_cursor": page.next_cursor,
    }
    return HttpResponse(_renderer.render(body), content_type="application/json")


class _Query:
    """The ``query_params`` of a DRF request, for the parameter readers."""

    __slots__ = ("query_params",)

    def __init__(self, query: Any) -> None:
        self.query_params = query


def fast_append(environ: dict[str, Any], body: bytes) -> HttpResponse | None:
    """Answer the append in ``environ`` as StreamEventsView.post would, or None to leave the
    request to Django (before anything was done)."""
    taken = _take(environ, _plain_body(environ, len(body)))
    if taken is None:
        return None
    request, stream_id = taken
    started = time.perf_counter()
    request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
    close_old_connections()  # as Django's request_started and request_finished do
    try:
        response = _append(request, stream_id, body)
    finally:
        close_old_connections()
    return _finish(request, response, request_id, started)


async def fast_append_async(
    environ: dict[str, Any], body: bytes, offload: Callable[[Callable[[], None]], object]
) -> HttpResponse | None:
    """:func:`fast_append` on the event loop, for the appends the store can answer there
    (services.append_to_stream_async) by a key verified recently; None for the rest, which
    then take :func:`fast_append` on a thread (nothing was stored)."""
    if not services.appends_on_loop():
        return None
    # A copy: WSGIRequest writes the decoded path into its environ, which the thread's path
    # must then read as the server passed it.
    taken = _take(dict(environ), _plain_body(environ, len(body)))
    if taken is None:
        return None
    request, stream_id = taken
    try:
        principal = cached_principal(bearer_token(environ["HTTP_AUTHORIZATION"]))
    except Unauthenticated:
        return None
    if principal is None:
        return None  # verifying a key reads the database: the thread's path does it
    started = time.perf_counter()
    try:
        principal.require("write", [stream_id])
        fields = _json_object(body)
        events: Any = fields.get("events")  # JSON as sent: the service validates it
        result = await services.append_to_stream_async(
            stream_id,
            events,
            expected_version=fields.get("expected_version", "any"),
            category=fields.get("category"),
            kind=fields.get("kind"),
            offload=offload,
        )
        if result is None:
            return None
        response = _created(result)
    except Exception as exc:  # every error, as the DRF view's: one mapping, nothing leaks
        response = error_response(exc, request)
    request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
    return _finish(request, response, request_id, started)


def _take(environ: dict[str, Any], plain_body: bool) -> tuple[WSGIRequest, str] | None:
    """The request and stream id of a call the fast paths take, else None."""
    if not plain_body:
        return None
    stream_id = _plain_request(environ)
    if stream_id is None:
        return None
    request = WSGIRequest(environ)
    try:
        request.get_host()  # ALLOWED_HOSTS: Django answers a bad host 400
    except DisallowedHost:
        return None
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return None
    return request, stream_id


def _finish(
    request: WSGIRequest,
    response: HttpResponse,
    request_id: str,
    started: float,
    operation: str = "append_to_stream",
) -> HttpResponse:
    """The headers StreamEventsView's answer gets from DRF and the middlewares."""
    response["Allow"] = _allow()
    patch_vary_headers(response, ("Accept",))
    response["Content-Length"] = str(len(response.content))
    response[REQUEST_ID_HEADER] = request_id
    # Their process_response reads only settings and the request: no chain is needed.
    SecurityMiddleware(_no_view).process_response(request, response)
    XFrameOptionsMiddleware(_no_view).process_response(request, response)
    observe_latency("rest", operation, time.perf_counter() - started)
    return response


def _plain_body(environ: dict[str, Any], size: int) -> bool:
    """Whether an append's body is one the fast path takes."""
    if environ.get("CONTENT_TYPE") not in JSON_TYPES:
        return False
    try:
        declared = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        return False
    # Django answers 413, an empty body, or the odd framing.
    return not (size == 0 or declared != size or size > limit("MAX_REQUEST_BYTES"))


def _plain_request(environ: dict[str, Any]) -> str | None:
    """The stream id of a request the fast paths take, else None."""
    authorization = environ.get("HTTP_AUTHORIZATION")
    if not authorization or not authorization.startswith("Bearer "):
        return None
    if "HTTP_COOKIE" in environ or environ.get("HTTP_ACCEPT") not in PLAIN_ACCEPTS:
        return None
    if settings.DISALLOWED_USER_AGENTS:
        return None  # CommonMiddleware checks those
    tail = environ["RAW_URI"].partition("?")[0][len(PREFIX) : -len(SUFFIX)]
    if not tail or "/" in tail or tail == "-":
        return None  # api/rest/routing.py reads those
    try:
        return unquote(tail, errors="strict")
    except UnicodeDecodeError:
        return None


def _append(request: WSGIRequest, stream_id: str, raw: bytes) -> HttpResponse:
    try:
        principal = authenticate_key(bearer_token(request.META["HTTP_AUTHORIZATION"]) or "")
        principal.require("write", [stream_id])
        body = _json_object(raw)
        events: Any = body.get("events")  # JSON as sent: the service validates it
        result = services.append_to_stream(
            stream_id,
            events,
            expected_version=body.get("expected_version", "any"),
            category=body.get("category"),
            kind=body.get("kind"),
        )
    except Exception as exc:  # every error, as the DRF view's: one mapping, nothing leaks
        return error_response(exc, request)
    return _created(result)


def _created(result: AppendResult) -> HttpResponse:
    observe_commit("rest", CommitResult((result,), duplicate=result.duplicate))
    return HttpResponse(
        _renderer.render(append_dict(result)),
        status=created_or_ok(result.duplicate),
        content_type="application/json",
    )


def _json_object(raw: bytes) -> dict[str, Any]:
    """The body as api/rest/parsers.JSONParser and params.json_object read it."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    except RecursionError:
        raise ValidationError("body", "is not valid JSON (JSON is nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("body", f"is not valid JSON (JSON parse error - {exc})") from None
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for field in data:
        if field not in APPEND_FIELDS:
            raise ValidationError(field, "is not a known field of an append")
    return data


@lru_cache(maxsize=1)
def _allow() -> str:
    """The Allow header DRF adds to every answer of StreamEventsView (its methods)."""
    view = StreamEventsView()
    view.head = view.get  # type: ignore[attr-defined]  # as Django's View.setup() does
    return ", ".join(view.allowed_methods)


def _no_view(request: Any) -> HttpResponse:
    raise AssertionError("the fast path only runs the middlewares' process_response")
