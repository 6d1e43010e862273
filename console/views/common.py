"""What every console view shares: login, the stream named in the query, JSON data answers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, overload

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse

from api import roles
from api.errors import error_body, status_for
from streams.exceptions import FlipbookError, ValidationError
from streams.personal_data.masking import mask_event
from streams.records import RecordedEvent
from streams.validation import validate_int, validate_stream_id

log = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def console_page(view: View) -> View:
    """A console page: login required (Django auth), errors rendered by the page itself."""
    return login_required(view)


def console_data(view: Callable[..., Any]) -> View:
    """A JSON endpoint the console's scripts fetch: session login required; the view returns
    a JSON-able value or raises a FlipbookError, answered with the API's error body and
    status (api/errors.py). A logged-out browser gets 401 JSON, not a login page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return logged_out()
        try:
            return JsonResponse(view(request, *args, **kwargs), safe=False)
        except FlipbookError as exc:
            status, _ = status_for(exc)
            return JsonResponse(error_body(exc), status=status)

    return wrapper


def event_json(request: HttpRequest) -> Callable[[RecordedEvent], dict[str, Any]]:
    """How this request's user sees an event: its JSON form, personal fields masked unless
    the user may see them (api/roles.py)."""
    if roles.may_see_personal(request.user):
        return RecordedEvent.as_dict
    return lambda event: mask_event(event).as_dict()


def logged_out() -> JsonResponse:
    """The answer of a data endpoint to a browser whose session has ended."""
    body = {"error": {"code": "unauthenticated", "message": "Log in again."}}
    return JsonResponse(body, status=401)


def stream_id_param(request: HttpRequest, name: str = "stream") -> str:
    """The valid stream id in the query (``?stream=<id>``: ids may hold slashes, so not the
    path)."""
    stream_id = request.GET.get(name, "")
    if not stream_id:
        raise ValidationError(name, f"name the stream: ?{name}=<state id>")
    return validate_stream_id(stream_id, name)


@overload
def int_param(
    request: HttpRequest,
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int: ...
@overload
def int_param(
    request: HttpRequest,
    name: str,
    default: None = None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None: ...
def int_param(
    request: HttpRequest,
    name: str,
    default: int | None = None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """An optional integer query parameter, at least ``minimum`` and at most ``maximum`` (the
    largest version when not given) when a minimum is given; a clear ValidationError when
    it is not one."""
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(name, f"must be an integer, not {raw[:40]!r}") from None
    if minimum is None:
        return value
    if maximum is None:
        return validate_int(value, name, minimum=minimum)
    return validate_int(value, name, minimum=minimum, maximum=maximum)
