"""The console's subscriptions page, live: each subscription's lag, status and heartbeat;
create, pause, resume, reset and delete; its parked events with retry, skip and replay (one,
or every one up to a position) and a triage page per parked event. Forms post back here and
redirect; every write goes through the subscription service, is checked against the user's
role (api/roles.py: 403 otherwise) and is recorded in the audit trail (api/audit.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from api import roles
from api.audit import record_user_action
from api.errors import status_for
from console.health import forget_cached_summary
from console.views.common import console_page, logged_out
from console.views.replay import diff
from snapshots.state import state_at_version
from streams import services as store
from streams.exceptions import FlipbookError, NotFound, PermissionDenied, ValidationError
from streams.personal_data.masking import mask_event
from subscriptions import services as subscriptions

SHOWN = 100  # subscriptions on the page
PARKED_SHOWN = 20  # parked events listed per subscription
PAGE = "/subscriptions/"


def _position(request: HttpRequest, field: str = "position") -> int:
    raw = request.POST.get(field, "")
    if not raw.isdigit() or len(raw) > 19:
        raise ValidationError(field, "must be a whole number")
    return int(raw)


def _reset_target(request: HttpRequest) -> tuple[Any, str]:
    to = request.POST.get("to", "")
    if to in ("beginning", "end"):
        return to, f"the {to}"
    if to == "after":
        position = _position(request, "after")
        return {"after": position}, f"position {position}"
    if to == "at":
        moment = request.POST.get("at", "").strip()
        return {"at": moment}, f"just before the first event recorded after {moment}"
    raise ValidationError("to", "must be beginning, end, after (a position) or at (a time)")


def _create(request: HttpRequest, name: str) -> tuple[str, dict[str, Any]]:
    kind = request.POST.get("filter_kind", "all")
    value = request.POST.get("filter_value", "").strip()
    names = [n.strip() for n in request.POST.get("filter_names", "").split(",") if n.strip()]
    flt: dict[str, Any] = {"names": names}
    if kind == "category":
        flt["category"] = value
    elif kind == "stream":
        flt["stream_id"] = value
    elif kind != "all":
        raise ValidationError("filter_kind", "must be all, category or stream")
    start: Any = request.POST.get("start", "beginning")
    if start == "after":
        start = {"after": _position(request, "start_after")}
    info = subscriptions.create_subscription(name, filter=flt, start=start)
    return (
        f"created; it starts after position {info.checkpoint}",
        {"filter": info.filter.as_dict(), "checkpoint": info.checkpoint},
    )


def _reset(request: HttpRequest, name: str) -> tuple[str, dict[str, Any]]:
    to, described = _reset_target(request)
    before = subscriptions.get_subscription(name).checkpoint
    info = subscriptions.reset_subscription(name, to)
    return (
        f"checkpoint moved from {before} to {info.checkpoint} ({described})",
        {"to": to, "checkpoint_before": before, "checkpoint_after": info.checkpoint},
    )


def _parked(verb: str, done: str) -> Callable[[HttpRequest, str], tuple[str, dict[str, Any]]]:
    def act(request: HttpRequest, name: str) -> tuple[str, dict[str, Any]]:
        position = _position(request)
        getattr(subscriptions, f"{verb}_parked")(name, position)
        return f"the event at position {position} {done}", {"position": position}

    return act


def _through(verb: str, done: str) -> Callable[[HttpRequest, str], tuple[str, dict[str, Any]]]:
    def act(request: HttpRequest, name: str) -> tuple[str, dict[str, Any]]:
        position = _position(request)
        count = getattr(subscriptions, f"{verb}_parked_through")(name, position)
        return (
            f"{count} parked event{'s' if count != 1 else ''} up to position {position} {done}",
            {"through": position, "count": count},
        )

    return act


def _simple(call: Callable[[str], Any], done: str):
    def act(request: HttpRequest, name: str) -> tuple[str, dict[str, Any]]:
        call(name)
        return done, {}

    return act


# action: (audit action, what it does)
ACTIONS: dict[str, tuple[str, Callable[[HttpRequest, str], tuple[str, dict[str, Any]]]]] = {
    "create": ("subscription.create", _create),
    "pause": ("subscription.pause", _simple(subscriptions.pause_subscription, "paused")),
    "resume": ("subscription.resume", _simple(subscriptions.resume_subscription, "resumed")),
    "reset": ("subscription.reset", _reset),
    "delete": ("subscription.delete", _simple(subscriptions.delete_subscription, "deleted")),
    "retry": ("parked.retry", _parked("retry", "will be delivered again")),
    "skip": ("parked.skip", _parked("skip", "was dropped")),
    "replay": ("parked.replay", _parked("replay", "and every later event will be delivered again")),
    "retry-through": ("parked.retry_through", _through("retry", "will be delivered again")),
    "skip-through": ("parked.skip_through", _through("skip", "were dropped")),
}


@console_page
@require_http_methods(["GET", "POST"])
def subscriptions_page(request: HttpRequest) -> HttpResponse:
    """GET: the list. POST (operators): one of ACTIONS on the subscription named ``name``."""
    if request.method == "POST":
        return _act(request)
    context, status = _listing()
    context.update(nav="subscriptions", can_act=roles.may(request.user, roles.OPERATE))
    context["read_only"] = roles.read_only()
    return render(request, "console/subscriptions.html", context, status=status)


@require_GET
def subscriptions_fragment(request: HttpRequest) -> HttpResponse:
    """The list alone (HTML), which the page's script swaps in every few seconds."""
    if not request.user.is_authenticated:
        return logged_out()
    context, status = _listing()
    context["can_act"] = roles.may(request.user, roles.OPERATE)
    response = render(request, "console/_subscriptions_list.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _listing() -> tuple[dict[str, Any], int]:
    context: dict[str, Any] = {"rows": [], "error": None}
    try:
        page = subscriptions.list_subscriptions(limit=SHOWN)
        for info in page.items:
            # Only subscriptions with parked events pay for their list.
            parked = (
                subscriptions.list_parked(info.name, limit=PARKED_SHOWN).items
                if info.parked
                else []
            )
            context["rows"].append({"info": info, "parked": parked})
        context["more"] = page.next_cursor is not None
    except FlipbookError as exc:
        context["error"] = exc.message
        return context, status_for(exc)[0]
    return context, 200


def _act(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "")
    action = request.POST.get("action", "")
    try:
        roles.require(request.user, roles.OPERATE)
    except PermissionDenied as exc:
        return _refused(request, exc)
    back = request.POST.get("next", "")
    target = back if back.startswith("/subscriptions/") else PAGE
    try:
        if action not in ACTIONS:
            raise ValidationError("action", f"must be one of {', '.join(ACTIONS)}")
        audit_action, act = ACTIONS[action]
        done, details = act(request, name)
        record_user_action(request, "console", audit_action, name, **details)
        forget_cached_summary()
        messages.success(request, f"{name}: {done}.")
        if action == "delete":
            target = PAGE
    except FlipbookError as exc:
        messages.error(request, f"{name}: {exc.message}")
    if target == PAGE and action != "delete" and name:
        target += "#sub-" + quote(name)
    return HttpResponseRedirect(target)


def _refused(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render(
        request,
        "console/refused.html",
        {"nav": "subscriptions", "message": exc.message},
        status=status_for(exc)[0],
    )


@console_page
@require_GET
def parked_triage(request: HttpRequest) -> HttpResponse:
    """One parked event in domain terms: the event, its stream's state just before and just
    after it (and what it changed), the error, and every subscription held up by it."""
    context: dict[str, Any] = {"nav": "subscriptions", "error": None}
    status = 200
    name = request.GET.get("name", "")
    try:
        raw = request.GET.get("position", "")
        if not raw.isdigit() or len(raw) > 19:
            raise ValidationError("position", "name the parked event: ?name=<sub>&position=<n>")
        position = int(raw)
        info = subscriptions.get_subscription(name)
        listed = subscriptions.list_parked(name, cursor=str(position - 1), limit=1).items
        parked = listed[0] if listed and listed[0].position == position else None
        if parked is None:
            raise NotFound(f"subscription {name!r} has no parked event at position {position}")
        found = store.read_all(after=position - 1, limit=1).events
        event = found[0] if found and found[0].position == position else None
        context.update(info=info, parked=parked, event=event)
        if event is not None:
            if not roles.may_see_personal(request.user):
                event = mask_event(event)
            context.update(payload=_json(event.payload), metadata=_json(event.metadata))
        context["stuck"] = subscriptions.stuck_behind(position)
        context.update(_states(parked))
    except FlipbookError as exc:
        context["error"] = exc.message
        status = status_for(exc)[0]
    context["can_act"] = roles.may(request.user, roles.OPERATE)
    return render(request, "console/parked.html", context, status=status)


def _states(parked: subscriptions.ParkedInfo) -> dict[str, Any]:
    """The state before and after the parked event (versioned streams only: a
    version-neutral stream has no state to fold)."""
    if parked.version is None:
        return {"state_note": "This stream is version-neutral: it has no folded state."}
    try:
        before = (
            state_at_version(parked.stream_id, parked.version - 1) if parked.version > 1 else None
        )
        after = state_at_version(parked.stream_id, parked.version)
    except FlipbookError as exc:
        return {"state_note": f"The state could not be folded: {exc.message}"}
    before_payload = before.payload if before is not None else None
    return {
        "state_before": _json(before_payload) if before is not None else None,
        "state_after": _json(after.payload),
        "changes": diff(before_payload if before_payload is not None else {}, after.payload),
    }


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
