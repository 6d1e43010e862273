"""Snapshots made while writers append (by hand and by the policy) never claim a version
whose state they do not hold: each one equals the fold of exactly the events up to its
version. On SQLite and PostgreSQL, with real commits and threads."""

from __future__ import annotations

import random
import threading
import time

from django.db import connections

from snapshots import policy
from snapshots import services as snapshots
from snapshots.models import Category
from snapshots.state import state_at_version
from streams import services
from streams.exceptions import Unavailable
from tests.contracts.snapshot_store import use_stores
from tests.waiting import wait_until

STREAM = "race/wallet"


def _in_thread(errors: list, body) -> threading.Thread:
    def run():
        try:
            body()
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def test_snapshots_taken_while_writers_append_hold_their_versions(db_backend, settings):
    use_stores(settings, db_backend)
    policy.forget_policies()
    Category.objects.create(name="race", reducer="list", snapshot_every=7)
    services.append_to_stream(STREAM, [{"name": "Opened", "payload": "w-1"}], category="race")
    writers, appends = (4, 25) if db_backend == "postgres" else (3, 15)
    done = threading.Event()
    errors: list[Exception] = []
    taken = []

    def writer(n: int) -> None:
        for i in range(appends):
            if i == appends // 2:
                # Halfway, let the snapshotters catch up so snapshots interleave with appends
                # however the threads are scheduled (on a busy machine they may not have run).
                wait_until(
                    lambda: len(taken) >= 4,
                    timeout=10,
                    interval=0.01,
                    message="the snapshotters took no snapshots while the writers waited",
                )
            events = [
                {"name": "Noted", "payload": f"w{n}-{i}-{k}"} for k in range(random.randint(1, 3))
            ]
            while True:
                try:
                    services.append_to_stream(STREAM, events)
                    break
                except Unavailable:  # SQLite: the database is locked for a moment
                    time.sleep(0.01)  # a retry's back-off: trying again is the only way to know

    def snapshotter() -> None:
        while not done.is_set():
            try:
                taken.append(snapshots.take_snapshot(STREAM, label="racing"))
            except Unavailable:  # SQLite: the database is locked for a moment
                time.sleep(0.01)  # a retry's back-off: trying again is the only way to know

    threads = [_in_thread(errors, lambda n=n: writer(n)) for n in range(writers)]
    watchers = [_in_thread(errors, snapshotter) for _ in range(2)]
    for thread in threads + watchers:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    for thread in watchers:
        thread.join()
    assert policy.wait_idle(30)
    assert errors == []

    events = list(services.iter_stream(STREAM))
    head = services.stream_head(STREAM).version
    assert [e.version for e in events] == list(range(1, head + 1))
    payloads = [e.payload for e in events]
    stored = snapshots.list_snapshots(STREAM)
    assert any(s.label == "policy" for s in stored) and any(s.label == "racing" for s in stored)
    assert len(taken) > 3
    for snapshot in [*taken, *stored]:
        # The list reducer's state is the payloads: exactly versions 1..N, no more, no less.
        assert snapshot.payload == payloads[: snapshot.version], snapshot.version
    for version in [*random.sample(range(1, head + 1), 10), head]:
        state = state_at_version(STREAM, version)
        assert state.payload == payloads[:version]
    assert snapshots.check_snapshots([STREAM]).ok


def test_a_snapshot_is_never_ahead_of_what_a_reader_saw(db_backend, settings, monkeypatch):
    """A head that moves on between reading it and folding does not move the snapshot on."""
    use_stores(settings, db_backend)
    Category.objects.create(name="race", reducer="list")
    services.append_to_stream(STREAM, [{"name": "A", "payload": 1}], category="race")
    real_iter = services.iter_stream

    def iter_then_append(*args, **kwargs):
        # Another writer commits right after the snapshot's reader looked at the head.
        services.append_to_stream(STREAM, [{"name": "B", "payload": 2}])
        return real_iter(*args, **kwargs)

    monkeypatch.setattr(services, "iter_stream", iter_then_append)
    taken = snapshots.take_snapshot(STREAM)
    monkeypatch.undo()
    assert (taken.version, taken.payload) == (1, [1])
    assert services.stream_head(STREAM).version == 2
    assert state_at_version(STREAM).payload == [1, 2]
