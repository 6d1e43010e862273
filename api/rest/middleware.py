"""Request ids on every request, latency of every REST operation."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from api.logs import new_request_id
from api.metrics import observe_latency

REQUEST_ID_HEADER = "X-Request-ID"
_OPERATION_ATTR = "flipbook_operation"
_REQUEST_ID_ATTR = "request_id"  # for views and handlers further in


def name_operation(request: HttpRequest, operation: str) -> None:
    """Label the request's latency with ``operation`` (a fixed name, never the raw path)."""
    setattr(request, _OPERATION_ATTR, operation)


class RequestContextMiddleware:
    """Sets the request id (the client's ``X-Request-ID`` when sane, else a new one) for the
    logs, echoes it in the response, and observes the latency of named REST operations
    (until the response is returned: a streamed body is not included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        setattr(request, _REQUEST_ID_ATTR, request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        operation = getattr(request, _OPERATION_ATTR, None)
        if operation is not None:
            observe_latency("rest", operation, time.perf_counter() - started)
        return response
