"""Data keys per subject, kept wrapped in Django's database.

A key wrapper encrypts each data key before it is stored: :class:`LocalKeyWrapper` (the
default) with a key-encryption key derived from ``SECRET_KEY`` (``FLIPBOOK_SECRET_KEY``),
``streams.backends.kms.KmsKeyWrapper`` with an AWS KMS key. Unwrapped keys are cached by
their wrapped bytes only; every read still asks the database which keys exist, so an erasure
takes effect in every process at once."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction

from streams.conf import flipbook_settings

if TYPE_CHECKING:  # the models load with the app registry; the store service loads before it
    from streams.personal_data.models import DataKey

DATA_KEY_BYTES = 32  # AES-256


class KeyWrapper:
    """Encrypts data keys for storage. ``name`` is stored beside each wrapped key."""

    name = "base"

    def wrap(self, data_key: bytes, key_id: str) -> bytes:
        """Return ``data_key`` encrypted, bound to ``key_id``."""
        raise NotImplementedError("a key wrapper must implement wrap()")

    def unwrap(self, wrapped: bytes, key_id: str) -> bytes:
        """Return the data key that :meth:`wrap` encrypted. Raises ValueError when it cannot."""
        raise NotImplementedError("a key wrapper must implement unwrap()")


class LocalKeyWrapper(KeyWrapper):
    """AES-256-GCM under a key-encryption key derived (HKDF-SHA256) from ``secret`` (default:
    Django's SECRET_KEY, which FLIPBOOK_SECRET_KEY sets). Losing or changing that secret makes
    every stored data key unreadable: keep it as carefully as the database backups."""

    name = "local"

    def __init__(self, *, secret: str | None = None) -> None:
        material = (secret if secret is not None else settings.SECRET_KEY).encode()
        self._kek = AESGCM(
            HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=b"flipbook-personal-data",
                info=b"key-encryption-key v1",
            ).derive(material)
        )

    def wrap(self, data_key: bytes, key_id: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._kek.encrypt(nonce, data_key, key_id.encode())

    def unwrap(self, wrapped: bytes, key_id: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self._kek.decrypt(wrapped[:12], wrapped[12:], key_id.encode())
        except InvalidTag as exc:
            raise ValueError("the data key does not unwrap with this secret") from exc


_wrapper: tuple[object, KeyWrapper] | None = None
_wrapper_lock = threading.Lock()


def key_wrapper() -> KeyWrapper:
    """The configured key wrapper (FLIPBOOK_PERSONAL_DATA["KEY_WRAPPER"]), built once per
    value of the setting."""
    global _wrapper
    config = flipbook_settings.PERSONAL_DATA["KEY_WRAPPER"]
    current = _wrapper
    if current is not None and current[0] is config:
        return current[1]
    with _wrapper_lock:
        built = build_key_wrapper(config)
        _wrapper = (config, built)
    return built


def build_key_wrapper(config: object) -> KeyWrapper:
    """Build the key wrapper a ``{"BACKEND": dotted path, "OPTIONS": {...}}`` dict names.
    Raises ImproperlyConfigured naming FLIPBOOK_PERSONAL_DATA["KEY_WRAPPER"] and the fix."""
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.module_loading import import_string

    where = 'FLIPBOOK_PERSONAL_DATA["KEY_WRAPPER"]'
    if not isinstance(config, dict) or not isinstance(config.get("BACKEND"), str):
        raise ImproperlyConfigured(
            f"{where} must be a dict with a 'BACKEND' dotted path, like "
            f"{{'BACKEND': 'streams.personal_data.keys.LocalKeyWrapper'}}."
        )
    try:
        klass = import_string(config["BACKEND"])
    except ImportError as exc:
        raise ImproperlyConfigured(f"{where} BACKEND cannot be imported: {exc}") from exc
    if not (isinstance(klass, type) and issubclass(klass, KeyWrapper)):
        raise ImproperlyConfigured(f"{where} BACKEND {config['BACKEND']!r} is not a KeyWrapper.")
    options = config.get("OPTIONS") or {}
    try:
        wrapper: KeyWrapper = klass(**options)
    except TypeError as exc:
        raise ImproperlyConfigured(
            f"{where} OPTIONS do not fit {config['BACKEND']}: {exc}"
        ) from exc
    return wrapper


# Unwrapped keys by (key id, digest of the wrapped bytes): a KMS unwrap is a network call.
_unwrapped: dict[tuple[uuid.UUID, bytes], bytes] = {}
_MAX_CACHED = 10_000


def _unwrap(row: DataKey) -> bytes | None:
    wrapped = bytes(row.wrapped)
    cache_key = (row.key_id, hashlib.sha256(wrapped).digest())
    raw = _unwrapped.get(cache_key)
    if raw is None:
        try:
            raw = key_wrapper().unwrap(wrapped, str(row.key_id))
        except ValueError:
            return None
        if len(_unwrapped) >= _MAX_CACHED:
            _unwrapped.clear()
        _unwrapped[cache_key] = raw
    return raw


def key_for_subject(subject: str) -> tuple[DataKey, bytes]:
    """Return the subject's data key row and the key itself, creating it on first use
    (racing creators agree on one: the unique subject decides)."""
    from streams.personal_data.models import DataKey

    row = DataKey.objects.filter(subject=subject).first()
    if row is None:
        raw = os.urandom(DATA_KEY_BYTES)
        key_id = uuid.uuid4()
        wrapper = key_wrapper()
        try:
            with transaction.atomic():
                row = DataKey.objects.create(
                    key_id=key_id,
                    subject=subject,
                    wrapped=wrapper.wrap(raw, str(key_id)),
                    wrapper=wrapper.name,
                )
            return row, raw
        except IntegrityError:
            row = DataKey.objects.get(subject=subject)
    raw_key = _unwrap(row)
    if raw_key is None:
        raise ValueError(f"the data key of subject {subject!r} cannot be unwrapped")
    return row, raw_key


def keys_by_id(key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bytes | None]:
    """The data keys that still exist among ``key_ids`` (None for one that cannot be
    unwrapped); an erased key is absent."""
    from streams.personal_data.models import DataKey

    found: dict[uuid.UUID, bytes | None] = {}
    for row in DataKey.objects.filter(key_id__in=list(set(key_ids))):
        found[row.key_id] = _unwrap(row)
    return found


# (key pk, stream id) pairs this process has recorded; a new key (after an erasure) has a
# new pk, so it is recorded again.
_noted: set[tuple[int, str]] = set()


def note_streams(pairs: Iterable[tuple[int, str]]) -> None:
    """Record which streams hold fields encrypted with which keys."""
    from streams.personal_data.models import DataKeyStream

    new = {p for p in pairs if p not in _noted}
    if not new:
        return
    DataKeyStream.objects.bulk_create(
        [DataKeyStream(key_id=pk, stream_id=stream_id) for pk, stream_id in new],
        ignore_conflicts=True,
    )
    if len(_noted) > 100_000:
        _noted.clear()
    _noted.update(new)
