"""Concurrency on PostgreSQL: racing writers on one stream, and a reader tailing the all-feed
while writers commit. Every thread uses its own database connection and closes it at its end."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from itertools import pairwise

import psycopg
import pytest
from django.db import connections, transaction

from streams import services
from streams.exceptions import NotFound, Unavailable, VersionConflict
from tests.waiting import wait_until

WRITERS = 16
TARGET_VERSION = 200
TIME_LIMIT = 45.0  # seconds; a run over it fails rather than hanging the suite


def start_threads(
    targets: list[Callable[[], None]], errors: list[BaseException]
) -> list[threading.Thread]:
    """Start each target in its own thread; what a target raises is added to ``errors``."""

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # reported to the test thread, which fails on it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guarded, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    return threads


def join_threads(threads: list[threading.Thread]) -> None:
    deadline = time.monotonic() + TIME_LIMIT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        pytest.fail(f"threads still running after {TIME_LIMIT:g} s")


def run_threads(targets: list[Callable[[], None]]) -> list[BaseException]:
    """Run each target in its own thread to its end and return what they raised."""
    errors: list[BaseException] = []
    join_threads(start_threads(targets, errors))
    return errors


def test_racing_writers_get_exactly_one_winner_per_version(postgres_backend):
    wins: list[tuple[int, int, str]] = []  # (expected, stored version, event id)
    conflicts: list[tuple[int, int]] = []  # (expected, current_version named by the conflict)
    start = threading.Barrier(WRITERS)

    def writer(number: int) -> None:
        start.wait()
        while True:
            try:
                head = services.stream_head("race").version
            except NotFound:
                head = 0
            if head >= TARGET_VERSION:
                return
            event = {"name": "Won", "payload": {"writer": number, "expected": head}}
            try:
                result = services.append_to_stream("race", [event], expected_version=head)
            except VersionConflict as conflict:
                assert conflict.details["current_version"] == conflict.current_version
                conflicts.append((head, conflict.current_version))
            else:
                wins.append((head, result.version, str(result.events[0].id)))

    errors = run_threads([lambda n=n: writer(n) for n in range(WRITERS)])
    assert errors == []

    assert sorted(version for _, version, _ in wins) == list(range(1, TARGET_VERSION + 1))
    assert all(version == expected + 1 for expected, version, _ in wins)
    stored = list(services.iter_stream("race", batch_size=64))
    assert [e.version for e in stored] == list(range(1, TARGET_VERSION + 1))
    assert [e.payload["expected"] for e in stored] == list(range(TARGET_VERSION))
    winner_of = {version: event_id for _, version, event_id in wins}
    assert [str(e.id) for e in stored] == [winner_of[v] for v in range(1, TARGET_VERSION + 1)]
    positions = [e.position for e in stored]
    assert all(a < b for a, b in pairwise(positions))
    head = services.stream_head("race")
    assert (head.version, head.event_count) == (TARGET_VERSION, TARGET_VERSION)

    # The race was real, and every loser was told where the stream had got to.
    assert conflicts, "no writer ever lost: the threads did not race"
    assert all(current >= expected + 1 for expected, current in conflicts)
    assert all(current <= TARGET_VERSION for _, current in conflicts)


def test_tailing_reader_sees_every_committed_event_once_in_position_order(postgres_backend):
    writers, operations = 8, 40
    streams = [f"tail-{i:02d}" for i in range(24)]
    committed: list[list[tuple[str, int]]] = [[] for _ in range(writers)]  # (event id, position)
    writers_done = threading.Event()
    seen: list[tuple[str, int, str]] = []  # (event id, position, stream id)
    seen_while_writing = [0]

    def writer(number: int) -> None:
        rng = random.Random(number)
        for op in range(operations):
            if op % 3 == 2:
                chosen = rng.sample(streams, rng.randint(2, 4))
                result = services.commit(
                    [
                        {
                            "stream_id": stream_id,
                            "events": [
                                {"name": "Multi", "payload": {"w": number, "op": op, "k": k}}
                                for k in range(rng.randint(1, 3))
                            ],
                        }
                        for stream_id in chosen
                    ]
                )
            else:
                result = services.append_to_stream(
                    rng.choice(streams), [{"name": "Single", "payload": {"w": number, "op": op}}]
                )
            committed[number] += [(str(e.id), e.position) for e in result.events]

    def reader() -> None:
        after = 0
        while True:
            finished = writers_done.is_set()  # read before the page: a later page drains
            page = services.read_all(after=after, limit=50)
            assert page.next_after >= after
            assert all(e.position > after for e in page.events)
            seen.extend((str(e.id), e.position, e.stream_id) for e in page.events)
            if not finished:
                seen_while_writing[0] += len(page.events)
            after = page.next_after
            if finished and not page.events:
                return

    reader_errors: list[BaseException] = []
    reader_thread = start_threads([reader], reader_errors)
    errors = run_threads([lambda n=n: writer(n) for n in range(writers)])
    writers_done.set()
    join_threads(reader_thread)
    assert errors == []
    assert reader_errors == []

    expected = {event_id: position for events in committed for event_id, position in events}
    assert len(expected) == sum(len(events) for events in committed)  # ids are unique
    seen_ids = [event_id for event_id, _, _ in seen]
    assert len(seen_ids) == len(set(seen_ids)), "the reader saw an event twice"
    assert set(seen_ids) == set(expected), "the reader missed events or saw unknown ones"
    assert all(expected[event_id] == position for event_id, position, _ in seen)
    positions = [position for _, position, _ in seen]
    assert all(a < b for a, b in pairwise(positions)), "positions went backwards"
    assert {stream_id for _, _, stream_id in seen} <= set(streams)
    assert seen_while_writing[0] > 0, "the reader saw nothing until the writers had stopped"
    # What the reader saw is what the store holds.
    assert [str(e.id) for e in services.iter_all()] == seen_ids


def test_the_feed_does_not_skip_a_write_still_in_flight(postgres_backend):
    """A commit that drew its position before a feed read, and commits after it, is still
    seen by a reader continuing from that read's next_after."""
    early = services.append_to_stream("early", [{"name": "Early"}]).events[0]
    with connections[postgres_backend].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")  # this thread's session: the feed reader
        reader_pid = cursor.fetchone()[0]
    drawn = threading.Event()
    in_flight = []

    def slow_writer() -> None:
        with transaction.atomic(using=postgres_backend):
            in_flight.extend(services.append_to_stream("slow", [{"name": "Slow"}]).events)
            drawn.set()
            # Commit only once the feed read waits for this write still in flight.
            with observer_connection(postgres_backend) as observer:
                wait_until(
                    lambda: feed_reader_waits(observer, reader_pid),
                    timeout=15,  # past the read's own wait for writers (10 s), within TIME_LIMIT
                    message="the feed read did not wait for the write in flight",
                )

    errors: list[BaseException] = []
    writer = start_threads([slow_writer], errors)
    assert drawn.wait(TIME_LIMIT)
    first = services.read_all(after=0)
    join_threads(writer)
    assert errors == []
    second = services.read_all(after=first.next_after)
    seen = [e.id for e in (*first.events, *second.events)]
    assert seen == [early.id, in_flight[0].id]


