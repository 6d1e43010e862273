"""Encryption of personal fields on append, decryption on read, and erasure: the one place
the store service calls, so every backend stores only ciphertext of those fields.

An encrypted field is stored in place of its value as an envelope,
``{"$flipbook:encrypted": {"key_id": ..., "nonce": ..., "ciphertext": ...}}`` (base64), and
the event's metadata names the subject and the paths: ``{"personal_data": {"subject": ...,
"fields": [...]}}``. Reads put the plaintext back while the subject's key exists, and
``{"erased": true}`` once it is destroyed. Encryption is AES-256-GCM with the event id and the
field's location as associated data, and a nonce derived from the key and the plaintext
(synthetic-IV style), so an identical re-send of an event encrypts identically and is
recognised as a duplicate."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import DatabaseError, transaction

from streams.exceptions import NotFound, Unavailable, ValidationError
from streams.personal_data import keys
from streams.personal_data.declarations import CompiledPath, Declaration, current
from streams.personal_data.paths import (
    PathError,
    Step,
    concrete,
    get_at,
    locations,
    parse_path,
    replace_at,
)
from streams.personal_data.signals import erasure_recorded, subject_erased
from streams.records import CommitResult, PreparedAppend, PreparedEvent, RecordedEvent
from streams.validation import compact_json, encode_json, limit, validate_stream_id

if TYPE_CHECKING:  # the models load with the app registry; the store service loads before it
    from streams.personal_data.models import DataKey

ENVELOPE = "$flipbook:encrypted"
ERASED: dict[str, Any] = {"erased": True}
UNDECRYPTABLE: dict[str, Any] = {"undecryptable": True}
MAX_CLIENT_FIELDS = 64
UNREACHABLE = (
    "the personal-data key store (Django's database) cannot be used: check that the database "
    "answers and that `flipbook migrate` has run"
)


def is_envelope(value: Any) -> bool:
    return type(value) is dict and len(value) == 1 and ENVELOPE in value


# -- append -----------------------------------------------------------------------------------


def protect(prepared: tuple[PreparedAppend, ...], store: Any) -> tuple[PreparedAppend, ...]:
    """Return ``prepared`` with every personal field encrypted (the same tuple when there is
    none: the cost with nothing declared is a dict lookup per event). ``store`` answers the
    category of streams an append names none for. Raises ValidationError for a bad marker
    or a missing subject, Unavailable when a key cannot be made or unwrapped."""
    declarations = current()
    if not declarations.categories:
        marker_key = declarations.metadata_key
        for append in prepared:
            for event in append.events:
                if event.metadata and marker_key in event.metadata:
                    return _protect(prepared, store)
        return prepared
    return _protect(prepared, store)


def needs_protection(prepared: tuple[PreparedAppend, ...]) -> bool:
    """Whether :func:`protect` may change ``prepared`` (and so use the database): a category
    declares personal fields, or an event carries the marker. False costs no query."""
    declarations = current()
    if declarations.categories:
        return True
    marker_key = declarations.metadata_key
    return any(
        event.metadata and marker_key in event.metadata
        for append in prepared
        for event in append.events
    )


def _protect(prepared: tuple[PreparedAppend, ...], store: Any) -> tuple[PreparedAppend, ...]:
    declarations = current()
    marker_key = declarations.metadata_key
    subject_keys: dict[str, tuple[DataKey, bytes]] = {}
    noted: set[tuple[int, str]] = set()
    result = []
    for a_index, append in enumerate(prepared):
        prefix = f"streams[{a_index}]." if len(prepared) > 1 else ""
        category = append.category
        if category is None and declarations.categories:
            head = store.head(append.stream_id)
            category = head.category if head is not None else None
        declaration = declarations.categories.get(category) if category else None
        events = []
        changed = False
        for e_index, event in enumerate(append.events):
            field = f"{prefix}events[{e_index}]"
            marker = event.metadata.get(marker_key) if event.metadata else None
            if declaration is None and marker is None:
                events.append(event)
                continue
            protected = _protect_event(
                event, field, append.stream_id, declaration, marker, marker_key, subject_keys
            )
            if protected is None:
                events.append(event)
                continue
            new_event, key_pk = protected
            events.append(new_event)
            noted.add((key_pk, append.stream_id))
            changed = True
        result.append(append._replace(events=tuple(events)) if changed else append)
    if noted:
        try:
            keys.note_streams(noted)
        except DatabaseError as exc:
            raise Unavailable(UNREACHABLE) from exc
    return tuple(result)


def _protect_event(
    event: PreparedEvent,
    field: str,
    stream_id: str,
    declaration: Declaration | None,
    marker: Any,
    marker_key: str,
    subject_keys: dict[str, tuple[DataKey, bytes]],
) -> tuple[PreparedEvent, int] | None:
    paths: list[CompiledPath] = list(declaration.fields) if declaration else []
    subject: str | None = None
    if marker is not None:
        subject, extra = _read_marker(marker, f"{field}.metadata.{marker_key}")
        known = {p.steps for p in paths}
        paths += [p for p in extra if p.steps not in known]
        paths.sort(key=lambda p: len(p.steps))  # a parent before what lies inside it
    payload = event.payload
    found = [(p, where) for p in paths for where in locations(payload, p.steps)]
    if not found:
        return None
    if subject is None and declaration is not None and declaration.subject is not None:
        located = list(locations(payload, declaration.subject.steps))
        value = get_at(payload, located[0]) if len(located) == 1 else None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValidationError(
                f"{field}.payload",
                f"holds personal fields but no subject id at {declaration.subject.text} "
                "(a string or integer), which the category declares",
            )
        subject = validate_stream_id(value, f"{field}.payload")
    if subject is None:
        subject = stream_id
    if subject not in subject_keys:
        try:
            subject_keys[subject] = keys.key_for_subject(subject)
        except ValueError as exc:
            raise Unavailable(
                f"{exc}: was FLIPBOOK_SECRET_KEY or the key wrapper changed?"
            ) from exc
        except DatabaseError as exc:
            raise Unavailable(UNREACHABLE) from exc
    row, raw = subject_keys[subject]
    aead = AESGCM(raw)
    event_id = str(event.id)
    for path in paths:
        for where in list(locations(payload, path.steps)):
            value = get_at(payload, where)
            if not is_envelope(value):
                sealed = _seal(aead, raw, row, event_id, where, value)
                payload = replace_at(payload, where, sealed)
    metadata = dict(event.metadata)
    metadata[marker_key] = {"subject": subject, "fields": [p.text for p in paths]}
    payload_json = compact_json(payload)
    metadata_json = encode_json(metadata, f"{field}.metadata", limit("MAX_METADATA_BYTES"))
    # ``payload`` stays the plaintext: what the append returns and announces to listeners.
    return event._replace(
        payload_json=payload_json, metadata_json=metadata_json, metadata=metadata
    ), row.pk


def _read_marker(marker: Any, field: str) -> tuple[str | None, list[CompiledPath]]:
    if not isinstance(marker, dict):
        raise ValidationError(field, "must be an object like {'subject': ..., 'fields': [...]}")
    unknown = set(marker) - {"subject", "fields"}
    if unknown:
        raise ValidationError(
            f"{field}.{sorted(unknown)[0]}", "is not known: give 'subject' and 'fields'"
        )
    subject = marker.get("subject")
    if subject is not None:
        subject = validate_stream_id(subject, f"{field}.subject")
    fields = marker.get("fields", [])
    if not isinstance(fields, list) or len(fields) > MAX_CLIENT_FIELDS:
        raise ValidationError(
            f"{field}.fields", f"must be a list of at most {MAX_CLIENT_FIELDS} JSON paths"
        )
    paths = []
    for i, text in enumerate(fields):
        try:
            paths.append(CompiledPath(text, parse_path(text)))
        except PathError as exc:
            raise ValidationError(f"{field}.fields[{i}]", str(exc)) from exc
    return subject, paths


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _aad(event_id: str, where: tuple[str | int, ...]) -> bytes:
    return f"{event_id}\x00{concrete(where)}".encode()


def _seal(
    aead: AESGCM, raw: bytes, row: DataKey, event_id: str, where: tuple[str | int, ...], value: Any
) -> dict[str, Any]:
    plaintext = compact_json(value).encode()
    aad = _aad(event_id, where)
    nonce = hmac.new(raw, aad + b"\x00" + plaintext, hashlib.sha256).digest()[:12]
    return {
        ENVELOPE: {
            "key_id": str(row.key_id),
            "nonce": _b64(nonce),
            "ciphertext": _b64(aead.encrypt(nonce, plaintext, aad)),
        }
    }


# -- read -------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _steps(text: str) -> tuple[Step, ...] | None:
    try:
        return parse_path(text)
    except PathError:
        return None


@dataclass(slots=True)
class _Sealed:
    index: int
    where: tuple[str | int, ...]
    envelope: dict[str, Any]


def reveal(events: list[RecordedEvent]) -> list[RecordedEvent]:
    """Return ``events`` with their encrypted fields decrypted, or ``{"erased": true}`` where
    the subject's key is gone (the same list when none has personal fields)."""
    marker_key = current().metadata_key
    todo = [i for i, e in enumerate(events) if e.metadata and marker_key in e.metadata]
    if not todo:
        return events
    sealed: list[_Sealed] = []
    for i in todo:
        event = events[i]
        marker = event.metadata[marker_key]
        fields = marker.get("fields") if isinstance(marker, dict) else None
        if not isinstance(fields, list):
            continue
        for text in fields:
            steps = _steps(text) if isinstance(text, str) else None
            if steps is None:
                continue
            for where in locations(event.payload, steps):
                value = get_at(event.payload, where)
                if is_envelope(value):
                    sealed.append(_Sealed(i, where, value[ENVELOPE]))
    if not sealed:
        return events
    wanted = set()
    for s in sealed:
        key_id = _key_id(s.envelope)
        if key_id is not None:
            wanted.add(key_id)
    try:
        found = keys.keys_by_id(wanted)
    except DatabaseError as exc:
        raise Unavailable(UNREACHABLE) from exc
    out = list(events)
    for s in sealed:
        event = out[s.index]
        value = _open(s.envelope, found, str(event.id), s.where)
        out[s.index] = event._replace(payload=replace_at(event.payload, s.where, value))
    return out


