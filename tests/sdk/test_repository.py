"""Aggregate and Repository against a real server, over REST and over gRPC: save and load,
conflicts, retries of racing repositories, atomic saves of several aggregates, snapshots."""

from __future__ import annotations

import threading
import uuid

import pytest

from flipbook_client import (
    Aggregate,
    Client,
    Event,
    NotFound,
    Repository,
    UnknownEvent,
    VersionConflict,
    applies,
)


class Counter(Aggregate):
    category = "sdk-counter"

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.count = 0
        self._applied: list[int | None] = []  # versions applied, not part of the state

    def add(self, n: int = 1) -> None:
        if n <= 0:
            raise ValueError("n must be positive")
        self.record("Added", {"n": n})

    def apply_Added(self, event: Event) -> None:
        self.count += event.payload["n"]
        self._applied.append(event.version)

    @applies("Counter.Reset")  # a name that is no Python identifier
    def reset(self, event: Event) -> None:
        self.count = 0
        self._applied.append(event.version)


def new_id() -> str:
    return f"counter/{uuid.uuid4().hex}"


def test_save_and_load(client: Client):
    repo = Repository(client, Counter)
    counter = repo.load(new_id())
    assert counter.version == 0
    counter.add(2)
    counter.add(3)
    assert counter.count == 5 and len(counter.pending_events) == 2
    [result] = repo.save(counter)
    assert (result.version, counter.version, counter.pending_events) == (2, 2, [])
    assert client.stream(counter.id).category == "sdk-counter"
    loaded = repo.get(counter.id)
    assert (loaded.count, loaded.version, loaded._applied) == (5, 2, [1, 2])
    client.append(counter.id, [{"name": "Counter.Reset"}], expected_version=2)
    assert repo.get(counter.id).count == 0
    with pytest.raises(NotFound):
        repo.get(new_id())


def test_saving_again_after_a_lost_answer_stores_nothing_twice(client: Client):
    stream_id = new_id()
    repo = Repository(client, Counter)
    counter = repo.load(stream_id)
    counter.add(3)
    pending = counter.pending_events
    [first] = repo.save(counter)
    # As if the answer had been lost: the same events (same ids) are sent once more.
    again = client.append(stream_id, pending, expected_version=0)
    assert again.duplicate and again.events == first.events
    assert client.stream(stream_id).version == 1


def test_unknown_event_is_refused(client: Client):
    stream_id = new_id()
    client.append(stream_id, [{"name": "Mystery"}])
    with pytest.raises(UnknownEvent, match="Mystery"):
        Repository(client, Counter).load(stream_id)


def test_a_stale_save_raises_version_conflict(client: Client):
    stream_id = new_id()
    first, second = Repository(client, Counter), Repository(client, Counter)
    mine, theirs = first.load(stream_id), second.load(stream_id)
    mine.add()
    theirs.add(10)
    first.save(mine)
    with pytest.raises(VersionConflict) as caught:
        second.save(theirs)
    assert caught.value.current_version == 1
    assert first.get(stream_id).count == 1  # the stale write stored nothing


def test_execute_retries_a_command_after_a_conflict(client: Client):
    stream_id = new_id()
    repo, other = Repository(client, Counter), Repository(client, Counter)
    repo.execute(stream_id, lambda c: c.add(1))
    calls: list[int] = []

    def command(counter: Counter) -> int:
        calls.append(counter.version)
        if len(calls) == 1:
            # Another writer gets in between this command's load and its save.
            other.execute(stream_id, lambda c: c.add(100))
        counter.add(1)
        return counter.count

    assert repo.execute(stream_id, command, retries=2) == 102
    assert calls == [1, 2]  # ran again on the reloaded aggregate
    assert repo.get(stream_id).count == 102

    calls.clear()
    with pytest.raises(VersionConflict):
        repo.execute(stream_id, command, retries=0)
    assert calls == [3]
    assert repo.get(stream_id).count == 202  # only the other writer's event was stored


