"""Loading of the configured snapshot store backend (FLIPBOOK_SNAPSHOT_STORE, shaped like
CACHES)."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from snapshots.backends.base import BaseSnapshotStore

_lock = threading.Lock()
_store: BaseSnapshotStore | None = None
DEFAULT = {"BACKEND": "snapshots.backends.database.DatabaseSnapshotStore", "OPTIONS": {}}


def create_snapshot_store(config: dict[str, Any]) -> BaseSnapshotStore:
    """Build a backend from a ``{"BACKEND": dotted path, "OPTIONS": {...}}`` dict."""
    try:
        backend_path = config["BACKEND"]
    except (KeyError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FLIPBOOK_SNAPSHOT_STORE must be a dict with a 'BACKEND' dotted path, like "
            "{'BACKEND': 'snapshots.backends.database.DatabaseSnapshotStore', 'OPTIONS': {}}."
        ) from exc
    try:
        backend_class: type[BaseSnapshotStore] = import_string(backend_path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"FLIPBOOK_SNAPSHOT_STORE BACKEND {backend_path!r} cannot be imported: {exc}"
        ) from exc
    try:
        return backend_class(**config.get("OPTIONS", {}))
    except TypeError as exc:
        raise ImproperlyConfigured(
            f"FLIPBOOK_SNAPSHOT_STORE OPTIONS do not suit {backend_path}: {exc}"
        ) from exc


def get_snapshot_store() -> BaseSnapshotStore:
    """Return the process-wide snapshot store backend, created on first use."""
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = create_snapshot_store(
                    getattr(settings, "FLIPBOOK_SNAPSHOT_STORE", None) or DEFAULT
                )
    return _store


def _reset(*, setting: str, **kwargs: object) -> None:
    global _store
    if setting in {"FLIPBOOK_SNAPSHOT_STORE", "DATABASES", "FLIPBOOK_REDIS_URL"}:
        with _lock:
            if _store is not None:
                _store.close()
            _store = None


setting_changed.connect(_reset)
