"""The OpenAPI description of REST v1: building blocks the views' @extend_schema use, and the
postprocessing of what drf-spectacular cannot say from serializer fields alone."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from api.rest import serializers as s
from api.rest.ndjson import NDJSON
from api.rest.routing import ID_PARAMETER, ID_PLACEHOLDER
from streams.conf import flipbook_settings
from streams.validation import MAX_STREAM_ID, MAX_VERSION

JSON = "application/json"
DEFAULT_LIMIT = 100
EXAMPLE_STREAM_ID = "/unique/path/to/file"

ERROR_DESCRIPTIONS = {
    400: "validation_error: a bad id, version, JSON value, query parameter or cursor",
    401: "unauthenticated: no key, or a malformed, unknown or revoked one",
    403: "permission_denied: the key's scope or stream prefix does not allow this",
    404: "not_found",
    410: "stream_deleted: the stream was hard-deleted (a tombstone) and takes no reads or appends",
    409: "version_conflict (details.current_version names the stream's version) or "
    "id_conflict (an event id is stored with other content)",
    413: "too_large: a payload, metadata or the whole request is over its limit",
    415: "unsupported_media_type: send application/json",
    422: "reducer_error: the stream's reducer failed on an event, returned a state that is not "
    "JSON, or its category's reducer is misconfigured",
    503: "unavailable: the backend cannot be reached now; retry later",
}


def errors(*codes: int) -> dict:
    """The documented error responses of an operation: always the JSON error body."""
    return {
        (code, JSON): OpenApiResponse(s.ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in codes
    }


def text_schema(max_length: int) -> dict:
    """A non-empty string without control characters, as the store validates ids and names."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": s.NO_CONTROL_CHARACTERS,
    }


def integer_schema(minimum: int, maximum: int = MAX_VERSION) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def list_of(item_schema: dict, name: str, description: str) -> OpenApiParameter:
    """A repeatable query parameter: ``?name=a&name=b``."""
    return OpenApiParameter(
        name,
        {"type": "array", "items": item_schema},
        style="form",
        explode=True,
        description=f"{description} Repeat it for several: `?{name}=a&{name}=b`.",
    )


STREAM_ID_PATH = OpenApiParameter(
    "stream_id",
    text_schema(MAX_STREAM_ID),
    OpenApiParameter.PATH,
    description=(
        "The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is "
        "`%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). "
        f"Or `{ID_PLACEHOLDER}` here with the id in the `{ID_PARAMETER}` query parameter."
    ),
    examples=[OpenApiExample("A path-like id", value=EXAMPLE_STREAM_ID)],
)
STREAM_ID_QUERY = OpenApiParameter(
    ID_PARAMETER,
    text_schema(MAX_STREAM_ID),
    OpenApiParameter.QUERY,
    description=(
        f"The stream id, when the path holds `{ID_PLACEHOLDER}` in its place: works behind any "
        "server, also for ids ending in `/events` that a server decoding `%2F` would misroute."
    ),
)


def limit_parameter() -> OpenApiParameter:
    max_limit = flipbook_settings.LIMITS["MAX_READ_LIMIT"]
    return OpenApiParameter(
        "limit",
        integer_schema(1, max_limit),
        description=f"Page size, 1 to {max_limit} (default {DEFAULT_LIMIT}).",
    )


def cursor_parameter() -> OpenApiParameter:
    return OpenApiParameter(
        "cursor", OpenApiTypes.STR, description="The next_cursor of the previous page."
    )


def ndjson_events(description: str = "One Event a line.") -> dict:
    """The NDJSON alternative of a read's 200 response."""
    return {(200, NDJSON): OpenApiResponse(s.EventSerializer, description=description)}


NDJSON_NOTE = (
    "With `Accept: application/x-ndjson` (or `?format=ndjson`) the whole selection streams as "
    "one event per line, in bounded memory; `limit` then caps the number of lines (default: "
    "no cap), and a failure after the first line ends the stream with a line "
    '`{"error": {...}}`.'
)


def close_request_objects(result: dict, generator, request, public) -> dict:
    """SPECTACULAR_SETTINGS postprocessing hook: request bodies take no other fields
    (``additionalProperties: false``), as the store refuses unknown ones (a typo like
    ``expected_verison`` must not pass silently)."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in s.REQUEST_COMPONENTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result
