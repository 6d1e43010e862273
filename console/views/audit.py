"""The console's audit page: the trail of write actions, newest first, filtered by who, what,
interface, target and time, paged both ways (api/audit.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from api import roles
from api.audit import list_audit
from api.errors import status_for
from api.models import AuditRecord
from console.views.common import console_page
from streams.exceptions import FlipbookError, PermissionDenied, ValidationError
from streams.validation import validate_timestamp

ACTIONS = (
    "subscription.create",
    "subscription.pause",
    "subscription.resume",
    "subscription.reset",
    "subscription.delete",
    "parked.retry",
    "parked.skip",
    "parked.replay",
    "parked.retry_through",
    "parked.skip_through",
    "snapshot.rebuild",
    "key.create",
    "key.revoke",
)
FILTERS = ("actor", "action", "interface", "target", "since")


def _id(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "")
    if raw == "":
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise ValidationError(name, "is not a page this trail issued")
    return int(raw)


@console_page
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    filters = {name: request.GET.get(name, "").strip()[:200] for name in FILTERS}
    context: dict[str, Any] = {
        "nav": "audit",
        "filters": filters,
        "actions": ACTIONS,
        "interfaces": AuditRecord.INTERFACES,
        "filtered": any(filters.values()),
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "error": None,
    }
    status = 200
    try:
        if not roles.may_view_audit(request.user):
            raise PermissionDenied("your role may not read the audit trail")
        since = validate_timestamp(filters["since"], "since") if filters["since"] else None
        context["page"] = list_audit(
            actor=filters["actor"],
            action=filters["action"],
            interface=filters["interface"],
            target=filters["target"],
            since=since,
            before=_id(request, "before"),
            after=_id(request, "after"),
        )
    except FlipbookError as exc:
        context["error"] = exc.message
        status = status_for(exc)[0]
    return render(request, "console/audit.html", context, status=status)
