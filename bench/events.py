"""The sample events every system stores: the same names, payloads, metadata and natural
times, built in Python for the timed appends and in SQL for the bulk-loaded streams."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EVENT_NAME = "Deposited"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SampleEvent:
    """One event to append; each system adds its own event id when it stores it."""

    name: str
    payload: dict[str, Any]
    metadata: dict[str, Any]
    timestamp: datetime


def sample_events(count: int) -> list[SampleEvent]:
    """``count`` events of about 150 bytes of JSON each (payload plus metadata)."""
    return [
        SampleEvent(
            name=EVENT_NAME,
            payload={
                "amount": i % 1000,
                "currency": "EUR",
                "account": f"acc-{i % 97}",
                "note": "deposit via bench",
            },
            metadata={"correlation_id": str(uuid.uuid4()), "actor": "bench"},
            timestamp=EPOCH + timedelta(seconds=i),
        )
        for i in range(1, count + 1)
    ]


# The same events as SQL expressions over ``g``, a generate_series(1, n) value.
PAYLOAD_SQL = (
    "jsonb_build_object('amount', mod(g, 1000), 'currency', 'EUR', "
    "'account', 'acc-' || mod(g, 97), 'note', 'deposit via bench')"
)
METADATA_SQL = "jsonb_build_object('correlation_id', gen_random_uuid()::text, 'actor', 'bench')"
TIMESTAMP_SQL = "(timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second')"
NAME_SQL = f"'{EVENT_NAME}'"
