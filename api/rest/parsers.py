"""The request body parser: JSON only, size-limited before it is read into memory."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from streams.exceptions import TooLarge
from streams.validation import limit


def reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus the request size limit (FLIPBOOK_MAX_REQUEST_BYTES, 413
    too_large) and a 400 instead of a crash for JSON nested too deeply to decode."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        max_bytes = limit("MAX_REQUEST_BYTES")
        request = parser_context.get("request")
        meta = request.META if request is not None else {}
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > max_bytes:
            raise TooLarge("request", declared, max_bytes)
        raw = stream.read(max_bytes + 1) if stream is not None else b""
        if len(raw) > max_bytes:
            raise TooLarge("request", len(raw), max_bytes)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_constant=reject_constant)
        except RecursionError as exc:
            raise ParseError("JSON is nested too deeply") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
