"""Loading of the configured event store backend (FLIPBOOK_EVENT_STORE, shaped like CACHES)."""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed

from streams.backends.base import BaseEventStore
from streams.conf import flipbook_settings, load_backend

_lock = threading.Lock()
_store: BaseEventStore | None = None


def create_event_store(config: dict[str, Any]) -> BaseEventStore:
    """Build a backend from a ``{"BACKEND": dotted path, "OPTIONS": {...}}`` dict (see
    ``streams.conf.load_backend``)."""
    return load_backend("FLIPBOOK_EVENT_STORE", config, BaseEventStore)


def get_event_store() -> BaseEventStore:
    """Return the process-wide event store backend, created on first use."""
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = create_event_store(flipbook_settings.EVENT_STORE)
    return _store


def _reset(*, setting: str, **kwargs: object) -> None:
    global _store
    if setting in {"FLIPBOOK_EVENT_STORE", "DATABASES"}:
        with _lock:
            if _store is not None:
                _store.close()
            _store = None


setting_changed.connect(_reset)
