"""Flipbook through its store service (streams/services.py), the only API the figures use."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections

from bench.events import METADATA_SQL, NAME_SQL, PAYLOAD_SQL, TIMESTAMP_SQL, SampleEvent
from bench.systems.base import BenchSystem, BenchWriter
from streams import services
from streams.exceptions import VersionConflict
from streams.records import NewEvent


def _new_event(e: SampleEvent) -> NewEvent:
    return NewEvent(name=e.name, payload=e.payload, metadata=e.metadata, timestamp=e.timestamp)


class FlipbookWriter(BenchWriter):
    """Calls the store service from one thread, on that thread's own Django connection."""

    def append_new(self, key: str, events: Sequence[SampleEvent]) -> None:
        services.append_to_stream(key, [_new_event(e) for e in events], expected_version=0)

    def append_contended(self, key: str, event: SampleEvent, known_version: int) -> tuple[int, int]:
        refused = 0
        while True:
            try:
                result = services.append_to_stream(
                    key, [_new_event(event)], expected_version=known_version
                )
            except VersionConflict as conflict:
                # The conflict names the current version: retry from it, no re-read needed.
                refused += 1
                known_version = conflict.current_version
            else:
                return result.version, refused

    def read_stream(self, key: str) -> int:
        count = 0
        for _event in services.iter_stream(key):
            count += 1
        return count

    read_stream_bounded = read_stream

    def close(self) -> None:
        connections.close_all()


class FlipbookSystem(BenchSystem):
    name = "flipbook"
    description = (
        "streams.services: append_to_stream (expected_version 0 for new streams, the known "
        "version when contended; on VersionConflict retry from the current version it names), "
        "iter_stream"
    )
    tables = ("flipbook_stream", "flipbook_event")

    def open_writer(self) -> FlipbookWriter:
        return FlipbookWriter()

    def bulk_load_sql(self) -> tuple[str, str, str]:
        first = (
            "INSERT INTO flipbook_stream (stream_id, kind, category, version, event_count, "
            "created_at, updated_at, metadata) "
            "VALUES (%(key)s, 'versioned', NULL, 0, 0, now(), now(), '{}')"
        )
        chunk = (
            "INSERT INTO flipbook_event (stream_pk, version, timestamp, name, payload, "
            "metadata, event_id, recorded_at) "
            f"SELECT s.id, g, {TIMESTAMP_SQL}, {NAME_SQL}, {PAYLOAD_SQL}, {METADATA_SQL}, "
            "gen_random_uuid(), now() FROM flipbook_stream s, "
            "generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g WHERE s.stream_id = %(key)s"
        )
        last = (
            "UPDATE flipbook_stream SET version = %(count)s, event_count = %(count)s, "
            "updated_at = now() WHERE stream_id = %(key)s"
        )
        return first, chunk, last