def _key_id(envelope: Any) -> Any:
    import uuid

    try:
        return uuid.UUID(envelope.get("key_id"))
    except (AttributeError, TypeError, ValueError):
        return None


def _open(
    envelope: Any, found: dict[Any, bytes | None], event_id: str, where: tuple[str | int, ...]
) -> Any:
    key_id = _key_id(envelope)
    if key_id is None:
        return dict(UNDECRYPTABLE)
    if key_id not in found:
        return dict(ERASED)
    raw = found[key_id]
    if raw is None:
        return dict(UNDECRYPTABLE)
    try:
        nonce = base64.b64decode(envelope["nonce"], validate=True)
        ciphertext = base64.b64decode(envelope["ciphertext"], validate=True)
        plaintext = AESGCM(raw).decrypt(nonce, ciphertext, _aad(event_id, where))
        return json.loads(plaintext)
    except (KeyError, TypeError, ValueError, binascii.Error, InvalidTag):
        return dict(UNDECRYPTABLE)


def reveal_one(event: RecordedEvent) -> RecordedEvent:
    """:func:`reveal` of one event."""
    return reveal([event])[0]


def reveal_iter(events: Iterator[RecordedEvent], batch: int = 256) -> Iterator[RecordedEvent]:
    """:func:`reveal` over an iteration, ``batch`` events (one key lookup) at a time."""
    while True:
        chunk = list(islice(events, batch))
        if not chunk:
            return
        yield from reveal(chunk)
        if len(chunk) < batch:
            return


