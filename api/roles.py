"""Console roles: Django groups with permissions, made by a data migration (api/migrations).

- viewer: reads every page, the audit trail included; changes nothing.
- operator: also acts on subscriptions and their parked events, and rebuilds snapshots.
- admin: also manages API keys, and every model in the admin (staff status opens the admin).

Staff users and superusers keep full access. FLIPBOOK_CONSOLE_READ_ONLY refuses every console
write action, whoever asks. The REST API keeps its key scopes (write for the same actions)."""

from __future__ import annotations

from typing import Any

from streams.conf import flipbook_settings
from streams.exceptions import PermissionDenied

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
OPERATE = "api.operate_subscriptions"
REBUILD = "api.rebuild_snapshots"
VIEW_AUDIT = "api.view_auditrecord"
WHAT = {
    OPERATE: "change subscriptions or their parked events",
    REBUILD: "rebuild snapshots",
}


def read_only() -> bool:
    """True when FLIPBOOK_CONSOLE_READ_ONLY turns every console write action off."""
    return bool(flipbook_settings.CONSOLE_READ_ONLY)


def may(user: Any, permission: str) -> bool:
    """Whether ``user`` may take the console write action guarded by ``permission``."""
    if read_only() or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.is_superuser or user.has_perm(permission))


def may_view_audit(user: Any) -> bool:
    """Whether ``user`` may read the audit trail (every role may; staff always)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.is_superuser or user.has_perm(VIEW_AUDIT))


def require(user: Any, permission: str) -> None:
    """Raise PermissionDenied (403) naming why, unless ``user`` :func:`may` act."""
    if read_only():
        raise PermissionDenied(
            "the console is read-only (FLIPBOOK_CONSOLE_READ_ONLY): it changes nothing"
        )
    if not may(user, permission):
        raise PermissionDenied(
            f"your role may not {WHAT.get(permission, 'do this')}: ask an admin for the "
            "operator role"
        )
