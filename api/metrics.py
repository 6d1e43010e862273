"""Prometheus metrics shared by REST and gRPC (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from api.errors import status_for
from streams.exceptions import FlipbookError, VersionConflict
from streams.records import CommitResult

APPENDS = Counter("flipbook_appends_total", "Commits stored.", ["transport"])
EVENTS = Counter("flipbook_events_appended_total", "Events stored.", ["transport"])
CONFLICTS = Counter("flipbook_version_conflicts_total", "Version conflicts.", ["transport"])
ERRORS = Counter("flipbook_errors_total", "Errors returned, by error code.", ["transport", "code"])
LATENCY = Histogram(
    "flipbook_request_seconds",
    "Request latency by transport and method.",
    ["transport", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def observe_commit(transport: str, result: CommitResult) -> None:
    """Count a stored commit (duplicates are not counted again)."""
    if result.duplicate:
        return
    APPENDS.labels(transport).inc()
    EVENTS.labels(transport).inc(sum(len(s.events) for s in result.streams))


def observe_error(transport: str, error: BaseException) -> None:
    """Count an error by the code its client sees."""
    code = error.code if isinstance(error, FlipbookError) else "internal_error"
    ERRORS.labels(transport, code).inc()
    if isinstance(error, VersionConflict):
        CONFLICTS.labels(transport).inc()


def observe_latency(transport: str, method: str, seconds: float) -> None:
    LATENCY.labels(transport, method).observe(seconds)


__all__ = ["observe_commit", "observe_error", "observe_latency", "status_for"]
