"""The one error hierarchy of Flipbook; api/errors.py maps each code to HTTP and gRPC once."""

from __future__ import annotations

from typing import Any


class FlipbookError(Exception):
    """Base of every error a client may see: a snake_case ``code``, a message, details."""

    code = "error"
    default_message = "Flipbook could not complete the request."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(FlipbookError):
    """Bad input: a bad id, version, JSON value, mixed kinds, too many events. Names the field."""

    code = "validation_error"
    default_message = "The request is not valid."

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(f"{field}: {message}", field=field, **details)
        self.field = field


class NotFound(FlipbookError):
    """The stream, event or snapshot does not exist."""

    code = "not_found"
    default_message = "Not found."


class VersionConflict(FlipbookError):
    """The stream is not at the expected version; ``current_version`` says where it is."""

    code = "version_conflict"

    def __init__(self, stream_id: str, expected: int | str, current_version: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {current_version}, expected {expected}; "
            "read the stream and retry with its current version",
            stream_id=stream_id,
            expected_version=expected,
            current_version=current_version,
        )
        self.stream_id = stream_id
        self.expected = expected
        self.current_version = current_version


class IdConflict(FlipbookError):
    """An event id is already stored with different content."""

    code = "id_conflict"

    def __init__(self, event_ids: list[str], hint: str | None = None) -> None:
        super().__init__(
            "event id(s) already stored with different content: "
            + ", ".join(event_ids[:10])
            + "; "
            + (hint or "use new ids for new events, or resend exactly the stored commit"),
            event_ids=event_ids,
        )
        self.event_ids = event_ids


class TooLarge(FlipbookError):
    """A payload, a piece of metadata or a whole request is over its configured limit."""

    code = "too_large"

    def __init__(self, field: str, size: int, limit: int) -> None:
        super().__init__(
            f"{field}: {size} bytes is over the limit of {limit} bytes",
            field=field,
            size=size,
            limit=limit,
        )
        self.field = field


class Unauthenticated(FlipbookError):
    """No valid credentials were sent."""

    code = "unauthenticated"
    default_message = "Send an API key as 'Authorization: Bearer <key>'."


class PermissionDenied(FlipbookError):
    """The credentials are valid but do not allow this operation or stream."""

    code = "permission_denied"
    default_message = "This API key is not allowed to do that."


class Unavailable(FlipbookError):
    """The backend cannot be reached or refused for now; retrying later may succeed."""

    code = "unavailable"
    default_message = "The event store backend is unavailable; retry later."


class ReducerError(FlipbookError):
    """A reducer raised, or returned a state that is not JSON, while folding a stream. Names
    the stream, the version and the event; no state or snapshot is kept from the fold."""

    code = "reducer_error"
    default_message = "The stream's reducer failed."


class AlreadyExists(FlipbookError):
    """Something with this name exists already (a subscription name is taken)."""

    code = "already_exists"
    default_message = "It exists already."


class StreamDeleted(FlipbookError):
    """The stream was hard-deleted: its tombstone refuses every read and append, forever."""

    code = "stream_deleted"
    default_message = "The stream was deleted for good (a tombstone)."


class StoreNotEmpty(FlipbookError):
    """An import was asked to fill a store that holds events already (and not to merge)."""

    code = "store_not_empty"
    default_message = (
        "The target store holds events already: import into an empty store, or merge "
        "(events whose ids are stored with the same content are skipped)."
    )
