"""The durable subscription service (streams/subscriptions.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from streams import services
from streams.exceptions import AlreadyExists, NotFound, ValidationError
from subscriptions import services as subs
from subscriptions.models import Subscription
from subscriptions.notifier import notifier
from tests.waiting import wait_until


def append(stream_id: str, *names: str, category: str | None = None) -> list[int]:
    result = services.append_to_stream(
        stream_id,
        [{"name": n, "payload": {"n": i}} for i, n in enumerate(names)],
        category=category,
    )
    return [e.position for e in result.events]


def positions(batch: subs.Batch) -> list[int]:
    return [e.position for e in batch.events]


def test_create_get_list_delete(db_backend):
    info = subs.create_subscription("orders.v1", filter={"category": "order"}, max_attempts=3)
    assert info.as_dict()["filter"] == {"category": "order", "stream_id": None, "names": []}
    assert (info.checkpoint, info.lag, info.parked, info.max_attempts) == (0, 0, 0, 3)
    assert info.status == "idle"
    subs.create_subscription("all")
    with pytest.raises(AlreadyExists):
        subs.create_subscription("all")
    page = subs.list_subscriptions(limit=1)
    assert [s.name for s in page.items] == ["all"]
    page = subs.list_subscriptions(limit=1, cursor=page.next_cursor)
    assert [s.name for s in page.items] == ["orders.v1"]
    assert subs.get_subscription("orders.v1").name == "orders.v1"
    subs.delete_subscription("orders.v1")
    with pytest.raises(NotFound):
        subs.get_subscription("orders.v1")
    with pytest.raises(NotFound):
        subs.delete_subscription("orders.v1")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "filter": {"category": "a", "stream_id": "b"}}, "filter"),
        ({"name": "ok", "filter": {"colour": "red"}}, "filter"),
        ({"name": "ok", "filter": {"names": "Deposited"}}, "filter.names"),
        ({"name": "ok", "start": "middle"}, "start"),
        # Far past any head: imports (streams/transfer.py) may move the position sequence on.
        ({"name": "ok", "start": {"after": 2**62}}, "start.after"),
        ({"name": "ok", "max_attempts": 0}, "max_attempts"),
        ({"name": "ok", "push": {"kind": "webhook", "url": "ftp://x"}}, "push.url"),
        ({"name": "ok", "push": {"kind": "webhook", "url": "http://["}}, "push.url"),
        ({"name": "ok", "push": {"kind": "grpc", "target": "no-port"}}, "push.target"),
        ({"name": "ok", "push": {"kind": "smtp"}}, "push.kind"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(db_backend, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        subs.create_subscription(**kwargs)
    assert caught.value.field == field
    assert not Subscription.objects.using(db_backend).exists()


def test_delivers_in_order_again_until_acknowledged(db_backend):
    first = append("a", "A1", "A2")
    second = append("b", "B1")
    subs.create_subscription("c")
    batch = subs.next_batch("c", max=2)
    assert positions(batch) == first
    assert positions(subs.next_batch("c", max=10)) == first + second  # not acked: again
    info = subs.ack("c", first[1])
    assert (info.checkpoint, info.lag) == (first[1], 1)
    assert positions(subs.next_batch("c")) == second
    assert subs.ack("c", first[0]).checkpoint == first[1]  # never backwards
    with pytest.raises(ValidationError):
        subs.ack("c", second[0] + 1000)
    subs.ack("c", second[0])
    assert subs.next_batch("c").events == []
    assert subs.get_subscription("c").lag == 0


def test_filters_and_starts(db_backend):
    append("w-1", "Deposited", "Withdrawn", category="wallet")
    append("o-1", "Placed", category="order")
    append("w-2", "Deposited", category="wallet")
    subs.create_subscription("wallets", filter={"category": "wallet"})
    subs.create_subscription("w1", filter={"stream_id": "w-1"})
    subs.create_subscription("deposits", filter={"names": ["Deposited"]})
    subs.create_subscription("new", start="end")
    names = lambda s: [(e.stream_id, e.name) for e in subs.next_batch(s).events]  # noqa: E731
    assert names("wallets") == [("w-1", "Deposited"), ("w-1", "Withdrawn"), ("w-2", "Deposited")]
    assert names("w1") == [("w-1", "Deposited"), ("w-1", "Withdrawn")]
    assert names("deposits") == [("w-1", "Deposited"), ("w-2", "Deposited")]
    assert names("new") == []
    later = append("o-1", "Shipped")
    assert names("new") == [("o-1", "Shipped")]
    subs.create_subscription("after", start={"after": later[0] - 1})
    assert positions(subs.next_batch("after")) == later
    assert subs.get_subscription("wallets").lag == 3


def test_empty_scans_move_the_checkpoint_past_other_events(db_backend):
    others = append("o-1", "Placed", "Paid", category="order")
    subs.create_subscription("wallets", filter={"category": "wallet"})
    batch = subs.next_batch("wallets")
    assert batch.events == [] and batch.checkpoint == others[-1]
    mine = append("w-1", "Deposited", category="wallet")
    assert positions(subs.next_batch("wallets")) == mine


def test_nack_retries_then_parks_and_the_checkpoint_never_passes_it_before(db_backend):
    events = append("s", "E1", "E2", "E3")
    subs.create_subscription("p", max_attempts=3)
    subs.ack("p", events[0])
    for attempt in (1, 2):
        result = subs.nack("p", events[1], f"boom {attempt}")
        assert (result.attempts, result.parked, result.checkpoint) == (attempt, False, events[0])
        assert positions(subs.next_batch("p"))[0] == events[1]
    info = subs.get_subscription("p")
    assert (info.retry_position, info.retry_attempts, info.last_error) == (events[1], 2, "boom 2")
    result = subs.nack("p", events[1], "boom 3")
    assert (result.attempts, result.parked, result.checkpoint) == (3, True, events[1])
    assert positions(subs.next_batch("p")) == [events[2]]
    parked = subs.list_parked("p").items
    assert [(p.position, p.name, p.error, p.attempts) for p in parked] == [
        (events[1], "E2", "boom 3", 3)
    ]
    assert subs.get_subscription("p").parked == 1


def test_nack_counts_earlier_events_as_acknowledged(db_backend):
    events = append("s", "E1", "E2", "E3")
    subs.create_subscription("p")
    assert subs.nack("p", events[2], "late").checkpoint == events[1]
    with pytest.raises(ValidationError):
        subs.nack("p", events[0], "already done")
    with pytest.raises(ValidationError):
        subs.nack("p", events[2] + 1000, "nothing there")


def test_parked_retry_skip_replay(db_backend):
    events = append("s", "E1", "E2", "E3", "E4")
    subs.create_subscription("p", max_attempts=1)
    assert subs.nack("p", events[0], "bad").parked
    assert subs.nack("p", events[2], "bad").parked
    subs.ack("p", events[3])
    assert subs.next_batch("p").events == []
    # retry: delivered first in the next batch, a failure parks it again, an ack settles it
    retried = subs.retry_parked("p", events[0])
    assert (retried.status, retried.attempts) == ("retry", 0)
    assert subs.get_subscription("p").lag == 1
    assert positions(subs.next_batch("p")) == [events[0]]
    assert subs.nack("p", events[0], "still bad").parked
    subs.retry_parked("p", events[0])
    assert positions(subs.next_batch("p")) == [events[0]]
    assert subs.list_parked("p").items[0].status == "sent"
    subs.ack("p", events[0])
    assert [p.position for p in subs.list_parked("p").items] == [events[2]]
    # skip: gone for good
    subs.skip_parked("p", events[2])
    assert subs.list_parked("p").items == []
    with pytest.raises(NotFound):
        subs.retry_parked("p", events[2])
    # replay: the checkpoint goes back just before it
    subs.reset_subscription("p", {"after": events[1]})
    assert subs.nack("p", events[2], "again").parked
    info = subs.replay_parked("p", events[2])
    assert info.checkpoint == events[2] - 1 and info.parked == 0
    assert positions(subs.next_batch("p")) == events[2:]


def test_reset(db_backend):
    events = append("s", "E1", "E2")
    subs.create_subscription("r")
    subs.ack("r", events[1])
    assert subs.reset_subscription("r", "beginning").checkpoint == 0
    assert positions(subs.next_batch("r")) == events
    assert subs.reset_subscription("r", "end").checkpoint >= events[1]
    assert subs.next_batch("r").events == []
    assert subs.reset_subscription("r", {"after": events[0]}).checkpoint == events[0]
    with pytest.raises(ValidationError):
        subs.reset_subscription("r", "yesterday")


def test_status_tells_stalled_from_no_new_events(db_backend, settings):
    settings.FLIPBOOK_SUBSCRIPTIONS = {"STALL_SECONDS": 60}
    subs.create_subscription("s")
    assert subs.get_subscription("s").status == "idle"
    subs.next_batch("s")
    assert subs.get_subscription("s").status == "live"
    append("x", "E1")
    assert subs.get_subscription("s").status == "behind"
    long_ago = timezone.now() - timedelta(minutes=5)
    Subscription.objects.using(db_backend).filter(name="s").update(
        last_heartbeat=long_ago, created_at=long_ago
    )
    info = subs.get_subscription("s")
    assert (info.status, info.lag) == ("stalled", 1)


def test_lag_is_capped_and_says_so(db_backend, settings):
    settings.FLIPBOOK_SUBSCRIPTIONS = {"LAG_CAP": 3}
    events = append("s", *[f"E{i}" for i in range(5)])
    subs.create_subscription("s")
    info = subs.get_subscription("s")
    # capped: the head is where the count stopped (a lower bound)
    assert (info.lag, info.lag_capped, info.head_position) == (3, True, events[2])
    subs.ack("s", events[2])
    info = subs.get_subscription("s")
    assert (info.lag, info.lag_capped, info.head_position) == (2, False, events[-1])


def test_feed_head(db_backend):
    start = subs.feed_head()  # PostgreSQL's sequence is not reset between tests
    last = 0
    for i in range(30):
        last = append(f"s{i}", "E")[-1]
    assert last > start
    assert subs.feed_head() == last
    assert subs.feed_head(after=last) == last


def test_heartbeat_writes_are_throttled(db_backend):
    subs.create_subscription("h")
    subs.next_batch("h")
    assert Subscription.objects.using(db_backend).get(name="h").last_heartbeat is not None
    with CaptureQueriesContext(connections[db_backend]) as queries:
        for _ in range(5):
            subs.next_batch("h")
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert updates == []


def test_long_poll_wakes_on_a_commit(db_backend):
    subs.create_subscription("w")
    written: list[int] = []
    errors: list[BaseException] = []

    def write_later() -> None:
        try:
            # Once the long-poll waits on the notifier: the commit is what wakes it.
            wait_until(lambda: notifier.waiting >= 1, timeout=20, message="the poll never waited")
            written.extend(append("late", "E"))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    writer = threading.Thread(target=write_later)
    writer.start()
    batch = subs.next_batch("w", wait=20)
    writer.join()
    assert not errors, errors
    assert written and positions(batch) == written


def test_long_poll_returns_empty_after_wait(db_backend):
    subs.create_subscription("w")
    assert subs.next_batch("w", wait=0.2).events == []
    with pytest.raises(ValidationError):
        subs.next_batch("w", wait=31)


def test_racing_acks_keep_the_highest(db_backend):
    events = append("s", *[f"E{i}" for i in range(40)])
    subs.create_subscription("race")
    errors: list[BaseException] = []

    def acker(chunk: list[int]) -> None:
        try:
            for position in chunk:
                subs.acknowledge("race", position)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=acker, args=(events[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert subs.get_subscription("race").checkpoint == events[-1]


def test_racing_nacks_count_every_attempt(db_backend):
    events = append("s", "E1", "E2")
    subs.create_subscription("race", max_attempts=100)
    errors: list[BaseException] = []

    def nacker() -> None:
        try:
            for _ in range(5):
                subs.nack("race", events[1], "x")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=nacker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    info = subs.get_subscription("race")
    assert (info.retry_position, info.retry_attempts, info.checkpoint) == (events[1], 20, events[0])


def test_admin_lists_lag_status_and_parked(db, admin_client):
    events = append("s", "E1", "E2")
    subs.create_subscription("shown", max_attempts=1)
    subs.nack("shown", events[0], "broken")
    page = admin_client.get("/admin/subscriptions/subscription/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "shown" in html and "behind" in html
    detail_id = Subscription.objects.get(name="shown").pk
    detail = admin_client.get(f"/admin/subscriptions/subscription/{detail_id}/change/")
    assert detail.status_code == 200 and "broken" in detail.content.decode()
    assert admin_client.get("/admin/subscriptions/parkedevent/").status_code == 200


def test_a_waiting_long_poll_holds_no_database_connection(db_backend):
    subs.create_subscription("idle", start="end")
    seen: dict = {}

    def poll() -> None:
        seen["wrapper"] = connections[db_backend]
        seen["batch"] = subs.next_batch("idle", wait=1.5)
        connections.close_all()

    poller = threading.Thread(target=poll)
    poller.start()
    # The poll has read the subscription (its heartbeat is written in the same first poll)...
    wait_until(
        lambda: Subscription.objects.using(db_backend).get(name="idle").last_heartbeat,
        timeout=5,
        message="the poll did not start",
    )
    # ...and now waits on the notifier, its connection given back before waiting.
    wait_until(
        lambda: notifier.waiting >= 1 and seen["wrapper"].connection is None,
        timeout=5,
        message="the poll never waited without a database connection",
    )
    assert poller.is_alive()
    poller.join()
    assert seen["batch"].events == []


def test_a_retry_asked_for_while_a_batch_is_out_is_not_settled_by_its_ack(db_backend):
    events = append("s", "E1", "E2", "E3")
    subs.create_subscription("race", max_attempts=1)
    subs.nack("race", events[0], "bad")
    assert positions(subs.next_batch("race")) == events[1:]  # the consumer holds this batch
    subs.retry_parked("race", events[0])  # the operator asks for a retry meanwhile
    subs.ack("race", events[2])  # the batch's cumulative ack
    assert [(p.position, p.status) for p in subs.list_parked("race").items] == [
        (events[0], "retry")
    ]
    assert positions(subs.next_batch("race")) == [events[0]]  # delivered, not lost
    subs.ack("race", events[2])
    assert subs.list_parked("race").items == []


def test_a_paused_subscription_is_neither_pulled_nor_pushed_nor_streamed(db_backend):
    first, second = append("paused-s", "A", "B")
    subs.create_subscription("paused.pull")
    subs.create_subscription("paused.push", push={"kind": "grpc", "target": "127.0.0.1:9"})
    for name in ("paused.pull", "paused.push"):
        assert subs.pause_subscription(name).status == "paused"
    assert subs.poll_batch("paused.pull").events == []
    assert subs.claim_push_subscriptions("worker-1") == []
    # A stream keeps its cursor while paused, so nothing it sent is sent twice.
    quiet = subs.deliver_after("paused.pull", first)
    assert (quiet.events, quiet.start, quiet.checkpoint) == ([], first, 0)
    info = subs.get_subscription("paused.pull")
    assert (info.paused, info.lag, info.checkpoint) == (True, 2, 0)
    subs.resume_subscription("paused.pull")
    subs.resume_subscription("paused.push")
    assert positions(subs.poll_batch("paused.pull")) == [first, second]
    assert [t.name for t in subs.claim_push_subscriptions("worker-1")] == ["paused.push"]
    subs.release_push_leases("worker-1")
    with pytest.raises(NotFound):
        subs.pause_subscription("no.such")


def test_retry_and_skip_every_parked_event_up_to_a_position(db_backend):
    events = append("bulk-s", "A", "B", "C")
    subs.create_subscription("bulk", max_attempts=1)
    for position in events:
        subs.nack("bulk", position, "broke")
    assert subs.retry_parked_through("bulk", events[1]) == 2
    assert [p.status for p in subs.list_parked("bulk").items] == ["retry", "retry", "parked"]
    assert subs.retry_parked_through("bulk", events[1]) == 0  # asked for already
    assert [e.position for e in subs.poll_batch("bulk").events][:2] == events[:2]
    assert subs.skip_parked_through("bulk", events[1]) == 2
    assert [p.position for p in subs.list_parked("bulk").items] == [events[2]]
    stuck = subs.stuck_behind(events[2])
    assert [(s.name, s.how, s.attempts) for s in stuck] == [("bulk", "parked", 1)]
