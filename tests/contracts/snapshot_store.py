"""The snapshot store contract: behaviour every snapshot store backend keeps, tested on the
backend object (the contract is snapshots/backends/base.py's BaseSnapshotStore).

A backend's test module subclasses :class:`SnapshotStoreContract` and overrides the
``snapshot_store`` fixture with one that returns a backend on empty storage for each test,
and ``make_store(ttl=...)`` to build one with a default TTL (see
tests/test_snapshot_store_database.py and tests/test_snapshot_store_redis.py)."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from snapshots.backends.base import BaseSnapshotStore
from snapshots.records import Snapshot
from tests.waiting import wait_until

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_URL = os.environ.get("FLIPBOOK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
REV = "merge:1"
TTL = 0.5  # seconds: short, so expiry tests wait little
EXPIRY_MARGIN = 0.3  # seconds past the TTL by which an expired snapshot must be gone


def require_redis(url: str = REDIS_URL) -> None:
    """Skip (locally) or fail (CI=true) when the Redis test server is missing."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
        return
    except redis.RedisError as exc:
        reason = (
            f"NEEDS REDIS: the server at {url} is not reachable ({type(exc).__name__}: {exc}); "
            "start one or set FLIPBOOK_TEST_REDIS_URL"
        )
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def use_stores(settings, alias: str) -> None:
    """Point the event store and the snapshot store at one database alias."""
    from tests.conftest import use_event_store

    use_event_store(settings, alias)
    settings.FLIPBOOK_SNAPSHOT_STORE = {
        "BACKEND": "snapshots.backends.database.DatabaseSnapshotStore",
        "OPTIONS": {"using": alias},
    }


class StoresInDatabase:
    """Mixin of test classes that run on the event and snapshot stores in one database."""

    @pytest.fixture(params=["sqlite", "postgres"])
    def stores_in_db(self, request, settings):
        """The event store and the snapshot store on SQLite, then PostgreSQL, inside a test
        transaction that is rolled back afterwards: fast, but nothing commits, so no
        ``events_committed`` is sent and no snapshot policy runs (tests of those use the
        transactional ``db_backend``). Modules using it mark themselves
        ``pytest.mark.django_db(databases="__all__")``."""
        alias = "default" if request.param == "sqlite" else "postgres"
        if alias == "postgres":
            from tests.conftest import require_postgres

            require_postgres()
        request.getfixturevalue("db")
        use_stores(settings, alias)
        return alias


def snap(
    stream_id: str = "s-1",
    version: int = 1,
    payload=None,
    revision: str = REV,
    **fields,
) -> Snapshot:
    return Snapshot(
        stream_id=stream_id,
        version=version,
        payload={"v": version} if payload is None else payload,
        revision=revision,
        **fields,
    )


def versions(snapshots) -> list[int]:
    return [s.version for s in snapshots]


PAYLOADS = [
    {},
    [],
    0,
    "text",
    None,
    True,
    2**70,
    -17,
    1.5e300,
    0.1 + 0.2,
    {"nested": {"deep": [1, {"x": None}], "ü": "日本🙂"}, "n": -0.5},
    ["a", 1, 2.5, None, False, {"k": []}],
    {"big": "x" * 100_000},
]


