"""Constants and the FLIPBOOK_SUBSCRIPTIONS settings of durable subscriptions."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings

logger = logging.getLogger("flipbook.subscriptions")

NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,100}")
TARGET_PATTERN = re.compile(r"[^\s/]{1,255}:[0-9]{1,5}")
DEFAULT_MAX_ATTEMPTS = 5
MAX_ATTEMPTS_LIMIT = 1000
MAX_WAIT_SECONDS = 30.0
MAX_ERROR_CHARS = 2000
MAX_FILTER_NAMES = 100
CAS_ATTEMPTS = 20
# Parked events being retried: asked for ("retry"), or delivered to a pull consumer ("sent").
RETRYING = ("retry", "sent")

DEFAULTS = {
    "LAG_CAP": 1000,  # lag is counted exactly up to this many events
    "ACK_LAG_CAP": 100,  # ... in the answers of ack and nack, which consumers call often
    "STALL_SECONDS": 60.0,  # lag and no heartbeat for this long: "stalled"
    "HEARTBEAT_SECONDS": 1.0,  # at most one heartbeat write per subscription per this
    "POLL_MAX_SECONDS": 1.0,  # long-poll fallback for commits made by other processes
    "SCAN_BUDGET": 10_000,  # feed events one call scans for a stream filter
    "PUSH_BATCH": 100,
    "PUSH_TIMEOUT_SECONDS": 10.0,
    "PUSH_BACKOFF_SECONDS": 1.0,
    "PUSH_BACKOFF_MAX_SECONDS": 60.0,
    "PUSH_POLL_SECONDS": 1.0,
    "PUSH_LEASE_SECONDS": 30.0,
}


def config(key: str) -> Any:
    """A value of settings.FLIPBOOK_SUBSCRIPTIONS, or its default."""
    return getattr(settings, "FLIPBOOK_SUBSCRIPTIONS", {}).get(key, DEFAULTS[key])
