"""flipbook_client.consumer.Consumer against a real server's durable subscriptions: handle
and ack in order, nack and redeliver on a handler error, park after max_attempts, stop
gracefully (an Event, SIGTERM) acknowledging exactly what was handled."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import uuid

import pytest

from flipbook_client import AlreadyExists, CaughtUp, Client, NotFound, Unsupported
from flipbook_client.consumer import Consumer
from tests.sdk.conftest import ROOT


@pytest.fixture
def category() -> str:
    return f"sdk-sub-{uuid.uuid4().hex[:12]}"


def fill(client: Client, category: str, count: int) -> list[int]:
    """Append ``count`` events (payload 0..count-1) over two streams; return positions."""
    positions = []
    for i in range(count):
        result = client.append(
            f"{category}/{i % 2}", [{"name": "Made", "payload": i}], category=category
        )
        positions.append(result.events[0].position)
    return positions


def test_subscription_management_round_trip(client: Client, category: str):
    name = f"sdk-{uuid.uuid4().hex[:12]}"
    created = client.subscriptions.create(name, category=category, max_attempts=3)
    assert (created.name, created.filter["category"], created.max_attempts) == (name, category, 3)
    with pytest.raises(AlreadyExists):
        client.subscriptions.create(name, category=category)
    positions = fill(client, category, 3)
    batch = client.subscriptions.next(name, max=2, wait=0)
    assert [e.payload for e in batch.events] == [0, 1]
    acked = client.subscriptions.ack(name, batch.events[0].position)
    assert acked.checkpoint == positions[0]
    assert [e.payload for e in client.subscriptions.next(name, wait=0).events] == [1, 2]
    reset = client.subscriptions.reset(name, "beginning")
    assert reset.checkpoint < positions[0]
    assert name in [s.name for s in client.subscriptions.list(limit=1000).items]
    client.subscriptions.delete(name)
    with pytest.raises(NotFound):
        client.subscriptions.get(name)


def test_pause_and_resume_a_subscription(client: Client, category: str):
    name = f"sdk-{uuid.uuid4().hex[:12]}"
    client.subscriptions.create(name, category=category)
    fill(client, category, 2)
    paused = client.subscriptions.pause(name)
    assert (paused.paused, paused.status) == (True, "paused")
    assert client.subscriptions.get(name).paused is True
    assert client.subscriptions.next(name, wait=0).events == []
    resumed = client.subscriptions.resume(name)
    assert resumed.paused is False
    assert resumed.status != "paused"
    assert [e.payload for e in client.subscriptions.next(name, wait=0).events] == [0, 1]
    with pytest.raises(NotFound):
        client.subscriptions.pause(f"missing-{name}")


def test_consumer_handles_in_order_and_redelivers_after_a_failure(client: Client, category):
    name = f"sdk-{uuid.uuid4().hex[:12]}"
    client.subscriptions.create(name, category=category)
    positions = fill(client, category, 5)
    seen: list[int] = []

    def handle(event) -> None:
        seen.append(event.payload)
        if event.payload == 2 and seen.count(2) == 1:
            raise RuntimeError("flaky downstream")

    stats = Consumer(client, name, handle, batch_size=10, wait=0.5).run(until_idle=True)
    assert seen == [0, 1, 2, 2, 3, 4]
    assert (stats.handled, stats.nacked, stats.last_acked) == (5, 1, positions[-1])
    subscription = client.subscriptions.get(name)
    assert (subscription.checkpoint, subscription.lag, subscription.parked) == (
        positions[-1],
        0,
        0,
    )


def test_consumer_parks_a_poison_event_and_goes_on(client: Client, category):
    name = f"sdk-{uuid.uuid4().hex[:12]}"
    client.subscriptions.create(name, category=category, max_attempts=2)
    positions = fill(client, category, 3)
    handled: list[int] = []

    def handle(event) -> None:
        if event.payload == 1:
            raise ValueError("cannot handle 1")
        handled.append(event.payload)

    stats = Consumer(client, name, handle, wait=0.5).run(until_idle=True)
    assert handled == [0, 2]
    assert stats.nacked == 2
    [parked] = client.subscriptions.parked(name).items
    assert (parked.position, parked.attempts) == (positions[1], 2)
    assert "cannot handle 1" in parked.error
    assert client.subscriptions.get(name).checkpoint == positions[2]


def test_consumer_stops_gracefully_and_resumes(client: Client, category):
    name = f"sdk-{uuid.uuid4().hex[:12]}"
    client.subscriptions.create(name, category=category)
    positions = fill(client, category, 5)
    handled: list[int] = []
    consumer: Consumer

    def handle(event) -> None:
        handled.append(event.payload)
        if len(handled) == 2:
            consumer.stop()

    consumer = Consumer(client, name, handle, batch_size=10, wait=0.5)
    consumer.run()
    assert handled == [0, 1]
    assert client.subscriptions.get(name).checkpoint == positions[1]

    Consumer(client, name, lambda e: handled.append(e.payload), wait=0.5).run(until_idle=True)
    assert handled == [0, 1, 2, 3, 4]


CONSUMER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from flipbook_client import connect
    from flipbook_client.consumer import Consumer

    url, key, transport, name = sys.argv[1:5]

    def handle(event):
        print(event.position, flush=True)
        time.sleep(0.3)  # the work of handling an event: SIGTERM lands in the middle of it

    with connect(url, key, transport) as client:
        stats = Consumer(client, name, handle, batch_size=100, wait=1).run()
    print("stopped", stats.last_acked, flush=True)
    """
)


def test_sigterm_stops_a_consumer_after_the_current_event(
    client: Client, flipbook_server, transport, category
):
    name = f"sdk-{uuid.uuid4().hex[:12]}"
    client.subscriptions.create(name, category=category)
    positions = fill(client, category, 30)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CONSUMER_SCRIPT,
            flipbook_server.url(transport),
            flipbook_server.key,
            transport,
            name,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline().strip()
        assert first == str(positions[0]), process.stderr.read()[-2000:]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-2000:]
    lines = [first, *out.splitlines()]
    handled = [int(line) for line in lines[:-1]]
    assert lines[-1] == f"stopped {handled[-1]}"
    assert len(handled) < len(positions)  # it stopped early, mid-batch
    assert handled == positions[: len(handled)]
    # Exactly the handled events were acknowledged.
    assert client.subscriptions.get(name).checkpoint == handled[-1]


def test_streaming_a_subscription_catches_up_then_goes_live(client: Client, transport, category):
    name = f"sdk-{uuid.uuid4().hex[:12]}"
    client.subscriptions.create(name, category=category)
    positions = fill(client, category, 3)
    if transport == "rest":
        with pytest.raises(Unsupported):
            next(iter(client.subscriptions.stream(name)))
        return
    stream = client.subscriptions.stream(name, max_in_flight=10)
    try:
        caught_up = [next(stream) for _ in range(4)]
        assert [e.position for e in caught_up[:3]] == positions
        assert caught_up[3] == CaughtUp(caught_up[3].position)
        assert caught_up[3].position >= positions[-1]
        live = client.append(f"{category}/live", [{"name": "Live"}], category=category)
        event = next(stream)
        assert (event.name, event.position) == ("Live", live.events[0].position)
        client.subscriptions.ack(name, event.position)
    finally:
        stream.close()
    assert client.subscriptions.get(name).checkpoint == live.events[0].position
