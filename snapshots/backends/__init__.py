"""Loading of the configured snapshot store backend (FLIPBOOK_SNAPSHOT_STORE, shaped like
CACHES)."""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed

from snapshots.backends.base import BaseSnapshotStore
from streams.conf import flipbook_settings, load_backend

_lock = threading.Lock()
_store: BaseSnapshotStore | None = None


def create_snapshot_store(config: dict[str, Any]) -> BaseSnapshotStore:
    """Build a backend from a ``{"BACKEND": dotted path, "OPTIONS": {...}}`` dict (see
    ``streams.conf.load_backend``)."""
    return load_backend("FLIPBOOK_SNAPSHOT_STORE", config, BaseSnapshotStore)


def get_snapshot_store() -> BaseSnapshotStore:
    """Return the process-wide snapshot store backend, created on first use."""
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = create_snapshot_store(flipbook_settings.SNAPSHOT_STORE)
    return _store


def _reset(*, setting: str, **kwargs: object) -> None:
    global _store
    if setting in {"FLIPBOOK_SNAPSHOT_STORE", "DATABASES", "FLIPBOOK_REDIS_URL"}:
        with _lock:
            if _store is not None:
                _store.close()
            _store = None


setting_changed.connect(_reset)
