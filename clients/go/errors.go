package flipbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Sentinel errors, one per error code of the Flipbook server. Test with errors.Is; every
// error a call returns for a refusal is an [*Error] (or a type wrapping one) that matches
// exactly one of them.
var (
	// ErrValidation: bad input (a bad stream id, version, JSON, mixed stream kinds, ...).
	ErrValidation = errors.New("flipbook: validation error")
	// ErrNotFound: the stream, event, snapshot or subscription does not exist.
	ErrNotFound = errors.New("flipbook: not found")
	// ErrVersionConflict: the stream is not at the expected version; unpack a
	// [*VersionConflictError] for its current version.
	ErrVersionConflict = errors.New("flipbook: version conflict")
	// ErrIDConflict: an event id is already stored with different content.
	ErrIDConflict = errors.New("flipbook: event id conflict")
	// ErrAlreadyExists: the name is taken (a subscription, for instance).
	ErrAlreadyExists = errors.New("flipbook: already exists")
	// ErrTooLarge: a payload, metadata or the whole request is over the server's limit.
	ErrTooLarge = errors.New("flipbook: too large")
	// ErrUnauthenticated: no valid API key was sent.
	ErrUnauthenticated = errors.New("flipbook: unauthenticated")
	// ErrPermissionDenied: the API key does not allow this operation or stream.
	ErrPermissionDenied = errors.New("flipbook: permission denied")
	// ErrUnavailable: the server or its backend cannot be reached for now.
	ErrUnavailable = errors.New("flipbook: unavailable")
	// ErrReducer: the stream's reducer failed on its events.
	ErrReducer = errors.New("flipbook: reducer error")
	// ErrStreamDeleted: the stream was hard-deleted; its tombstone refuses reads and
	// appends for ever.
	ErrStreamDeleted = errors.New("flipbook: stream deleted")
	// ErrInternal: the server failed unexpectedly (its log has the details).
	ErrInternal = errors.New("flipbook: internal error")
	// ErrUnsupported: the server does not offer this call.
	ErrUnsupported = errors.New("flipbook: unsupported")
)

// errorMetadataKey is the trailing metadata in which the server sends the JSON error body.
const errorMetadataKey = "flipbook-error-bin"

var sentinelsByCode = map[string]error{
	"validation_error":  ErrValidation,
	"not_found":         ErrNotFound,
	"version_conflict":  ErrVersionConflict,
	"id_conflict":       ErrIDConflict,
	"already_exists":    ErrAlreadyExists,
	"too_large":         ErrTooLarge,
	"unauthenticated":   ErrUnauthenticated,
	"permission_denied": ErrPermissionDenied,
	"unavailable":       ErrUnavailable,
	"reducer_error":     ErrReducer,
	"stream_deleted":    ErrStreamDeleted,
	"internal_error":    ErrInternal,
	"unsupported":       ErrUnsupported,
}

// codesByStatus names the error of a status that came without Flipbook's error body (a
// proxy's answer, a dropped connection).
var codesByStatus = map[codes.Code]string{
	codes.InvalidArgument:    "validation_error",
	codes.NotFound:           "not_found",
	codes.FailedPrecondition: "version_conflict",
	codes.AlreadyExists:      "already_exists",
	codes.ResourceExhausted:  "too_large",
	codes.Unauthenticated:    "unauthenticated",
	codes.PermissionDenied:   "permission_denied",
	codes.Unavailable:        "unavailable",
	codes.Internal:           "internal_error",
	codes.Unimplemented:      "unsupported",
	codes.Unknown:            "internal_error",
}

// Error is a refusal of the server: its error code (as in the server's error table, e.g.
// "version_conflict"), message and details, and the gRPC status code it came with.
type Error struct {
	// Code is the server's snake_case error code, e.g. "not_found".
	Code string
	// Message is the server's message, which says how to fix the problem.
	Message string
	// Field names the request field at fault, when the server named one.
	Field string
	// Details holds the error's details as the server sent them (JSON numbers as float64).
	Details map[string]any
	// Status is the gRPC status code of the failed call.
	Status codes.Code
}

