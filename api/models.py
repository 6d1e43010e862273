"""API keys: stored hashed, shown once, with scopes and an optional stream-id prefix; and the
audit trail of write actions."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from django.db import models

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "fbk"


def _digest(secret: str) -> str:
    # Keys are 256-bit random, so one SHA-256 is safe and keeps per-request checks cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """A client credential. The full key is ``fbk_<key_id>_<secret>``; only a hash is kept."""

    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scope = models.CharField(
        max_length=8,
        choices=[(s, s) for s in SCOPES],
        default="read",
        help_text="read: read only; write: read and append; admin: everything.",
    )
    stream_prefix = models.CharField(
        max_length=256,
        blank=True,
        default="",
        help_text="When set, the key may only touch streams whose id starts with this.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "flipbook_api_key"
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({KEY_PREFIX}_{self.key_id}_…)"

    @classmethod
    def issue(
        cls, name: str, scope: str = "read", stream_prefix: str = "", *, using: str | None = None
    ) -> tuple[ApiKey, str]:
        """Create a key; return it and the full secret key text, which is never shown again."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        key = cls.objects.db_manager(using).create(
            name=name,
            key_id=key_id,
            secret_hash=_digest(secret),
            scope=scope,
            stream_prefix=stream_prefix,
        )
        return key, f"{KEY_PREFIX}_{key_id}_{secret}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, _digest(secret))

    def allows_scope(self, scope: str) -> bool:
        return scope_allows(self.scope, scope)


def scope_allows(held: str, needed: str) -> bool:
    """Whether a key of scope ``held`` may do what needs ``needed`` (scopes are ordered)."""
    return SCOPES.index(held) >= SCOPES.index(needed)


class AuditRecord(models.Model):
    """One write action an operator or a client made, other than an event append (an event is
    its own record): who, what, on which target, when, and from where.

    Its Meta also declares the console's role permissions (see api/roles.py)."""

    INTERFACES = [
        ("console", "console"),
        ("api", "REST API"),
        ("grpc", "gRPC API"),
        ("admin", "admin"),
        ("cli", "CLI"),
    ]

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=200, help_text="A user name, or key:<name> (<key id>).")
    interface = models.CharField(max_length=8, choices=INTERFACES)
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=300, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "flipbook_audit_record"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["actor", "at"], name="flipbook_audit_actor_at")]
        permissions = [
            (
                "operate_subscriptions",
                "Can create, pause, resume, reset and delete subscriptions and act on their "
                "parked events",
            ),
            ("rebuild_snapshots", "Can rebuild snapshots"),
            ("export_events", "Can export events from the console's feed browser"),
            ("view_personal_data", "Can see personal fields unmasked in the console"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%dT%H:%M:%SZ} {self.actor} {self.action} {self.target}"

    @property
    def details_text(self) -> str:
        """The details as compact JSON, for the console and the admin."""
        return json.dumps(self.details, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
