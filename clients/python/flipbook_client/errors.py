"""The client's error hierarchy: one class per error code of the Flipbook server."""

from __future__ import annotations

from typing import Any


class FlipbookError(Exception):
    """Base of every error the client raises: the server's ``code``, ``message`` and
    ``details``, plus the HTTP status (REST) or gRPC status code name (gRPC) it came with."""

    code = "error"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | str | None = None,
    ) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = dict(details or {})
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ValidationError(FlipbookError):
    """Bad input; ``field`` names the field at fault (None when the server named none)."""

    code = "validation_error"

    @property
    def field(self) -> str | None:
        return self.details.get("field")


class NotFound(FlipbookError):
    """The stream, event, snapshot or subscription does not exist."""

    code = "not_found"


class VersionConflict(FlipbookError):
    """The stream is not at the expected version; ``current_version`` says where it is."""

    code = "version_conflict"

    @property
    def current_version(self) -> int | None:
        return self.details.get("current_version")

    @property
    def stream_id(self) -> str | None:
        return self.details.get("stream_id")

    @property
    def expected_version(self) -> int | str | None:
        return self.details.get("expected_version")


class IdConflict(FlipbookError):
    """An event id is already stored with different content."""

    code = "id_conflict"

    @property
    def event_ids(self) -> list[str]:
        return list(self.details.get("event_ids", []))


class AlreadyExists(FlipbookError):
    """The name is taken (a subscription, for instance)."""

    code = "already_exists"


class TooLarge(FlipbookError):
    """A payload, metadata or the whole request is over the server's limit."""

    code = "too_large"


class Unauthenticated(FlipbookError):
    """No valid API key was sent."""

    code = "unauthenticated"


class PermissionDenied(FlipbookError):
    """The API key does not allow this operation or stream."""

    code = "permission_denied"


class Unavailable(FlipbookError):
    """The server or its backend cannot be reached for now; retrying later may succeed."""

    code = "unavailable"


class ReducerError(FlipbookError):
    """The stream's reducer failed on its events (the server's state endpoints)."""

    code = "reducer_error"


class StreamDeleted(FlipbookError):
    """The stream was hard-deleted: its tombstone refuses reads and appends for ever."""

    code = "stream_deleted"


class InternalError(FlipbookError):
    """The server failed unexpectedly (its log has the details)."""

    code = "internal_error"


class Unsupported(FlipbookError):
    """The operation is not offered by this transport."""

    code = "unsupported"


ERRORS_BY_CODE: dict[str, type[FlipbookError]] = {
    cls.code: cls
    for cls in (
        ValidationError,
        NotFound,
        VersionConflict,
        IdConflict,
        AlreadyExists,
        TooLarge,
        Unauthenticated,
        PermissionDenied,
        Unavailable,
        ReducerError,
        StreamDeleted,
        InternalError,
    )
}
# When a response carries no Flipbook error body (a proxy's answer, a dropped connection).
ERRORS_BY_HTTP_STATUS: dict[int, type[FlipbookError]] = {
    400: ValidationError,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: VersionConflict,
    410: StreamDeleted,
    413: TooLarge,
    422: ReducerError,
    500: InternalError,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}
ERRORS_BY_GRPC_STATUS: dict[str, type[FlipbookError]] = {
    "INVALID_ARGUMENT": ValidationError,
    "NOT_FOUND": NotFound,
    "FAILED_PRECONDITION": VersionConflict,
    "ALREADY_EXISTS": AlreadyExists,
    "RESOURCE_EXHAUSTED": TooLarge,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAVAILABLE": Unavailable,
    "DEADLINE_EXCEEDED": Unavailable,
    "INTERNAL": InternalError,
    "UNIMPLEMENTED": Unsupported,
}


def error_from_body(
    body: Any, status: int | str | None, fallback: type[FlipbookError] = FlipbookError
) -> FlipbookError:
    """Return the error of a server's error object ``{"code", "message", "details"}``
    (``{"error": {...}}`` is unwrapped); ``fallback`` when the body is not one."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return fallback(f"the server answered {status} without a Flipbook error", status=status)
    code = body["code"]
    details = body.get("details")
    cls = ERRORS_BY_CODE.get(code, fallback)
    return cls(
        str(body.get("message") or code),
        code=code,
        details=details if isinstance(details, dict) else {},
        status=status,
    )