// Error returns the code and the message.
func (e *Error) Error() string {
	return "flipbook: " + e.Code + ": " + e.Message
}

// Is reports whether target is the sentinel of e's code (ErrNotFound for "not_found", ...),
// context.DeadlineExceeded for a call that ran out of time, or context.Canceled for one
// that was cancelled.
func (e *Error) Is(target error) bool {
	switch e.Status {
	case codes.DeadlineExceeded:
		if target == context.DeadlineExceeded {
			return true
		}
	case codes.Canceled:
		if target == context.Canceled {
			return true
		}
	}
	sentinel, ok := sentinelsByCode[e.Code]
	return ok && sentinel == target
}

// VersionConflictError is the error of an append or commit whose expected version did not
// match: it names the stream and where it stands. It matches [ErrVersionConflict].
type VersionConflictError struct {
	// Err is the server's error as every refusal carries it.
	Err *Error
	// StreamID is the stream that failed its check.
	StreamID string
	// CurrentVersion is the stream's version when the check failed (0: no events).
	CurrentVersion int64
	// ExpectedVersion is what the request expected, as the server reports it: a number,
	// or a word such as "exists".
	ExpectedVersion any
}

// Error returns the server's message, which names the current version.
func (e *VersionConflictError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying [*Error], so errors.As(err, &flipbookErr) finds it.
func (e *VersionConflictError) Unwrap() error { return e.Err }

// IDConflictError is the error of an append or commit that reuses event ids already stored
// with different content. It matches [ErrIDConflict].
type IDConflictError struct {
	// Err is the server's error as every refusal carries it.
	Err *Error
	// EventIDs are the ids already stored with different content.
	EventIDs []string
}

// Error returns the server's message, which names the ids.
func (e *IDConflictError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying [*Error].
func (e *IDConflictError) Unwrap() error { return e.Err }

// errorOf turns an error of a gRPC call into the client's error. Context errors and io.EOF
// pass through; a status becomes an *Error (or a type wrapping one) decoded from the
// flipbook-error-bin trailing metadata when the server sent it.
func errorOf(err error, trailer metadata.MD) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return &Error{Code: "unavailable", Message: err.Error(), Status: codes.Unavailable}
	}
	base := Error{Message: st.Message(), Status: st.Code(), Details: map[string]any{}}
	if body := trailer.Get(errorMetadataKey); len(body) > 0 {
		var decoded struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		}
		if json.Unmarshal([]byte(body[0]), &decoded) == nil && decoded.Code != "" {
			base.Code, base.Message = decoded.Code, decoded.Message
			if decoded.Details != nil {
				base.Details = decoded.Details
			}
		}
	}
	if base.Code == "" {
		base.Code = codesByStatus[st.Code()]
		if base.Code == "" {
			base.Code = strings.ToLower(st.Code().String())
		}
	}
	if field, ok := base.Details["field"].(string); ok {
		base.Field = field
	}
	switch base.Code {
	case "version_conflict":
		conflict := &VersionConflictError{Err: &base, ExpectedVersion: base.Details["expected_version"]}
		conflict.StreamID, _ = base.Details["stream_id"].(string)
		if current, ok := base.Details["current_version"].(float64); ok {
			conflict.CurrentVersion = int64(current)
		}
		return conflict
	case "id_conflict":
		conflict := &IDConflictError{Err: &base}
		if ids, ok := base.Details["event_ids"].([]any); ok {
			for _, id := range ids {
				conflict.EventIDs = append(conflict.EventIDs, fmt.Sprint(id))
			}
		}
		return conflict
	}
	return &base
}

// IsRetryable reports whether err says the server could not be reached or was briefly
// unable to serve: a later try of a call that is safe to repeat may succeed.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrUnavailable)
}
