"""API-key authentication for DRF: ``Authorization: Bearer <key>`` through api/auth.py."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from api.auth import Principal, authenticate_key, bearer_token
from streams.exceptions import Unauthenticated


class KeyUser:
    """``request.user`` for a request made with an API key (no Django user behind it)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def __str__(self) -> str:
        return self.principal.name


class BearerKeyAuthentication(BaseAuthentication):
    """Sets ``request.auth`` to the key's Principal; no header leaves the request anonymous
    (answered 401 by HasApiKey), a bad or unknown key is refused with 401 at once."""

    def authenticate(self, request) -> tuple[KeyUser, Principal] | None:
        try:
            token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
            if token is None:
                return None
            principal = authenticate_key(token)
        except Unauthenticated as exc:
            # DRF marks the request unauthenticated only for its own exception class.
            raise AuthenticationFailed(exc.message) from exc
        return KeyUser(principal), principal

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="flipbook"'


class HasApiKey(BasePermission):
    """Any valid key; each view then checks the key's scope and stream prefix."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Principal)


def principal_of(request) -> Principal:
    """The Principal of an authenticated request (views behind HasApiKey only)."""
    return request.auth


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = BearerKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API key, `fbk_<id>_<secret>`: "
                "`manage.py flipbook_key create NAME --scope write`."
            ),
        }
