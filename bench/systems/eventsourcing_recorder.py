"""The peer library: eventsourcing's PostgresApplicationRecorder in its default gap-free mode
(each insert locks the events table, so notification ids commit in order)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from bench.database import ServerUrl
from bench.events import METADATA_SQL, NAME_SQL, PAYLOAD_SQL, TIMESTAMP_SQL, SampleEvent
from bench.systems.base import BenchSystem, BenchWriter

TOPIC = "bench.events:Deposited"
KEYS = uuid.UUID("6f0e3c1a-51d6-4b43-9b8e-0c6c1c5e0b7a")
PAGE = 1000


def _state(e: SampleEvent) -> bytes:
    # The library stores an event as opaque bytes; these hold what a Flipbook row holds.
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "name": e.name,
            "timestamp": e.timestamp.isoformat(),
            "payload": e.payload,
            "metadata": e.metadata,
        },
        separators=(",", ":"),
    ).encode()


class EventsourcingWriter(BenchWriter):
    """Uses the shared recorder; its connection pool hands each thread a connection."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.recorder = recorder

    def append_new(self, key: uuid.UUID, events: Sequence[SampleEvent]) -> None:
        self.recorder.insert_events(
            [StoredEvent(key, version, TOPIC, _state(e)) for version, e in enumerate(events, 1)]
        )

    def append_contended(
        self, key: uuid.UUID, event: SampleEvent, known_version: int
    ) -> tuple[int, int]:
        # The same read-then-insert loop as the psycopg baseline, through the recorder: read
        # the aggregate's last event, insert after it, retry on IntegrityError.
        refused = 0
        while True:
            last = self.recorder.select_events(key, desc=True, limit=1)
            version = (last[0].originator_version if last else 0) + 1
            try:
                self.recorder.insert_events([StoredEvent(key, version, TOPIC, _state(event))])
            except IntegrityError:
                refused += 1
            else:
                return version, refused

    def read_stream(self, key: uuid.UUID) -> int:
        # select_events returns stored events; decoding their JSON matches what the others
        # do (psycopg parses jsonb, Flipbook json.loads payload and metadata).
        count = 0
        for stored in self.recorder.select_events(key):
            json.loads(stored.state)
            count += 1
        return count

    def read_stream_bounded(self, key: uuid.UUID) -> int:
        count = 0
        after = None
        while True:
            page = self.recorder.select_events(key, gt=after, limit=PAGE)
            for stored in page:
                json.loads(stored.state)
            count += len(page)
            if len(page) < PAGE:
                return count
            after = page[-1].originator_version


class EventsourcingSystem(BenchSystem):
    name = "eventsourcing"
    description = (
        "eventsourcing.postgres.PostgresApplicationRecorder (default: LOCK TABLE per insert), "
        "insert_events / select_events, pool of one connection per writer; contended: "
        "select_events(desc, limit=1), insert_events, retry on IntegrityError; reads decode "
        "the stored JSON"
    )
    tables = ("stored_events",)

    def __init__(self, url: ServerUrl, *, writers: int) -> None:
        super().__init__(url)
        self.datastore = PostgresDatastore(
            dbname=url.dbname,
            host=url.host,
            port=url.port,
            user=url.user,
            password=url.password,
            pool_size=writers,
        )
        self.recorder = PostgresApplicationRecorder(self.datastore)

    def create_tables(self) -> None:
        self.recorder.create_table()

    def stream_key(self, name: str) -> uuid.UUID:
        return uuid.uuid5(KEYS, name)

    def open_writer(self) -> EventsourcingWriter:
        return EventsourcingWriter(self.recorder)

    def bulk_load_sql(self) -> tuple[None, str, None]:
        state = (
            f"convert_to(jsonb_build_object('id', gen_random_uuid(), 'name', {NAME_SQL}, "
            f"'timestamp', {TIMESTAMP_SQL}, 'payload', {PAYLOAD_SQL}, "
            f"'metadata', {METADATA_SQL})::text, 'UTF8')"
        )
        chunk = (
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            f"SELECT %(key)s, g, '{TOPIC}', {state} "
            "FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g"
        )
        return None, chunk, None

    def close(self) -> None:
        self.datastore.close()
