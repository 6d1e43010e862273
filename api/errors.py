"""The one mapping of Flipbook errors to HTTP statuses and gRPC status codes.

The DRF exception handler and the gRPC error interceptor both read this table; neither
builds an error by hand. gRPC codes are names of ``grpc.StatusCode`` so REST never imports
grpc."""

from __future__ import annotations

from streams.exceptions import (
    AlreadyExists,
    FlipbookError,
    IdConflict,
    NotFound,
    PermissionDenied,
    ReducerError,
    StoreNotEmpty,
    StreamDeleted,
    TooLarge,
    Unauthenticated,
    Unavailable,
    ValidationError,
    VersionConflict,
)

# error class -> (HTTP status, grpc.StatusCode name)
ERROR_STATUS: dict[type[FlipbookError], tuple[int, str]] = {
    ValidationError: (400, "INVALID_ARGUMENT"),
    NotFound: (404, "NOT_FOUND"),
    # A hard-deleted stream: gone for good (HTTP 410); gRPC has no "gone", and NOT_FOUND
    # would read like a soft delete, so FAILED_PRECONDITION (the id is unusable) it is.
    StreamDeleted: (410, "FAILED_PRECONDITION"),
    VersionConflict: (409, "FAILED_PRECONDITION"),
    IdConflict: (409, "ALREADY_EXISTS"),
    AlreadyExists: (409, "ALREADY_EXISTS"),
    TooLarge: (413, "RESOURCE_EXHAUSTED"),
    Unauthenticated: (401, "UNAUTHENTICATED"),
    PermissionDenied: (403, "PERMISSION_DENIED"),
    Unavailable: (503, "UNAVAILABLE"),
    StoreNotEmpty: (409, "FAILED_PRECONDITION"),
    # The stream's events cannot be folded by its reducer: the request was fine, the data
    # and the reducer disagree (the message names the stream, version and event).
    ReducerError: (422, "FAILED_PRECONDITION"),
}
INTERNAL = (500, "INTERNAL")
INTERNAL_BODY = {
    "code": "internal_error",
    "message": "Flipbook failed unexpectedly; the server log has the details.",
    "details": {},
}


def status_for(error: BaseException) -> tuple[int, str]:
    """Return (HTTP status, gRPC status code name) for any exception; unknown ones are 500."""
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return INTERNAL


def error_body(error: BaseException) -> dict:
    """The ``{"error": {...}}`` body every interface returns; never a trace, SQL or path."""
    if isinstance(error, FlipbookError):
        return {"error": error.as_dict()}
    return {"error": dict(INTERNAL_BODY)}
