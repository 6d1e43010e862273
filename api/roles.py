"""Console roles: Django groups with permissions, made by a data migration (api/migrations).

- viewer: reads every page, the audit trail included; changes nothing.
- operator: also acts on subscriptions and their parked events, and rebuilds snapshots.
- admin: also manages API keys, and every model in the admin (staff status opens the admin).

Exporting from the feed browser needs ``api.export_events`` (operator and admin by default;
an admin takes it from a group in the admin to switch exports off for that role, and
FLIPBOOK_CONSOLE_EXPORT switches them off for everyone). Personal fields (streams/
personal_data) are masked in the console unless the user holds ``api.view_personal_data``:
the admin group only, by default, because the admin role is the one answerable for personal
data (it manages keys and erasure); viewers and operators debug by event names, ids, positions
and the other fields, and need-to-know keeps the rest out of their screens and files. Staff
status alone does not unmask (superusers hold every permission).

Staff users and superusers keep full access otherwise. FLIPBOOK_CONSOLE_READ_ONLY refuses every
console write action, whoever asks (an export is a read: it stays). The REST API keeps its key
scopes (write for the same actions)."""

from __future__ import annotations

from typing import Any

from streams.conf import flipbook_settings
from streams.exceptions import PermissionDenied

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
OPERATE = "api.operate_subscriptions"
REBUILD = "api.rebuild_snapshots"
VIEW_AUDIT = "api.view_auditrecord"
EXPORT = "api.export_events"
VIEW_PERSONAL = "api.view_personal_data"
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


def may_export(user: Any) -> bool:
    """Whether ``user`` may export events: FLIPBOOK_CONSOLE_EXPORT on, and staff or
    ``api.export_events`` (read-only mode keeps exports: they change nothing)."""
    if not flipbook_settings.CONSOLE_EXPORT or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.is_superuser or user.has_perm(EXPORT))


def may_see_personal(user: Any) -> bool:
    """Whether ``user`` sees personal fields unmasked (``api.view_personal_data``)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or user.has_perm(VIEW_PERSONAL))


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
