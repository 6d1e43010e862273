"""The event store contract on the database backend: SQLite, then PostgreSQL."""

import pytest

from tests.contracts.event_store import EventStoreContract


class TestDatabaseEventStore(EventStoreContract):
    available_apps = ["streams"]  # only the event tables are flushed between tests
    concurrent_feed_writers = 4  # SQLite serializes them (busy timeout); PostgreSQL races them

    @pytest.fixture
    def event_store(self, db_backend):
        return db_backend


def test_appends_survive_a_new_database_session(postgres_backend):
    """The one-event append keeps a cursor per database session: after the connection is
    closed (a request ends, the pool takes it back) the next append opens a new one."""
    from django.db import connections, transaction

    from streams import services
    from streams.exceptions import VersionConflict

    conn = connections[postgres_backend]
    first = services.append_to_stream("session-1", [{"name": "A"}], expected_version=0)
    raw = conn.connection
    # Its database session ends (the pool, which would hand the same session back after a
    # plain close, discards a closed connection).
    raw.close()
    conn.close()
    second = services.append_to_stream("session-1", [{"name": "B"}], expected_version=1)
    assert conn.connection is not raw
    assert (first.version, second.version) == (1, 2)
    with pytest.raises(VersionConflict) as refused:
        services.append_to_stream("session-1", [{"name": "C"}], expected_version=1)
    assert refused.value.current_version == 2
    # Inside a transaction the same statement runs in a savepoint and rolls back with it.
    with pytest.raises(RuntimeError), transaction.atomic(using=postgres_backend):
        services.append_to_stream("session-1", [{"name": "C"}], expected_version=2)
        raise RuntimeError("roll back")
    events = services.read_stream("session-1").items
    assert [e.name for e in events] == ["A", "B"]


def _wal_syncs(cursor) -> int:
    """WAL syncs of the whole server so far, with this session's own counts flushed."""
    cursor.execute("SELECT pg_stat_force_next_flush()")
    cursor.execute("SELECT 1")  # the session reports its statistics as it goes idle
    cursor.execute("SELECT wal_sync FROM pg_stat_wal")
    return cursor.fetchone()[0]


def test_a_refused_append_at_a_version_waits_for_no_wal_flush(postgres_backend):
    """An append at an expected version reads the head FOR SHARE to name the current version,
    and a refused one may have row-locked the head: its transaction has WAL to commit. On its
    own it commits asynchronously (it changed no data), and the setting that does so must not
    outlive it; inside a caller's transaction it rolls back to its savepoint and leaves that
    transaction usable, and synchronous."""
    from django.db import connections, transaction

    from streams import services
    from streams.exceptions import VersionConflict

    services.append_to_stream("refused-1", [{"name": "A"}], expected_version=0)
    with connections[postgres_backend].cursor() as cursor:
        before = _wal_syncs(cursor)
        for version in range(1, 21):
            services.append_to_stream("refused-1", [{"name": "B"}], expected_version=version)
        accepted = _wal_syncs(cursor) - before
        before = _wal_syncs(cursor)
        for _ in range(20):
            with pytest.raises(VersionConflict) as refused:
                services.append_to_stream("refused-1", [{"name": "C"}], expected_version=1)
            assert (refused.value.expected, refused.value.current_version) == (1, 21)
        refusals = _wal_syncs(cursor) - before
        # Every accepted append waits for its own flush; refusals leave theirs to the WAL
        # writer, which flushes a few times at most in that time.
        assert accepted >= 20
        assert refusals <= 5, (accepted, refusals)
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)

    with transaction.atomic(using=postgres_backend):
        with pytest.raises(VersionConflict) as refused:
            services.append_to_stream("refused-1", [{"name": "C"}], expected_version=1)
        assert refused.value.current_version == 21
        with connections[postgres_backend].cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("on",)
        services.append_to_stream("refused-1", [{"name": "C"}], expected_version=21)
    names = [e.name for e in services.read_stream("refused-1", limit=100).items]
    assert names == ["A"] + ["B"] * 20 + ["C"]


def test_appends_survive_discard_all(postgres_backend):
    """Outside a transaction the one-event append runs statements it prepared itself on the
    session; a DISCARD ALL (as a pooler may send) drops them, and the next append prepares
    them again instead of failing."""
    from django.db import connections

    from streams import services

    services.append_to_stream("discard-1", [{"name": "A"}], expected_version=0)
    services.append_to_stream("discard-1", [{"name": "B"}], expected_version=1)
    with connections[postgres_backend].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'flipbook%%'")
        assert cursor.fetchone()[0] >= 2
        cursor.execute("DISCARD ALL")
    services.append_to_stream("discard-1", [{"name": "C"}], expected_version=2)
    services.append_to_stream("discard-2", [{"name": "A"}], expected_version=0)
    assert [e.name for e in services.read_stream("discard-1").items] == ["A", "B", "C"]
    assert services.stream_head("discard-2").version == 1


def test_unprepared_appends_behind_a_pooler(postgres_backend, settings):
    """With OPTIONS prepare=False (a pooler that cannot keep prepared statements) appends run
    unprepared on psycopg's cursor, and a refusal still names the current version."""
    from django.db import connections

    from streams import services
    from streams.exceptions import VersionConflict

    settings.FLIPBOOK_EVENT_STORE = {
        "BACKEND": "streams.backends.database.DatabaseEventStore",
        "OPTIONS": {"using": postgres_backend, "prepare": False},
    }

    def prepared() -> dict[str, int]:
        # The session may come from a pool with statements on it: compare their executions.
        with connections[postgres_backend].cursor() as cursor:
            cursor.execute("SELECT name, generic_plans + custom_plans FROM pg_prepared_statements")
            return dict(cursor.fetchall())

    before = prepared()
    services.append_to_stream("unprepared-1", [{"name": "A"}], expected_version=0)
    services.append_to_stream("unprepared-1", [{"name": "B"}], expected_version=1)
    with pytest.raises(VersionConflict) as refused:
        services.append_to_stream("unprepared-1", [{"name": "C"}], expected_version=1)
    assert refused.value.current_version == 2
    assert prepared() == before
    assert [e.name for e in services.read_stream("unprepared-1").items] == ["A", "B"]
