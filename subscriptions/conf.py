"""Constants and the FLIPBOOK_SUBSCRIPTIONS settings of durable subscriptions."""

from __future__ import annotations

import logging
import re
from typing import Any

from streams.conf import DICT_SETTINGS, flipbook_settings

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

# The defaults of FLIPBOOK_SUBSCRIPTIONS, described in streams/conf.py.
DEFAULTS = {key: default for key, (default, _) in DICT_SETTINGS["FLIPBOOK_SUBSCRIPTIONS"].items()}


def config(key: str) -> Any:
    """A value of FLIPBOOK_SUBSCRIPTIONS, or its default."""
    return flipbook_settings.SUBSCRIPTIONS[key]
