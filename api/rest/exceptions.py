"""The one mapping of every REST error to a response: Flipbook errors through api/errors.py,
DRF's and Django's own errors turned into the same ``{"error": {code, message, details}}``."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf

from api.errors import error_body, status_for
from api.metrics import observe_error
from streams import exceptions as flipbook
from streams.validation import limit

logger = logging.getLogger("flipbook.api.rest")

API_PATH_PREFIX = "/api/"


class ProtocolError(flipbook.FlipbookError):
    """An HTTP refusal with no store meaning (405, 406, 415, 429): the status DRF chose, with
    a snake_case code of its own, in the shared error body."""

    def __init__(self, code: str, message: str, http_status: int, **details) -> None:
        super().__init__(message, **details)
        self.code = code
        self.http_status = http_status


def as_flipbook_error(exc: BaseException, request: HttpRequest | None = None) -> BaseException:
    """Translate DRF's and Django's exceptions into the Flipbook error a client sees;
    Flipbook errors and unknown exceptions (answered as internal errors) pass through."""
    if isinstance(exc, flipbook.FlipbookError):
        return exc
    if isinstance(exc, drf.ParseError):
        return flipbook.ValidationError("body", f"is not valid JSON ({_text(exc.detail)})")
    if isinstance(exc, drf.ValidationError):
        return flipbook.ValidationError("body", _text(exc.detail), errors=exc.detail)
    if isinstance(exc, drf.NotAuthenticated):
        return flipbook.Unauthenticated()
    if isinstance(exc, drf.AuthenticationFailed):
        return flipbook.Unauthenticated(_text(exc.detail))
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        return flipbook.PermissionDenied()
    if isinstance(exc, drf.NotFound | Http404):
        return flipbook.NotFound()
    if isinstance(exc, RequestDataTooBig):
        size = _content_length(request)
        return flipbook.TooLarge("request", size, limit("MAX_REQUEST_BYTES"))
    if isinstance(exc, drf.MethodNotAllowed):
        method = request.method if request is not None else ""
        return ProtocolError("method_not_allowed", _text(exc.detail), 405, method=method or "")
    if isinstance(exc, drf.NotAcceptable):
        return ProtocolError(
            "not_acceptable",
            "Accept application/json (or application/x-ndjson where a read can stream).",
            406,
        )
    if isinstance(exc, drf.UnsupportedMediaType):
        return ProtocolError(
            "unsupported_media_type",
            f"{_text(exc.detail)} Send the body as application/json.",
            415,
        )
    if isinstance(exc, drf.Throttled):
        # DRF sets Throttled.wait in __init__; its stubs leave the attribute out.
        wait = exc.wait  # type: ignore[attr-defined]
        return ProtocolError("throttled", _text(exc.detail), 429, retry_after=wait)
    if isinstance(exc, drf.APIException):
        return ProtocolError(exc.default_code, _text(exc.detail), exc.status_code)
    return exc


def error_response(exc: BaseException, request: HttpRequest | None = None) -> JsonResponse:
    """The JSON response for any exception; counts it, and logs the unexpected ones with the
    request id (the log line carries it) but never shows the client a trace."""
    error = as_flipbook_error(exc, request)
    if isinstance(error, ProtocolError):
        status = error.http_status
    else:
        status, _ = status_for(error)
    if status == 500:
        method, path = (request.method, request.path) if request is not None else ("", "")
        logger.error("unexpected error in %s %s", method, path, exc_info=exc)
    elif isinstance(error, flipbook.Unavailable):
        logger.warning("backend unavailable: %s", error.message, exc_info=exc)
    observe_error("rest", error)
    response = JsonResponse(error_body(error), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="flipbook"'
    elif status in (429, 503):
        wait = error.details.get("retry_after") if isinstance(error, ProtocolError) else None
        response["Retry-After"] = str(int(wait or 1))
    return response


def exception_handler(exc: Exception, context: dict) -> JsonResponse:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error raised in a DRF view ends here.

    A plain JsonResponse rather than a DRF Response, so the body is JSON whatever renderer
    content negotiation chose (an NDJSON read that fails answers a JSON error)."""
    request = context.get("request")
    return error_response(exc, getattr(request, "_request", request))


# -- Django-level handlers (flipbook_site/urls.py): JSON under /api/, Django's pages elsewhere


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PATH_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> object:
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return error_response(exception, request)
    return error_response(flipbook.ValidationError("request", "is malformed"), request)


def permission_denied(request: HttpRequest, exception: Exception) -> object:
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return error_response(flipbook.PermissionDenied(), request)


def page_not_found(request: HttpRequest, exception: Exception) -> object:
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return error_response(
        flipbook.NotFound("There is no API endpoint here; the routes are in /api/v1/schema/."),
        request,
    )


def server_error(request: HttpRequest) -> object:
    if not _is_api(request):
        return defaults.server_error(request)
    # Django has logged the exception already (django.request); answer the generic body.
    observe_error("rest", RuntimeError())
    return JsonResponse(error_body(RuntimeError()), status=500)


def _text(detail) -> str:
    if isinstance(detail, list):
        return "; ".join(_text(d) for d in detail)
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in detail.items())
    return str(detail)


def _content_length(request: HttpRequest | None) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        return 0
