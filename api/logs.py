"""Structured JSON logs, with the current request id on every line of a request."""

from __future__ import annotations

import contextvars
import json
import logging
import uuid
from datetime import UTC, datetime

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "flipbook_request_id", default=None
)


def new_request_id(incoming: str | None = None) -> str:
    """Use a sane client-sent id (x-request-id), else make one; set it for this context."""
    value = incoming if incoming and len(incoming) <= 64 and incoming.isprintable() else None
    value = value or uuid.uuid4().hex
    request_id.set(value)
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extra fields."""

    RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        for key, value in vars(record).items():
            if key not in self.RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
