"""Erasure and snapshots: a stored snapshot of a stream that held a subject's personal
fields holds their plaintext (the state was folded from decrypted events), so an erasure
drops those streams' snapshots. Rebuilt ones fold the erased markers instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from snapshots.services import delete_snapshots


def drop_snapshots_of_erased(
    sender: Any, subject: str, stream_ids: Sequence[str], **kwargs: Any
) -> int:
    """Delete every snapshot of ``stream_ids``; return how many were deleted."""
    return sum(delete_snapshots(stream_id) for stream_id in stream_ids)


def connect() -> None:
    from streams.personal_data.signals import subject_erased

    subject_erased.connect(drop_snapshots_of_erased, dispatch_uid="snapshots.erasure")
