"""The frozen snapshot value that crosses the snapshot store layers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A reduced state of a stream at ``version``, made by the reducer ``revision``.

    ``timestamp`` is the natural time of the state: the newest natural time among the events
    folded into it (a time-neutral event counts at its recorded time), so the state holds every
    event it covers as of that time. ``recorded_at`` is the newest store time among them.
    Snapshots the server makes from events carry both and may serve time queries; snapshots
    set by clients have no ``recorded_at`` and serve version queries only."""

    stream_id: str
    version: int
    payload: Any
    revision: str
    timestamp: datetime | None = None
    label: str = ""
    recorded_at: datetime | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None

    def as_dict(self, *, payload: bool = True) -> dict[str, Any]:
        data = {
            "stream_id": self.stream_id,
            "version": self.version,
            "revision": self.revision,
            "timestamp": _iso(self.timestamp),
            "label": self.label,
            "recorded_at": _iso(self.recorded_at),
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
        }
        if payload:
            data["payload"] = self.payload
        return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
