"""The event store contract on the database backend: SQLite, then PostgreSQL."""

import pytest

from tests.contracts.event_store import EventStoreContract


class TestDatabaseEventStore(EventStoreContract):
    available_apps = ["streams"]  # only the event tables are flushed between tests
    concurrent_feed_writers = 4  # SQLite serializes them (busy timeout); PostgreSQL races them

    @pytest.fixture
    def event_store(self, db_backend):
        return db_backend
