"""The console's subscriptions page: each subscription's lag, status and heartbeat, and its
parked events with retry, skip and replay (forms posted back here, then a redirect)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from api.errors import status_for
from console.views.common import console_page
from streams.exceptions import FlipbookError, PermissionDenied, ValidationError
from subscriptions import services as subscriptions

SHOWN = 100  # subscriptions on the page
PARKED_SHOWN = 20  # parked events listed per subscription
ACTIONS = {
    "retry": subscriptions.retry_parked,
    "skip": subscriptions.skip_parked,
    "replay": subscriptions.replay_parked,
}
DONE = {
    "retry": "will be delivered again",
    "skip": "was dropped",
    "replay": "and every later event will be delivered again",
}


@console_page
@require_http_methods(["GET", "POST"])
def subscriptions_page(request: HttpRequest) -> HttpResponse:
    """GET: the list. POST (staff only): retry, skip or replay one parked event."""
    if request.method == "POST":
        return _act(request)
    context: dict[str, Any] = {"nav": "subscriptions", "rows": [], "error": None}
    status = 200
    try:
        page = subscriptions.list_subscriptions(limit=SHOWN)
        for info in page.items:
            parked = subscriptions.list_parked(info.name, limit=PARKED_SHOWN).items
            context["rows"].append({"info": info, "parked": parked})
        context["more"] = page.next_cursor is not None
    except FlipbookError as exc:
        context["error"] = exc.message
        status = status_for(exc)[0]
    context["can_act"] = request.user.is_staff
    return render(request, "console/subscriptions.html", context, status=status)


def _act(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "")
    action = request.POST.get("action", "")
    try:
        if not request.user.is_staff:
            raise PermissionDenied("only staff users may change subscriptions")
        if action not in ACTIONS:
            raise ValidationError("action", "must be retry, skip or replay")
        raw = request.POST.get("position", "")
        if not raw.isdigit():
            raise ValidationError("position", "must be a whole number")
        ACTIONS[action](name, int(raw))
        messages.success(request, f"{name}: the event at position {raw} {DONE[action]}.")
    except FlipbookError as exc:
        messages.error(request, f"{name}: {exc.message}")
    return HttpResponseRedirect(request.path)
