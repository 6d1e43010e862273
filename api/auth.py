"""Authentication and authorisation by API key, shared by REST and gRPC."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from api.models import KEY_PREFIX, ApiKey, scope_allows
from streams.conf import flipbook_settings
from streams.exceptions import PermissionDenied, Unauthenticated


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name, scope and stream-id prefix ("" = every stream)."""

    name: str
    scope: str
    stream_prefix: str = ""
    key_pk: int | None = None

    def require(self, scope: str, stream_ids: Iterable[str] = ()) -> None:
        """Raise PermissionDenied unless the key has ``scope`` and may touch every stream."""
        # Not through an ApiKey instance: building a model costs two signals a call.
        if not scope_allows(self.scope, scope):
            raise PermissionDenied(
                f"this API key has scope {self.scope!r}; this operation needs {scope!r}",
                needed_scope=scope,
            )
        if self.stream_prefix:
            for stream_id in stream_ids:
                if not stream_id.startswith(self.stream_prefix):
                    raise PermissionDenied(
                        f"this API key may only touch streams starting with {self.stream_prefix!r}",
                        stream_id=stream_id,
                    )

    def require_unrestricted(self, scope: str, what: str) -> None:
        """Raise PermissionDenied for a prefix-restricted key on a store-wide read."""
        self.require(scope)
        if self.stream_prefix:
            raise PermissionDenied(
                f"a key restricted to streams starting with {self.stream_prefix!r} cannot "
                f"read {what}"
            )


# Verified keys are remembered briefly so a request does not pay a query for its key.
# Saving or deleting a key clears this process's cache at once; other processes see a
# revocation within CACHE_SECONDS.
CACHE_SECONDS = 10.0
_verified: dict[str, tuple[float, Principal]] = {}
_lock = threading.Lock()


def authenticate_key(raw: str | None) -> Principal:
    """Return the Principal of a full key text. Raises Unauthenticated when it is missing,
    malformed, unknown or inactive."""
    if not raw:
        raise Unauthenticated()
    raw = raw.strip()
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthenticated("The API key is malformed; keys look like fbk_<id>_<secret>.")
    cache_key = hashlib.sha256(raw.encode()).hexdigest()
    hit = _verified.get(cache_key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    _, key_id, secret = parts
    key = ApiKey.objects.filter(key_id=key_id, active=True).first()
    if key is None or not key.matches(secret):
        raise Unauthenticated("The API key is unknown or revoked.")
    principal = Principal(key.name, key.scope, key.stream_prefix, key.pk)
    with _lock:
        if len(_verified) > 10_000:
            _verified.clear()
        _verified[cache_key] = (time.monotonic() + CACHE_SECONDS, principal)
    return principal


def cached_principal(raw: str | None) -> Principal | None:
    """The Principal of a key :func:`authenticate_key` verified within its cache time, else
    None (then call that, off the event loop: it reads the database)."""
    if not raw:
        return None
    hit = _verified.get(hashlib.sha256(raw.strip().encode()).hexdigest())
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return None


@receiver([post_save, post_delete], sender=ApiKey)
def _forget_verified_keys(**kwargs) -> None:
    with _lock:
        _verified.clear()


def revocation_check_seconds() -> float:
    """How often an open WebSocket or gRPC stream rechecks its key
    (settings.FLIPBOOK_REVOCATION_CHECK_SECONDS): a revoked key's streams end within it."""
    return float(flipbook_settings.REVOCATION_CHECK_SECONDS)


def key_is_active(principal: Principal) -> bool:
    """Whether the key of ``principal`` exists and is active now (no cache)."""
    if principal.key_pk is None:
        return True
    return ApiKey.objects.filter(pk=principal.key_pk, active=True).exists()


class RevocationWatch:
    """Ends a long-lived call whose key is revoked: :meth:`check`, called often from the
    call's loop, asks the database at most once per revocation_check_seconds()."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.next_check = time.monotonic() + revocation_check_seconds()

    def check(self) -> None:
        """Raise Unauthenticated when the key was revoked or deleted since the call began."""
        if time.monotonic() < self.next_check:
            return
        self.next_check = time.monotonic() + revocation_check_seconds()
        if not key_is_active(self.principal):
            raise Unauthenticated("The API key was revoked; this stream is closed.")


def bearer_token(header: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <key>`` header value, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send the key as 'Authorization: Bearer <key>'.")
    return token.strip()