def reveal_commit(result: CommitResult) -> CommitResult:
    """:func:`reveal` of a commit's stored events (an idempotent re-send returns those)."""
    streams = tuple(s._replace(events=tuple(reveal(list(s.events)))) for s in result.streams)
    return result._replace(streams=streams)


# -- erasure ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErasureResult:
    """What an erasure did; ``audit_id`` is its Erasure record."""

    subject: str
    keys_destroyed: int
    streams: int
    snapshots_dropped: int
    erased_at: str
    erased_by: str
    audit_id: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "keys_destroyed": self.keys_destroyed,
            "streams": self.streams,
            "snapshots_dropped": self.snapshots_dropped,
            "erased_at": self.erased_at,
            "erased_by": self.erased_by,
            "audit_id": self.audit_id,
        }


def erase_subject(subject: str, *, erased_by: str, via: str = "service") -> ErasureResult:
    """Destroy the subject's data keys, so that every field encrypted with them reads as
    ``{"erased": true}`` everywhere from now on; drop the stored snapshots of the streams
    that held those fields (they hold plaintext state); record who erased what, when.

    Returns an ErasureResult. Raises ValidationError for a bad subject id, NotFound when the
    store holds no key for the subject (never had one, or already erased), Unavailable when
    the key store cannot be reached."""
    from streams.personal_data.models import DataKey, DataKeyStream, Erasure

    subject = validate_stream_id(subject, "subject")
    try:
        rows = list(DataKey.objects.filter(subject=subject))
        if not rows:
            raise NotFound(f"no personal data is stored for subject {subject!r}", subject=subject)
        stream_ids = sorted(
            set(DataKeyStream.objects.filter(key__in=rows).values_list("stream_id", flat=True))
        )
        # Before the keys go: a failing receiver leaves everything as it was, to retry.
        dropped = _drop(subject, stream_ids)
        with transaction.atomic():
            _, per_model = DataKey.objects.filter(pk__in=[r.pk for r in rows]).delete()
            keys_destroyed = per_model.get(DataKey._meta.label, 0)
            audit = Erasure.objects.create(
                subject=subject,
                erased_by=erased_by[:256],
                via=via[:32],
                keys_destroyed=keys_destroyed,
                streams=len(stream_ids),
                snapshots_dropped=dropped,
            )
        # After: a snapshot made from the plaintext in between goes too.
        again = _drop(subject, stream_ids)
        if again:
            audit.snapshots_dropped = dropped + again
            audit.save(update_fields=["snapshots_dropped"])
        erasure_recorded.send(sender=erase_subject, erasure=audit)
    except DatabaseError as exc:
        raise Unavailable(UNREACHABLE) from exc
    return ErasureResult(
        subject,
        audit.keys_destroyed,
        audit.streams,
        audit.snapshots_dropped,
        audit.erased_at.isoformat(),
        audit.erased_by,
        audit.pk,
    )


def _drop(subject: str, stream_ids: Sequence[str]) -> int:
    responses = subject_erased.send(sender=erase_subject, subject=subject, stream_ids=stream_ids)
    dropped = 0
    for _, response in responses:
        count: Any = response
        if isinstance(count, int) and not isinstance(count, bool):
            dropped += count
    return dropped
