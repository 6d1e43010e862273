"""Loading of the configured event store backend (FLIPBOOK_EVENT_STORE, shaped like CACHES)."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from streams.backends.base import BaseEventStore

_lock = threading.Lock()
_store: BaseEventStore | None = None


def create_event_store(config: dict[str, Any]) -> BaseEventStore:
    """Build a backend from a ``{"BACKEND": dotted path, "OPTIONS": {...}}`` dict."""
    try:
        backend_path = config["BACKEND"]
    except (KeyError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FLIPBOOK_EVENT_STORE must be a dict with a 'BACKEND' dotted path, like "
            "{'BACKEND': 'streams.backends.database.DatabaseEventStore', 'OPTIONS': {}}."
        ) from exc
    try:
        backend_class: type[BaseEventStore] = import_string(backend_path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"FLIPBOOK_EVENT_STORE BACKEND {backend_path!r} cannot be imported: {exc}"
        ) from exc
    return backend_class(**config.get("OPTIONS", {}))


def get_event_store() -> BaseEventStore:
    """Return the process-wide event store backend, created on first use."""
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = create_event_store(settings.FLIPBOOK_EVENT_STORE)
    return _store


def _reset(*, setting: str, **kwargs: object) -> None:
    global _store
    if setting in {"FLIPBOOK_EVENT_STORE", "DATABASES"}:
        with _lock:
            if _store is not None:
                _store.close()
            _store = None


setting_changed.connect(_reset)
