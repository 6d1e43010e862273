"""Masking of personal fields for readers who may not see them (the console without the
permission to): every location the event's personal-data marker names is replaced by
``{"masked": true}``. The marker is written on append (protection.py), from the category's
declaration or the event's own, so it names exactly the fields that were personal when the
event was stored; masking needs no key and no database."""

from __future__ import annotations

from typing import Any

from streams.personal_data.declarations import current
from streams.personal_data.paths import locations, replace_at
from streams.personal_data.protection import _steps
from streams.records import RecordedEvent

MASKED: dict[str, Any] = {"masked": True}


def masked_payload(payload: Any, metadata: Any) -> Any:
    """Return ``payload`` with every field its ``metadata`` marker names as personal
    replaced by ``{"masked": true}`` (the same object when none is)."""
    if not isinstance(metadata, dict):
        return payload
    marker = metadata.get(current().metadata_key)
    fields = marker.get("fields") if isinstance(marker, dict) else None
    if not isinstance(fields, list):
        return payload
    for text in fields:
        steps = _steps(text) if isinstance(text, str) else None
        if steps is None:
            continue
        for where in list(locations(payload, steps)):
            payload = replace_at(payload, where, dict(MASKED))
    return payload


def mask_event(event: RecordedEvent) -> RecordedEvent:
    """``event`` with its personal fields masked."""
    payload = masked_payload(event.payload, event.metadata)
    return event if payload is event.payload else event._replace(payload=payload)


def mask_event_dict(event: dict[str, Any]) -> dict[str, Any]:
    """An event's JSON form (``RecordedEvent.as_dict``) with its personal fields masked."""
    payload = masked_payload(event.get("payload"), event.get("metadata"))
    return event if payload is event.get("payload") else {**event, "payload": payload}
