"""Login throttling for the console and the admin: after FLIPBOOK_LOGIN_MAX_FAILURES failed
logins for one user name (or four times as many from one address) within
FLIPBOOK_LOGIN_LOCKOUT_SECONDS, further logins, right or wrong, are refused until the window
ends, with a message that says so.

Counts live in Django's cache (per process on the default local-memory cache, so N server
processes allow up to N times the attempts; configure a shared cache to count across them).
This was chosen over django-axes, whose authentication backend must come first and needs the
request on every authenticate() call, for two forms that are easier to guard directly."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache

from streams.conf import flipbook_settings

IP_FACTOR = 4  # one address may hold several users (an office behind one NAT)


def login_throttle() -> tuple[int, int]:
    """(failures allowed, lockout seconds): FLIPBOOK_LOGIN_MAX_FAILURES (0 = no throttling)
    and FLIPBOOK_LOGIN_LOCKOUT_SECONDS."""
    return (
        int(flipbook_settings.LOGIN_MAX_FAILURES),
        int(flipbook_settings.LOGIN_LOCKOUT_SECONDS),
    )


def _keys(request, username: str) -> list[tuple[str, int]]:
    allowed, _ = login_throttle()
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    keys = [(f"flipbook:login:user:{name}", allowed)]
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    if address:
        keys.append((f"flipbook:login:addr:{address}", allowed * IP_FACTOR))
    return keys


def is_locked_out(request, username: str) -> bool:
    allowed, _ = login_throttle()
    if allowed <= 0:
        return False
    return any((cache.get(key) or 0) >= limit for key, limit in _keys(request, username))


def record_failure(request, username: str) -> None:
    allowed, lockout = login_throttle()
    if allowed <= 0:
        return
    for key, _ in _keys(request, username):
        if not cache.add(key, 1, lockout):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, lockout)


def clear_failures(request, username: str) -> None:
    # Only the user's own count: the address's stays, or one good account could reset it.
    cache.delete(_keys(request, username)[0][0])


class ThrottledLoginMixin:
    """For an AuthenticationForm: refuse while locked out, count failures, forget them on a
    successful login."""

    throttled_message = (
        "Too many failed logins for this user or from this address. Logins are locked for "
        "%(minutes)s minutes; wait, then try again."
    )

    throttled = False
    # Provided by the form this is mixed into (AuthenticationForm).
    data: Any
    request: Any

    def clean(self) -> Any:
        username = self.data.get("username", "") or ""
        if is_locked_out(self.request, username):
            self.throttled = True
            minutes = max(1, round(login_throttle()[1] / 60))
            raise forms.ValidationError(
                self.throttled_message % {"minutes": minutes}, code="throttled"
            )
        try:
            cleaned = super().clean()  # type: ignore[misc]  # the form's clean, after this mixin
        except forms.ValidationError:
            record_failure(self.request, username)
            raise
        clear_failures(self.request, username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The console's login form."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's login form."""