def observer_connection(alias: str) -> psycopg.Connection:
    """A session of its own on ``alias``'s database, outside every test transaction."""
    config = connections[alias].settings_dict
    return psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname=config["NAME"],
        autocommit=True,  # each look at pg_stat_activity is fresh, not a transaction's copy
    )


def feed_reader_waits(observer: psycopg.Connection, reader_pid: int) -> bool:
    """Whether the session ``reader_pid`` reads the all-feed and waits for writers in flight:
    its latest statement is the settled-position recheck of their locks, which it only runs
    while some are open (streams/backends/database/postgresql.py, settled_position)."""
    row = observer.execute(
        "SELECT query FROM pg_stat_activity WHERE pid = %s", [reader_pid]
    ).fetchone()
    return row is not None and "virtualtransaction = ANY" in row[0]


def use_feed_wait(settings, alias: str, seconds: float) -> None:
    settings.FLIPBOOK_EVENT_STORE = {
        "BACKEND": "streams.backends.database.DatabaseEventStore",
        "OPTIONS": {"using": alias, "feed_wait_seconds": seconds},
    }


def test_open_transactions_elsewhere_do_not_stall_the_feed(postgres_backend, settings):
    """Transactions holding an xid in another database, or in this one without writing
    events, are not writers of the feed: reading it must not wait for them."""
    use_feed_wait(settings, postgres_backend, 1.0)
    config = connections[postgres_backend].settings_dict

    def open_transaction(dbname: str) -> psycopg.Connection:
        conn = psycopg.connect(
            host=config["HOST"] or None,
            port=config["PORT"] or None,
            user=config["USER"] or None,
            password=config["PASSWORD"] or None,
            dbname=dbname,
        )
        conn.execute("SELECT pg_current_xact_id()")  # takes an xid and keeps it open
        return conn

    others = [open_transaction("postgres"), open_transaction(config["NAME"])]
    try:
        stored = services.append_to_stream("s", [{"name": "A"}]).events[0]
        page = services.read_all()
        assert page.events == [stored]
        assert page.next_after == stored.position
    finally:
        for conn in others:
            conn.rollback()
            conn.close()


def test_a_write_held_open_makes_the_feed_unavailable_not_wrong(postgres_backend, settings):
    use_feed_wait(settings, postgres_backend, 0.5)
    early = services.append_to_stream("early", [{"name": "Early"}]).events[0]
    drawn, release = threading.Event(), threading.Event()

    def stuck_writer() -> None:
        with transaction.atomic(using=postgres_backend):
            services.append_to_stream("stuck", [{"name": "Stuck"}])
            drawn.set()
            release.wait(TIME_LIMIT)

    errors: list[BaseException] = []
    writer = start_threads([stuck_writer], errors)
    try:
        assert drawn.wait(TIME_LIMIT)
        with pytest.raises(Unavailable) as info:
            services.read_all(after=0)
        assert info.value.code == "unavailable"
        # Continuing after the events it has seen, a reader must wait for the stuck write too.
        with pytest.raises(Unavailable):
            services.read_all(after=early.position)
    finally:
        release.set()
        join_threads(writer)
    assert errors == []
    assert [e.name for e in services.read_all(after=0).events] == ["Early", "Stuck"]
