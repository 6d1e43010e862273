"""The audit trail: every write action from the console, the REST or gRPC API, the admin or
the CLI (subscriptions, parked events, snapshot rebuilds, API keys) is recorded with who, what, the
target, when and from where. Event appends are not: an event is its own record (its id,
recorded_at and metadata)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest

from api.auth import Principal
from api.models import AuditRecord
from streams.exceptions import ValidationError

PAGE_SIZE = 50


def record_action(
    *,
    actor: str,
    interface: str,
    action: str,
    target: str = "",
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    """Store one audit record and return it. ``action`` is ``<thing>.<verb>`` (e.g.
    ``subscription.reset``); ``interface`` is console, api, grpc, admin or cli."""
    return AuditRecord.objects.create(
        actor=actor[:200],
        interface=interface,
        action=action,
        target=target[:300],
        ip=ip,
        details=details or {},
    )


def client_ip(request: HttpRequest) -> str | None:
    """The peer address of ``request`` (the proxy's, behind one: X-Forwarded-For is not
    trusted, as it is any client's to write)."""
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def actor_of_principal(principal: Principal) -> str:
    """How an API key appears in the trail: its name and row id (names need not be unique)."""
    return f"key:{principal.name}#{principal.key_pk}"


def record_user_action(
    request: HttpRequest, interface: str, action: str, target: str = "", **details: Any
) -> AuditRecord:
    """Record an action of the logged-in user of ``request`` (console or admin)."""
    return record_action(
        actor=request.user.get_username(),
        interface=interface,
        action=action,
        target=target,
        ip=client_ip(request),
        details=details,
    )


def record_key_action(
    request: HttpRequest, principal: Principal, action: str, target: str = "", **details: Any
) -> AuditRecord:
    """Record an action an API key made through the REST API."""
    return record_action(
        actor=actor_of_principal(principal),
        interface="api",
        action=action,
        target=target,
        ip=client_ip(request),
        details=details,
    )


def peer_ip(peer: str) -> str | None:
    """The address in a gRPC peer string (``ipv4:127.0.0.1:5000``, ``ipv6:[::1]:5000``)."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        raw = rest.rpartition(":")[0]
    elif kind == "ipv6":
        raw = rest.rpartition("]")[0].lstrip("[")
    else:
        return None  # a unix socket
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def record_grpc_action(
    peer: str, principal: Principal, action: str, target: str = "", **details: Any
) -> AuditRecord:
    """Record an action an API key made through the gRPC API (``peer``: the call's peer)."""
    return record_action(
        actor=actor_of_principal(principal),
        interface="grpc",
        action=action,
        target=target,
        ip=peer_ip(peer),
        details=details,
    )


@dataclass(frozen=True)
class AuditPage:
    """A page of the trail, newest first; ``older``/``newer`` are the ids to page on with."""

    records: list[AuditRecord]
    older: int | None
    newer: int | None


def list_audit(
    *,
    actor: str = "",
    action: str = "",
    interface: str = "",
    target: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """A page of audit records, newest first, filtered by actor, action prefix, interface,
    target substring and time; keyset paging by id (``before``: older, ``after``: newer), so
    a page costs one indexed query however long the trail. Raises ValidationError."""
    if interface and interface not in dict(AuditRecord.INTERFACES):
        raise ValidationError("interface", "must be console, api, grpc, admin or cli")
    rows = AuditRecord.objects.all()
    if actor:
        rows = rows.filter(actor=actor)
    if action:
        rows = rows.filter(action__startswith=action)
    if interface:
        rows = rows.filter(interface=interface)
    if target:
        rows = rows.filter(target__contains=target)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lte=until)
    if after is not None:
        # Newer records: read upwards from ``after``, then show them newest first.
        found = list(rows.filter(id__gt=after).order_by("id")[: limit + 1])
        more_newer = len(found) > limit
        records = list(reversed(found[:limit]))
        return AuditPage(
            records,
            older=records[-1].id if records else None,
            newer=records[0].id if records and more_newer else None,
        )
    if before is not None:
        rows = rows.filter(id__lt=before)
    found = list(rows.order_by("-id")[: limit + 1])
    records = found[:limit]
    return AuditPage(
        records,
        older=records[-1].id if len(found) > limit else None,
        newer=records[0].id if records and before is not None else None,
    )
