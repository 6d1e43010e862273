"""The lifecycle contract (delete, truncate, retention, scavenge): mixed into
EventStoreContract, so every event store backend's test module runs it."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from snapshots import services as snapshot_services
from streams import lifecycle, services
from streams.backends import get_event_store
from streams.exceptions import NotFound, StreamDeleted, ValidationError, VersionConflict
from streams.records import RecordedEvent


def _events(count: int, name: str = "Happened") -> list[dict]:
    return [{"name": name, "payload": {"n": i}} for i in range(count)]


def _feed() -> list[RecordedEvent]:
    return list(services.iter_all(batch=500))


def _checksum(events: list[RecordedEvent]) -> str:
    digest = hashlib.sha256()
    for e in sorted(events, key=lambda e: e.position):
        digest.update(f"{e.position}|{e.stream_id}|{e.version}|{e.id}|{e.payload}".encode())
    return digest.hexdigest()


def snapshots_db(test):
    """Mark a test that needs the Django database: deletes and truncations drop snapshots,
    which the default snapshot store keeps there, also beside DynamoDB and Redis (see
    tests/conftest.py, which gives the test the database)."""
    test.needs_snapshots_db = True
    return test


class LifecycleContract:
    """Delete, truncate, retention and scavenging (docs/concepts/lifecycle.md)."""

    # -- delete -----------------------------------------------------------------------------

    @snapshots_db
    def test_soft_delete_hides_the_stream_and_an_append_starts_it_again(self):
        old = services.append_to_stream("life-1", _events(3), category="life").events
        services.append_to_stream("other", _events(1))
        head = lifecycle.delete_stream("life-1")
        assert head.version == 3
        with pytest.raises(NotFound):
            services.stream_head("life-1")
        with pytest.raises(NotFound):
            services.read_stream("life-1")
        with pytest.raises(NotFound):
            services.latest_event("life-1")
        assert [s.stream_id for s in services.list_streams().items] == ["other"]
        assert [s.stream_id for s in services.list_streams(category="life").items] == []
        assert [s.stream_id for s in services.recent_streams().items] == ["other"]
        assert [s.stream_id for s in services.recent_streams(category="life").items] == []
        # Until a scavenge, the all-feed keeps the deleted events at their positions.
        assert [e.id for e in _feed() if e.stream_id == "life-1"] == [e.id for e in old]
        with pytest.raises(NotFound):
            lifecycle.delete_stream("life-1")  # soft-deleted already
        with pytest.raises(VersionConflict) as conflict:
            services.append_to_stream("life-1", _events(1), expected_version=0)
        assert conflict.value.current_version == 3
        again = services.append_to_stream("life-1", _events(2), expected_version=3)
        assert [e.version for e in again.events] == [4, 5]
        assert [e.version for e in services.read_stream("life-1").items] == [4, 5]
        assert [e.version for e in services.read_stream("life-1", from_version=1).items] == [4, 5]
        head = services.stream_head("life-1")
        assert (head.version, head.event_count, head.truncate_before) == (5, 2, 4)
        assert head.category == "life"
        assert "life-1" in [s.stream_id for s in services.list_streams().items]
        services.append_to_stream("life-1", _events(1), expected_version="any")
        assert services.stream_head("life-1").version == 6

    @snapshots_db
    def test_hard_delete_leaves_a_tombstone_forever(self):
        old = services.append_to_stream("grave", _events(2)).events
        lifecycle.delete_stream("grave", hard=True)
        for call in (
            lambda: services.stream_head("grave"),
            lambda: services.read_stream("grave"),
            lambda: services.latest_event("grave"),
            lambda: services.append_to_stream("grave", _events(1)),
            lambda: services.append_to_stream("grave", _events(1), expected_version=0),
            lambda: services.append_to_stream("grave", _events(1), expected_version=2),
            lambda: services.append_to_stream("grave", _events(1), expected_version="exists"),
            lambda: services.commit([{"stream_id": "grave", "events": _events(1)}]),
            lambda: lifecycle.delete_stream("grave"),
            lambda: lifecycle.delete_stream("grave", hard=True),
            lambda: lifecycle.truncate_stream("grave", 1),
        ):
            with pytest.raises(StreamDeleted) as raised:
                call()
            assert raised.value.code == "stream_deleted"
        assert services.list_streams().items == []
        assert [e.id for e in _feed()] == [e.id for e in old]

    @snapshots_db
    def test_a_soft_deleted_stream_can_be_hard_deleted(self):
        services.append_to_stream("soft-then-hard", _events(1))
        lifecycle.delete_stream("soft-then-hard")
        lifecycle.delete_stream("soft-then-hard", hard=True)
        with pytest.raises(StreamDeleted):
            services.append_to_stream("soft-then-hard", _events(1))

    @snapshots_db
    def test_deleting_a_missing_stream_is_not_found(self):
        for hard in (False, True):
            with pytest.raises(NotFound):
                lifecycle.delete_stream("never-was", hard=hard)
        with pytest.raises(ValidationError):
            lifecycle.delete_stream("bad\x00id")
        with pytest.raises(ValidationError):
            lifecycle.delete_stream("x", hard="yes")  # type: ignore[arg-type]

    @snapshots_db
    def test_a_version_neutral_stream_is_deleted_and_starts_again(self):
        old = services.append_to_stream("log", _events(3), kind="neutral").events
        lifecycle.delete_stream("log")
        with pytest.raises(NotFound):
            services.read_stream("log")
        new = services.append_to_stream("log", _events(2)).events
        assert all(e.version is None for e in new)
        assert [e.id for e in services.read_stream("log").items] == [e.id for e in new]
        assert min(e.position for e in new) > max(e.position for e in old)

    @snapshots_db
    def test_an_append_racing_a_delete_lands_wholly_before_or_after_it(self):
        for hard in (False, True):
            _race_appends_with_a_delete(f"race-{hard}", hard)

    # -- truncate ---------------------------------------------------------------------------

    @snapshots_db
    def test_truncate_before_a_version_hides_the_older_events(self):
        stored = services.append_to_stream("trunc", _events(5)).events
        head = lifecycle.truncate_stream("trunc", 3)
        assert (head.version, head.event_count, head.truncate_before) == (5, 3, 3)
        assert [e.version for e in services.read_stream("trunc").items] == [3, 4, 5]
        # Reading from below the truncation point answers what remains.
        assert [e.version for e in services.read_stream("trunc", from_version=1).items] == [
            3,
            4,
            5,
        ]
        assert [e.version for e in services.read_stream("trunc", to_version=2).items] == []
        assert services.read_stream("trunc", direction="backwards").items[-1].version == 3
        lifecycle.truncate_stream("trunc", 2)  # never moves back
        assert services.stream_head("trunc").truncate_before == 3
        with pytest.raises(ValidationError) as raised:
            lifecycle.truncate_stream("trunc", 7)
        assert raised.value.details["field"] == "before"
        for bad in (0, -1, "3", None):
            with pytest.raises(ValidationError):
                lifecycle.truncate_stream("trunc", bad)  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            lifecycle.truncate_stream("nothing-here", 1)
        lifecycle.truncate_stream("trunc", 6)
        assert services.read_stream("trunc").items == []
        assert services.stream_head("trunc").event_count == 0
        assert services.append_to_stream("trunc", _events(1), expected_version=5).version == 6
        assert [e.version for e in services.read_stream("trunc").items] == [6]
        assert [e.id for e in _feed()][:5] == [e.id for e in stored]  # until scavenged

    @snapshots_db
    def test_truncate_drops_older_snapshots(self):
        services.append_to_stream("snap", _events(5))
        for version in (2, 4):
            snapshot_services.set_snapshot("snap", version, {"v": version})
        lifecycle.truncate_stream("snap", 3)
        assert [s.version for s in snapshot_services.list_snapshots("snap")] == [4]
        lifecycle.delete_stream("snap")
        assert snapshot_services.list_snapshots("snap") == []

    # -- scavenge ---------------------------------------------------------------------------

    @snapshots_db
    def test_scavenge_removes_what_reads_no_longer_show_and_keeps_positions(self):
        services.append_to_stream("keep", _events(2))
        services.append_to_stream("cut", _events(4))
        services.append_to_stream("soft", _events(2))
        services.append_to_stream("log", _events(3), kind="neutral")
        services.append_to_stream("keep", _events(2))
        services.append_to_stream("hard", _events(3))
        before = _feed()
        lifecycle.truncate_stream("cut", 3)
        log = services.read_stream("log").items
        lifecycle.truncate_stream("log", log[1].position)
        lifecycle.delete_stream("soft")
        lifecycle.delete_stream("hard", hard=True)
        seen: list[str] = []
        report = lifecycle.scavenge(batch=2, progress=lambda sid, r: seen.append(sid))
        expected = [
            e
            for e in before
            if e.stream_id == "keep"
            or (e.stream_id == "cut" and e.version >= 3)
            or (e.stream_id == "log" and e.position >= log[1].position)
        ]
        assert _feed() == expected  # same events, same positions
        assert report.removed_events == len(before) - len(expected) == 8
        assert report.scavenged_streams == 4
        assert set(seen) == {"cut", "log", "soft", "hard"}
        assert lifecycle.scavenge().removed_events == 0
        # Tombstones and soft-deleted heads stay; positions are never reused.
        with pytest.raises(StreamDeleted):
            services.append_to_stream("hard", _events(1))
        fresh = services.append_to_stream("soft", _events(1)).events[0]
        assert fresh.version == 3 and fresh.position > before[-1].position
        assert [e.version for e in services.read_stream("cut").items] == [3, 4]

    @snapshots_db
    def test_a_reader_paging_the_feed_across_a_scavenge_skips_nothing_that_remains(self):
        for n in range(6):
            services.append_to_stream(f"page-{n}", _events(3))
        first = services.read_all(limit=5)
        lifecycle.delete_stream("page-0", hard=True)
        lifecycle.delete_stream("page-4")
        lifecycle.truncate_stream("page-5", 3)
        lifecycle.scavenge(batch=1)
        rest = list(services.iter_all(after=first.next_after, batch=4))
        remaining = [e for e in _feed() if e.position > first.next_after]
        assert rest == remaining
        assert {e.stream_id for e in rest} == {"page-1", "page-2", "page-3", "page-5"}

    @snapshots_db
    def test_scavenging_under_eight_writers_loses_nothing_that_should_stay(self):
        for n in range(4):
            services.append_to_stream(f"old-{n}", _events(20))
        for n in range(4):
            if n % 2:
                lifecycle.delete_stream(f"old-{n}", hard=n == 3)
            else:
                lifecycle.truncate_stream(f"old-{n}", 11)
        written: list[RecordedEvent] = []
        lock = threading.Lock()

        def write(n: int) -> None:
            try:
                for i in range(10):
                    sid = f"old-{n % 3}" if i % 4 == 0 and n % 3 != 1 else f"w-{n}"
                    result = services.append_to_stream(sid, _events(1 + i % 3))
                    with lock:
                        written.extend(result.events)
            finally:
                connections.close_all()

        def scavenge() -> int:
            try:
                total = 0
                for _ in range(3):
                    total += lifecycle.scavenge(batch=3).removed_events
                return total
            finally:
                connections.close_all()

        with ThreadPoolExecutor(9) as pool:
            writers = [pool.submit(write, n) for n in range(8)]
            scavenger = pool.submit(scavenge)
            for f in writers:
                f.result(timeout=180)
            removed = scavenger.result(timeout=180)
        removed += lifecycle.scavenge().removed_events
        assert removed == 10 + 20 + 10 + 20
        kept_old = [e for e in _all_of("old-0") + _all_of("old-2")]
        should_stay = sorted(
            [e for e in written] + [e for e in kept_old if e.id not in {w.id for w in written}],
            key=lambda e: e.position,
        )
        feed = _feed()
        assert len(feed) == len(should_stay) == len(written) + 20
        assert _checksum(feed) == _checksum(should_stay)

    # -- retention --------------------------------------------------------------------------

    @snapshots_db
    def test_retention_by_count_and_age_truncates_then_scavenges(self, settings):
        services.append_to_stream("r-count", _events(5), category="counted")
        services.append_to_stream("r-age", _events(3), category="aged")
        services.append_to_stream("r-log", _events(4), category="counted", kind="neutral")
        services.append_to_stream("r-free", _events(3), category="free")
        settings.FLIPBOOK_RETENTION = {"counted": {"max_count": 2}, "aged": {"max_age": 3600}}
        report = lifecycle.scavenge()
        assert [e.version for e in services.read_stream("r-count").items] == [4, 5]
        assert len(services.read_stream("r-log").items) == 2
        assert len(services.read_stream("r-age").items) == 3  # young enough
        assert report.truncated_streams == 2 and report.removed_events == 5
        later = datetime.now(UTC) + timedelta(hours=2)
        report = lifecycle.scavenge(now=later)
        assert services.read_stream("r-age").items == []
        assert services.stream_head("r-age").version == 3
        assert len(services.read_stream("r-free").items) == 3
        assert report.removed_events == 3
        settings.FLIPBOOK_RETENTION = {"counted": {"max_count": 0}}
        with pytest.raises(ValidationError):
            lifecycle.scavenge()
        settings.FLIPBOOK_RETENTION = {"counted": {"keep": 1}}
        with pytest.raises(ValidationError):
            lifecycle.scavenge()

    @snapshots_db
    def test_a_stream_policy_beats_its_category_and_clearing_it_falls_back(self, settings):
        services.append_to_stream("own-1", _events(6), category="kept")
        services.append_to_stream("own-2", _events(6), category="kept")
        services.append_to_stream("own-log", _events(5), category="kept", kind="neutral")
        services.append_to_stream("own-free", _events(4))
        settings.FLIPBOOK_RETENTION = {"kept": {"max_count": 4}}
        # Tighter than the category on own-1, looser on own-2: the stream's policy wins both.
        mine = lifecycle.set_stream_retention("own-1", max_count=1)
        assert (mine.source, mine.max_count, mine.max_age, mine.category) == (
            "stream",
            1,
            None,
            "kept",
        )
        lifecycle.set_stream_retention("own-2", max_count=5)
        lifecycle.set_stream_retention("own-log", max_count=2)
        lifecycle.set_stream_retention("own-free", max_age=3600)
        assert lifecycle.stream_retention("own-2").max_count == 5
        report = lifecycle.scavenge()
        assert [e.version for e in services.read_stream("own-1").items] == [6]
        assert [e.version for e in services.read_stream("own-2").items] == [2, 3, 4, 5, 6]
        assert len(services.read_stream("own-log").items) == 2
        assert len(services.read_stream("own-free").items) == 4  # young enough
        assert report.truncated_streams == 3 and report.removed_events == 5 + 1 + 3
        # A policy for a stream without a category applies too, by age.
        later = datetime.now(UTC) + timedelta(hours=2)
        lifecycle.scavenge(now=later)
        assert services.read_stream("own-free").items == []
        # Cleared: the category's policy applies again.
        fallback = lifecycle.clear_stream_retention("own-2")
        assert (fallback.source, fallback.max_count) == ("category", 4)
        with pytest.raises(NotFound):
            lifecycle.clear_stream_retention("own-2")
        report = lifecycle.scavenge()
        assert [e.version for e in services.read_stream("own-2").items] == [3, 4, 5, 6]
        assert [e.version for e in services.read_stream("own-1").items] == [6]
        assert report.removed_events == 1
        assert lifecycle.stream_retention("own-free").source == "stream"
        assert lifecycle.stream_retention("nowhere").source == "none"

    @snapshots_db
    def test_stream_policy_validation_and_tombstones(self):
        for bad in ({}, {"max_age": 0}, {"max_count": -1}, {"max_count": True}, {"max_age": "9"}):
            with pytest.raises(ValidationError):
                lifecycle.set_stream_retention("val-1", **bad)
        assert lifecycle.stream_retention("val-1").source == "none"
        services.append_to_stream("val-2", _events(2))
        lifecycle.set_stream_retention("val-2", max_count=1)
        lifecycle.delete_stream("val-2", hard=True)
        # The tombstone's policy went with it, and a new one is refused.
        assert lifecycle.stream_retention("val-2").source == "none"
        with pytest.raises(StreamDeleted):
            lifecycle.set_stream_retention("val-2", max_count=1)

    @snapshots_db
    def test_a_limited_scavenge_stops_and_the_next_run_finishes(self):
        for n in range(3):
            services.append_to_stream(f"lim-{n}", _events(4))
            lifecycle.delete_stream(f"lim-{n}", hard=True)
        first = lifecycle.scavenge(batch=3, limit=5)
        assert first.removed_events == 5 and not first.complete
        second = lifecycle.scavenge(batch=3, limit=100)
        assert second.removed_events == 7 and second.complete
        assert not [e for e in _feed() if e.stream_id.startswith("lim-")]


def _all_of(stream_id: str) -> list[RecordedEvent]:
    return list(services.iter_stream(stream_id))


def _race_appends_with_a_delete(sid: str, hard: bool) -> None:
    """Four threads append three events at a time (8 times each) while one deletes: each
    append lands wholly before the delete (and is deleted with it) or after it (soft: the
    stream starts again; hard: refused as stream_deleted)."""
    services.append_to_stream(sid, _events(1))
    start = threading.Barrier(5)
    appended: list = []
    refused: list = []

    def append(n: int) -> None:
        try:
            start.wait()
            for _ in range(8):
                try:
                    appended.append(services.append_to_stream(sid, _events(3)))
                except StreamDeleted:
                    refused.append(n)
        finally:
            connections.close_all()

    def delete():
        try:
            start.wait()
            # The backend's delete (the service adds validation, and drops snapshots in the
            # Django database, which a thread beside DynamoDB or Redis does not open).
            return get_event_store().delete_stream(sid, hard=hard)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(5) as pool:
        writers = [pool.submit(append, n) for n in range(4)]
        deleted = pool.submit(delete)
        for f in writers:
            f.result(timeout=120)
        gone = deleted.result(timeout=120)
    cut = gone.version
    before = [r for r in appended if r.events[-1].version <= cut]
    after = sorted(
        (r for r in appended if r.events[0].version > cut), key=lambda r: r.events[0].version
    )
    assert len(before) + len(after) == len(appended), "an append straddles the delete"
    assert cut == 1 + 3 * len(before)
    if hard:
        assert after == [] and len(appended) + len(refused) == 32
        with pytest.raises(StreamDeleted):
            services.read_stream(sid)
    else:
        assert refused == [] and len(appended) == 32
        remaining = services.read_stream(sid, limit=1000).items if after else []
        assert [e.id for e in remaining] == [e.id for r in after for e in r.events]