class SnapshotStoreContract:
    """Behaviour tests of a snapshot store backend; subclasses provide ``snapshot_store``."""

    @pytest.fixture
    def snapshot_store(self) -> BaseSnapshotStore:
        raise NotImplementedError("a backend test class must override the snapshot_store fixture")

    @pytest.fixture
    def make_store(self):
        raise NotImplementedError("a backend test class must override the make_store fixture")

    @pytest.fixture(autouse=True)
    def _store(self, snapshot_store):
        self.store = snapshot_store

    # -- set and latest ---------------------------------------------------------------------

    def test_set_returns_the_stored_snapshot_and_latest_reads_it_back(self):
        before = datetime.now(UTC)
        stored = self.store.set(
            snap("s-1", 3, {"balance": 70}, timestamp=T0, label="eod", recorded_at=T0)
        )
        assert stored.created_at is not None and stored.created_at >= before - timedelta(1)
        assert stored.expires_at is None
        found = self.store.latest("s-1")
        assert found == stored
        assert (found.stream_id, found.version, found.payload, found.revision) == (
            "s-1",
            3,
            {"balance": 70},
            REV,
        )
        assert (found.timestamp, found.label, found.recorded_at) == (T0, "eod", T0)

    def test_a_missing_stream_has_no_snapshots(self):
        assert self.store.latest("nothing-here") is None
        assert self.store.latest("nothing-here", revision=REV, at_or_before=5) is None
        assert self.store.list("nothing-here") == []
        assert self.store.get("nothing-here", 1, REV) is None
        assert self.store.delete("nothing-here") == 0

    @pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
    def test_payloads_read_back_exactly(self, payload):
        self.store.set(Snapshot("s-1", 1, payload, REV))
        found = self.store.latest("s-1")
        assert found.payload == payload
        assert type(found.payload) is type(payload)

    def test_times_read_back_as_aware_utc_instants(self):
        plus_one = timezone(timedelta(hours=1))
        when = datetime(2024, 3, 1, 13, 0, 0, 123456, tzinfo=plus_one)
        self.store.set(snap(timestamp=when, recorded_at=datetime(2031, 1, 1, tzinfo=UTC)))
        found = self.store.latest("s-1")
        assert found.timestamp == when and found.timestamp.utcoffset() == timedelta(0)
        assert found.recorded_at == datetime(2031, 1, 1, tzinfo=UTC)
        self.store.set(snap(version=2))
        assert self.store.latest("s-1").timestamp is None

    def test_latest_is_the_highest_version(self):
        for v in (5, 1, 9, 3):
            self.store.set(snap(version=v))
        assert self.store.latest("s-1").version == 9
        assert self.store.latest("s-1", revision=REV).payload == {"v": 9}

    def test_latest_at_or_before_a_version(self):
        for v in (10, 20, 30):
            self.store.set(snap(version=v))
        assert self.store.latest("s-1", at_or_before=30).version == 30
        assert self.store.latest("s-1", at_or_before=29).version == 20
        assert self.store.latest("s-1", at_or_before=20).version == 20
        assert self.store.latest("s-1", at_or_before=10).version == 10
        assert self.store.latest("s-1", at_or_before=9) is None
        assert self.store.latest("s-1", at_or_before=10**15).version == 30

    def test_revisions_are_kept_apart(self):
        self.store.set(snap(version=5, payload={"r": "a"}, revision="python:x:1"))
        self.store.set(snap(version=5, payload={"r": "b"}, revision="python:x:2"))
        self.store.set(snap(version=3, payload={"r": "b3"}, revision="python:x:2"))
        self.store.set(snap(version=8, payload={"r": "a8"}, revision="python:x:1"))
        assert self.store.latest("s-1", revision="python:x:2").payload == {"r": "b"}
        assert self.store.latest("s-1", revision="python:x:2", at_or_before=4).payload == {
            "r": "b3"
        }
        assert self.store.latest("s-1", revision="python:x:1").payload == {"r": "a8"}
        assert self.store.latest("s-1", revision="other") is None
        assert self.store.latest("s-1").payload == {"r": "a8"}  # any revision
        assert self.store.get("s-1", 5, "python:x:1").payload == {"r": "a"}
        assert self.store.get("s-1", 5, "python:x:2").payload == {"r": "b"}
        assert self.store.get("s-1", 4, "python:x:2") is None

    def test_latest_of_any_revision_breaks_a_version_tie_by_the_newest(self):
        first = self.store.set(snap(version=5, payload={"r": "a"}, revision="a"))
        self.wait_for_the_clock_to_pass(first.created_at)
        second = self.store.set(snap(version=5, payload={"r": "b"}, revision="b"))
        assert self.store.latest("s-1").payload == {"r": "b"}
        self.wait_for_the_clock_to_pass(second.created_at)
        self.store.set(snap(version=5, payload={"r": "a2"}, revision="a"))
        assert self.store.latest("s-1").payload == {"r": "a2"}

    def wait_for_the_clock_to_pass(self, created_at: datetime) -> None:
        """So that the next set is created strictly later (a tie of versions is then broken
        by creation time alone)."""
        wait_until(lambda: self.store.now() > created_at, timeout=1, interval=0.001)

    def test_set_replaces_the_snapshot_of_the_same_stream_revision_and_version(self):
        self.store.set(snap(version=4, payload={"old": 1}, label="first"))
        self.store.set(snap(version=4, payload={"new": 2}, label="second", timestamp=T0))
        found = self.store.list("s-1")
        assert len(found) == 1
        assert (found[0].payload, found[0].label, found[0].timestamp) == ({"new": 2}, "second", T0)

    def test_streams_are_kept_apart_whatever_their_ids(self):
        ids = ["a", "a/", "/a", "A", "a b", "ствол/日本/🙂", "x" * 256, "a:1", "{a}", "a*"]
        for i, stream_id in enumerate(ids, start=1):
            self.store.set(snap(stream_id, i, {"id": stream_id}))
        for i, stream_id in enumerate(ids, start=1):
            found = self.store.list(stream_id)
            assert [(s.stream_id, s.version, s.payload) for s in found] == [
                (stream_id, i, {"id": stream_id})
            ]

    # -- list and delete --------------------------------------------------------------------

    def test_list_orders_by_version_then_revision(self):
        self.store.set(snap(version=7, revision="b"))
        self.store.set(snap(version=2, revision="b"))
        self.store.set(snap(version=7, revision="a"))
        self.store.set(snap("other", 1))
        found = self.store.list("s-1")
        assert [(s.version, s.revision) for s in found] == [(2, "b"), (7, "a"), (7, "b")]
        assert versions(self.store.list("s-1", revision="b")) == [2, 7]
        assert self.store.list("s-1", revision="zzz") == []

    def test_delete_one_version_one_revision_or_all(self):
        for v in (1, 2, 3):
            self.store.set(snap(version=v, revision="a"))
            self.store.set(snap(version=v, revision="b"))
        self.store.set(snap("other", 1))
        assert self.store.delete("s-1", version=2, revision="a") == 1
        assert [(s.version, s.revision) for s in self.store.list("s-1")] == [
            (1, "a"), (1, "b"), (2, "b"), (3, "a"), (3, "b")
        ]  # fmt: skip
        assert self.store.delete("s-1", version=2, revision="a") == 0
        assert self.store.delete("s-1", version=3) == 2
        assert self.store.delete("s-1", revision="b") == 2
        assert [(s.version, s.revision) for s in self.store.list("s-1")] == [(1, "a")]
        assert self.store.delete("s-1") == 1
        assert self.store.list("s-1") == []
        assert self.store.latest("s-1") is None
        assert versions(self.store.list("other")) == [1]

    def test_a_deleted_snapshot_can_be_set_again(self):
        self.store.set(snap(version=1))
        self.store.delete("s-1")
        self.store.set(snap(version=1, payload={"again": True}))
        assert self.store.latest("s-1").payload == {"again": True}

    def test_stream_ids_pages_in_id_order(self):
        ids = [f"stream-{i:02d}" for i in range(25)]
        for stream_id in reversed(ids):
            self.store.set(snap(stream_id, 1))
            self.store.set(snap(stream_id, 2))
        assert self.store.stream_ids() == ids
        assert self.store.stream_ids(limit=10) == ids[:10]
        assert self.store.stream_ids(after=ids[9], limit=10) == ids[10:20]
        assert list(self.store.iter_stream_ids(batch=7)) == ids
        assert self.store.count_streams() == 25
        self.store.delete(ids[0])
        assert self.store.stream_ids(limit=1) == [ids[1]]

    # -- time queries -------------------------------------------------------------------------

    def test_latest_for_time_needs_both_times_within_bounds(self):
        def t(days):
            return T0 + timedelta(days=days)

        self.store.set(snap(version=1, timestamp=t(1), recorded_at=t(10)))
        self.store.set(snap(version=2, timestamp=t(2), recorded_at=t(20)))
        self.store.set(snap(version=3, timestamp=t(3), recorded_at=t(30)))
        self.store.set(snap(version=4, timestamp=t(4)))  # a client's: no recorded_at
        self.store.set(snap(version=5, timestamp=t(5), recorded_at=t(50), revision="other"))

        def best(at, known_at=None, at_or_before=None):
            found = self.store.latest_for_time(
                "s-1", revision=REV, at=at, known_at=known_at, at_or_before=at_or_before
            )
            return found and found.version

        assert best(t(100)) == 3
        assert best(t(2)) == 2
        assert best(t(2) - timedelta(microseconds=1)) == 1
        assert best(t(0)) is None
        assert best(t(100), known_at=t(25)) == 2
        assert best(t(100), known_at=t(9)) is None
        assert best(t(100), at_or_before=2) == 2

    # -- expiry -------------------------------------------------------------------------------

    def test_a_snapshot_with_a_ttl_expires(self, make_store):
        self.store.set(snap(version=1))
        stored = self.store.set(snap(version=2), ttl=TTL)
        assert stored.expires_at is not None
        assert timedelta(0) < stored.expires_at - stored.created_at <= timedelta(seconds=TTL)
        assert self.store.latest("s-1").version == 2
        self.store.set(snap("gone", 1), ttl=TTL)
        wait_until(  # the store expires by wall time: ask it until they are gone
            lambda: self.store.latest("gone") is None and self.store.latest("s-1").version == 1,
            timeout=TTL + EXPIRY_MARGIN,
            message="the snapshots with a TTL did not expire",
        )
        assert self.store.latest("s-1").version == 1
        assert versions(self.store.list("s-1")) == [1]
        assert self.store.latest("gone") is None
        assert "gone" not in self.store.stream_ids()
        self.store.purge_expired()
        assert versions(self.store.list("s-1")) == [1]

    def test_the_store_ttl_is_the_default_and_set_may_override_it(self, make_store):
        store = make_store(ttl=TTL)
        short = store.set(snap("ttl-1", 1))
        longer = store.set(snap("ttl-1", 2), ttl=60)
        assert short.expires_at is not None and longer.expires_at > short.expires_at
        wait_until(
            lambda: versions(store.list("ttl-1")) == [2],
            timeout=TTL + EXPIRY_MARGIN,
            message="the snapshot with the store's TTL did not expire alone",
        )


class SnapshotStoreConcurrencyContract:
    """Racing writers; needs real transactions, so the database backend runs it apart."""

    def test_racing_sets_of_one_snapshot_leave_one(self, snapshot_store, make_store):
        self.store = snapshot_store
        errors = []

        def writer(n):
            store = make_store()
            try:
                for i in range(10):
                    store.set(snap("race", 1, {"writer": n, "i": i}))
                    store.set(snap("race", 2 + n, {"writer": n}))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                store.close()

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert versions(self.store.list("race")) == [1, 2, 3, 4, 5]
        assert self.store.latest("race").version == 5