def test_racing_repositories_lose_no_increment(client: Client):
    stream_id = new_id()
    writers, increments = 4, 5
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write() -> None:
        repo = Repository(client, Counter)
        start.wait()
        try:
            for _ in range(increments):
                repo.execute(stream_id, lambda c: c.add(1), retries=100, backoff=0.001)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    counter = Repository(client, Counter).get(stream_id)
    assert (counter.count, counter.version) == (writers * increments, writers * increments)


def test_saving_several_aggregates_is_one_atomic_commit(client: Client):
    a_id, b_id = new_id(), new_id()
    repo = Repository(client, Counter)
    repo.execute([a_id, b_id], lambda a, b: (a.add(1), b.add(1)))
    a, b = repo.load(a_id), repo.load(b_id)
    a.add(5)
    b.add(5)
    client.append(b_id, [{"name": "Added", "payload": {"n": 1}}])  # b moves on
    with pytest.raises(VersionConflict):
        repo.save(a, b)
    assert (repo.get(a_id).count, repo.get(b_id).count) == (1, 2)  # a stored nothing either
    results = repo.execute([a_id, b_id], lambda a, b: (a.add(5), b.add(5)), retries=1)
    assert results == (None, None)
    assert (repo.get(a_id).count, repo.get(b_id).count) == (6, 7)


def test_repository_loads_from_its_snapshot_and_reads_only_later_events(client: Client):
    stream_id = new_id()
    repo = Repository(client, Counter, snapshot_every=5)
    for _ in range(7):
        repo.execute(stream_id, lambda c: c.add(1))
    snapshot = client.snapshots.get(stream_id, revision=repo.revision)
    assert (snapshot.version, snapshot.payload) == (5, {"count": 5})
    assert repo.revision == "sdk:Counter:1"

    counter = repo.load(stream_id)
    assert (counter.count, counter.version) == (7, 7)
    assert counter._applied == [6, 7]  # events 1..5 came from the snapshot, not the store
    assert repo.last_load == (5, 2)

    # The snapshot's state is what the load starts from: a different state at version 5
    # shows through (the events after it are applied on top).
    client.snapshots.set(stream_id, 5, {"count": 1000}, revision=repo.revision)
    assert repo.load(stream_id).count == 1002

    # Snapshots of another revision (the server's reducer, an older aggregate) are ignored.
    other = Repository(client, type("Counter", (Counter,), {"snapshot_revision": "2"}))
    assert other.revision == "sdk:Counter:2"
    reloaded = other.load(stream_id)
    assert (reloaded.count, reloaded._applied) == (7, [1, 2, 3, 4, 5, 6, 7])
    assert other.last_load == (None, 7)


def test_snapshot_policy_counts_crossed_multiples(client: Client):
    stream_id = new_id()
    repo = Repository(client, Counter, snapshot_every=3)
    repo.execute(stream_id, lambda c: [c.add(1) for _ in range(4)])  # 0 -> 4 crosses 3
    repo.execute(stream_id, lambda c: c.add(1))  # 4 -> 5 crosses nothing
    repo.execute(stream_id, lambda c: c.add(1))  # 5 -> 6 crosses 6
    versions = [s.version for s in _snapshots(client, stream_id, repo.revision)]
    assert versions == [4, 6]


def test_a_custom_snapshot_policy_decides(client: Client):
    stream_id = new_id()
    repo = Repository(
        client, Counter, snapshot_policy=lambda counter, saved_from: counter.count >= 10
    )
    repo.execute(stream_id, lambda c: c.add(4))
    repo.execute(stream_id, lambda c: c.add(6))  # count 10: snapshot at version 2
    repo.execute(stream_id, lambda c: c.add(1))  # count 11: snapshot at version 3
    assert [s.version for s in _snapshots(client, stream_id, repo.revision)] == [2, 3]
    assert repo.load(stream_id).count == 11
    assert repo.last_load == (3, 0)


def _snapshots(client: Client, stream_id: str, revision: str) -> list:
    found, version = [], None
    while True:
        try:
            snapshot = client.snapshots.get(stream_id, version=version, revision=revision)
        except NotFound:
            return sorted(found, key=lambda s: s.version)
        found.append(snapshot)
        if snapshot.version == 1:
            return sorted(found, key=lambda s: s.version)
        version = snapshot.version - 1
