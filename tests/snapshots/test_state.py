"""The state of a stream as of a version, a natural time and a time known (bitemporal), on the
demo wallet and on streams made here; that folds start from the newest usable snapshot (by
counting the events read); reducer errors; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from snapshots import services as snapshots
from snapshots.demo_reducers import WALLET_RULES
from snapshots.models import Category
from snapshots.state import state_at_time, state_at_version
from streams import services
from streams.exceptions import NotFound, ReducerError, ValidationError
from tests.contracts.snapshot_store import StoresInDatabase
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(databases="__all__")

ALICE = "cfd7cdf3-9f96-4932-9587-9566c16403ab"
DEMO_START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def append(stream_id: str, *names_payloads, category: str | None = None, **fields):
    return services.append_to_stream(
        stream_id,
        [{"name": name, "payload": payload, **fields} for name, payload in names_payloads],
        category=category,
    )


def counter_events(stream_id: str, count: int, category: str = "counter") -> None:
    for start in range(0, count, 500):
        services.append_to_stream(
            stream_id,
            [
                {"name": "Added", "payload": {"n": i}, "timestamp": T0 + timedelta(minutes=i)}
                for i in range(start + 1, min(count, start + 500) + 1)
            ],
            category=category,
        )


def boom_on_3(state, event):
    if event.version == 3:
        raise ValueError("three is right out")
    return {"n": (state or {}).get("n", 0) + 1}


def returns_a_set_from_3(state, event):
    state = state or {}
    if event.version >= 3:
        return {"bad": {event.version}}
    return {"n": event.version}


def returns_nan(state, event):
    return {"x": float("nan")}


class TestDemoWallet(StoresInDatabase):
    @pytest.fixture(autouse=True)
    def demo(self, stores_in_db):
        call_command("flipbook_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    def test_balance_70_at_version_3_with_the_declarative_reducer(self):
        state = state_at_version(ALICE, 3)
        assert state.payload == {"owner": "alice", "currency": "EUR", "balance": 70}
        assert state.version == 3 and state.reducer == "declarative"
        assert state.category == "wallet"
        assert state.revision == Category.objects.get(name="wallet").revision

    def test_balance_70_at_version_3_with_the_python_reducer(self):
        Category.objects.filter(name="wallet").update(
            reducer="python", python_path="snapshots.demo_reducers.wallet"
        )
        state = state_at_version(ALICE, 3)
        assert state.payload == {"owner": "alice", "currency": "EUR", "balance": 70}
        assert state.revision == "python:snapshots.demo_reducers.wallet:1"
        assert state_at_version(ALICE).payload["balance"] == 95

    def test_every_version_of_the_wallet(self):
        balances = [state_at_version(ALICE, v).payload["balance"] for v in range(1, 8)]
        assert balances == [0, 100, 70, 110, 125, 105, 95]
        latest = state_at_version(ALICE)
        assert latest.version == 7 and latest.payload["balance"] == 95
        assert state_at_version(ALICE, 0).version == 7  # version 0 is the head

    def test_state_at_natural_times(self):
        def balance(at):
            state = state_at_time(ALICE, at)
            return state.version, state.payload.get("balance")

        assert balance(DEMO_START - timedelta(seconds=1)) == (0, None)
        assert balance(DEMO_START) == (1, 0)
        assert balance(DEMO_START + 2 * DAY) == (3, 70)
        assert balance((DEMO_START + 2 * DAY + timedelta(hours=1)).isoformat()) == (3, 70)
        assert balance(DEMO_START + 4 * DAY) == (4, 110)
        # The scheduled payment (natural time 2031) is not part of the state before then.
        assert balance(datetime(2030, 12, 31, tzinfo=UTC)) == (6, 105)
        assert balance(datetime(2031, 1, 1, tzinfo=UTC)) == (7, 95)

    def test_state_known_before_the_demo_was_loaded_is_empty(self):
        state = state_at_time(ALICE, datetime(2031, 6, 1, tzinfo=UTC), known_at=T0)
        assert (state.version, state.payload, state.events_applied) == (0, {}, 0)

    def test_other_demo_streams(self):
        document = state_at_version("/unique/path/to/file")
        assert document.payload == {
            "title": "Q1 report",
            "body": "Numbers for Q1, audited",  # the late correction
            "tags": ["finance", "2024"],
        }
        assert document.reducer == "merge"
        log = state_at_version("ops/audit-log")
        assert log.version is None and log.events_applied == 3
        assert state_at_version("some.nickname").payload["balance"] == 250 - 40 + 20


class TestState(StoresInDatabase):
    @pytest.fixture(autouse=True)
    def stores(self, stores_in_db):
        return stores_in_db

    def test_a_snapshot_shortens_the_fold_to_the_events_after_it(self):
        counter_events("c-1", 60)
        Category.objects.create(
            name="counter",
            reducer="declarative",
            rules={"Added": [{"op": "increment", "path": "sum", "from": "n"}]},
        )
        full = state_at_version("c-1")
        assert (full.payload, full.events_read, full.snapshot) == ({"sum": 1830}, 60, None)
        taken = snapshots.take_snapshot("c-1", 50, label="test")
        assert (taken.version, taken.payload, taken.label) == (50, {"sum": 1275}, "test")
        state = state_at_version("c-1")
        assert state.payload == {"sum": 1830} and state.version == 60
        assert state.snapshot.version == 50 and state.events_read == 10
        assert state_at_version("c-1", 50).events_read == 0
        assert state_at_version("c-1", 55).events_read == 5
        assert state_at_version("c-1", 49).events_read == 49  # no snapshot at or below 49
        assert state_at_version("c-1", use_snapshots=False).events_read == 60

    def test_snapshots_of_another_revision_are_ignored(self):
        counter_events("c-2", 20)
        rules = {"Added": [{"op": "increment", "path": "sum", "from": "n"}]}
        row = Category.objects.create(name="counter", reducer="declarative", rules=rules)
        snapshots.take_snapshot("c-2", 15)
        assert state_at_version("c-2").events_read == 5
        row.rules = {"Added": [{"op": "increment", "path": "total", "from": "n"}]}
        row.save()
        state = state_at_version("c-2")
        assert state.payload == {"total": 210} and state.events_read == 20
        assert state.snapshot is None

    def test_a_client_snapshot_serves_only_its_own_revision(self):
        counter_events("c-3", 10)
        snapshots.set_snapshot("c-3", 8, {"made": "by a client"})
        assert state_at_version("c-3").events_read == 10
        # A client that states the reducer's revision is trusted (the drift check would see
        # this one is wrong).
        snapshots.set_snapshot("c-3", 8, {"n": 8}, revision="merge:1")
        state = state_at_version("c-3")
        assert state.events_read == 2 and state.snapshot.version == 8
        assert state.payload == {"n": 10}
        # Client snapshots carry no store time: they never serve time queries.
        assert state_at_time("c-3", T0 + timedelta(days=1)).snapshot is None

    def test_state_at_time_uses_a_snapshot_holding_only_earlier_events(self):
        counter_events("c-4", 30)  # natural times T0 + 1..30 minutes
        snapshots.take_snapshot("c-4", 10)
        snapshots.take_snapshot("c-4", 20)
        at = T0 + timedelta(minutes=25)
        state = state_at_time("c-4", at)
        assert state.payload["n"] == 25 and state.version == 25
        assert state.snapshot.version == 20 and state.events_read == 10
        state = state_at_time("c-4", T0 + timedelta(minutes=15))
        assert state.snapshot.version == 10 and state.payload["n"] == 15
        state = state_at_time("c-4", T0 + timedelta(minutes=5))
        assert state.snapshot is None and state.version == 5 and state.events_read == 30
        assert state_at_time("c-4", at, use_snapshots=False).payload == {"n": 25}

    def test_state_at_time_folds_in_version_order_skipping_later_natural_times(self):
        Category.objects.create(name="listed", reducer="list")
        # Versions 1..3 at natural times 10:00, 12:00 and 11:00.
        services.append_to_stream(
            "t-2",
            [
                {"name": "A", "payload": 1, "timestamp": "2024-01-01T10:00:00Z"},
                {"name": "B", "payload": 2, "timestamp": "2024-01-01T12:00:00Z"},
                {"name": "C", "payload": 3, "timestamp": "2024-01-01T11:00:00Z"},
            ],
            category="listed",
        )

        def at(when):
            state = state_at_time("t-2", when)
            return state.payload, state.version

        assert at("2024-01-01T09:00:00Z") == ([], 0)
        assert at("2024-01-01T10:30:00Z") == ([1], 1)
        assert at("2024-01-01T11:30:00Z") == ([1, 3], 3)
        assert at("2024-01-01T12:30:00Z") == ([1, 2, 3], 3)

    def test_time_neutral_events_count_from_when_they_were_recorded(self):
        first = append("n-1", ("A", {"a": 1}))  # time-neutral
        recorded = first.events[0].recorded_at
        append("n-1", ("B", {"b": 2}), timestamp="2000-01-01T00:00:00Z")
        before = state_at_time("n-1", recorded - timedelta(seconds=1))
        assert before.payload == {"b": 2} and before.version == 2 and before.events_applied == 1
        assert state_at_time("n-1", recorded).payload == {"a": 1, "b": 2}

    def test_known_at_leaves_out_what_was_recorded_later(self):
        first = services.append_to_stream(
            "k-1", [{"name": "A", "payload": {"a": 1}, "timestamp": "2024-01-02T00:00:00Z"}]
        )
        # B is recorded strictly after A: the store stamps commits with this process's clock.
        recorded_a = first.events[0].recorded_at
        wait_until(lambda: datetime.now(UTC) > recorded_a, timeout=1, interval=0.001)
        second = services.append_to_stream(
            "k-1", [{"name": "B", "payload": {"b": 2}, "timestamp": "2024-01-01T00:00:00Z"}]
        )
        r1, r2 = first.events[0].recorded_at, second.events[0].recorded_at
        late = "2024-06-01T00:00:00Z"
        assert state_at_time("k-1", late).payload == {"a": 1, "b": 2}
        as_known = state_at_time("k-1", late, known_at=r1)
        assert as_known.payload == {"a": 1} and as_known.version == 1
        assert as_known.known_at == r1
        assert state_at_time("k-1", late, known_at=r2).payload == {"a": 1, "b": 2}
        assert state_at_time("k-1", late, known_at=r1 - timedelta(seconds=1)).version == 0
        # Backdated: B happened first, but was only known after r2.
        assert state_at_time("k-1", "2024-01-01T12:00:00Z", known_at=r1).payload == {}
        snap = snapshots.take_snapshot("k-1")
        assert snap.recorded_at == r2 and snap.timestamp == datetime(2024, 1, 2, tzinfo=UTC)
        assert state_at_time("k-1", late, known_at=r1).snapshot is None
        assert state_at_time("k-1", late, known_at=r2).snapshot.version == 2

    def test_version_neutral_streams_fold_in_position_order(self):
        services.append_to_stream("log", [{"name": "A", "payload": [1]}], kind="neutral")
        services.append_to_stream("log", [{"name": "B", "payload": {"b": 1}}], kind="neutral")
        state = state_at_version("log")
        assert state.version is None and state.payload == {"b": 1} and state.events_read == 2
        with pytest.raises(ValidationError) as info:
            state_at_version("log", 1)
        assert info.value.field == "version"
        with pytest.raises(ValidationError):
            snapshots.take_snapshot("log")

    def test_missing_streams_and_versions(self):
        with pytest.raises(NotFound):
            state_at_version("nope")
        with pytest.raises(NotFound):
            state_at_time("nope", T0)
        append("v-1", ("A", {}), ("B", {}))
        with pytest.raises(NotFound) as info:
            state_at_version("v-1", 3)
        assert info.value.details["current_version"] == 2
        assert "version 2" in info.value.message

    @pytest.mark.parametrize("version", [-1, "2", True, 1.5, 2**63])
    def test_bad_versions_are_refused(self, version):
        append("v-2", ("A", {}))
        with pytest.raises(ValidationError) as info:
            state_at_version("v-2", version)
        assert info.value.field == "version"

    @pytest.mark.parametrize(
        ("at", "known_at", "field"),
        [(None, None, "at"), ("yesterday", None, "at"), (T0, "soon", "known_at"), (5, None, "at")],
    )
    def test_bad_times_are_refused(self, at, known_at, field):
        append("v-3", ("A", {}))
        with pytest.raises(ValidationError) as info:
            state_at_time("v-3", at, known_at)
        assert info.value.field == field

    def test_bad_stream_ids_are_refused(self):
        for bad in ("", "x" * 257, "a\x00b", None):
            with pytest.raises(ValidationError):
                state_at_version(bad)

    def test_an_unavailable_snapshot_store_only_makes_the_fold_longer(self, settings):
        counter_events("u-1", 5)
        settings.FLIPBOOK_SNAPSHOT_STORE = {
            "BACKEND": "snapshots.backends.redis.RedisSnapshotStore",
            "OPTIONS": {"url": "redis://127.0.0.1:1/0", "socket_timeout": 0.2},
        }
        state = state_at_version("u-1")
        assert state.payload["n"] == 5 and state.events_read == 5 and state.snapshot is None


class TestReducerErrors(StoresInDatabase):
    @pytest.fixture(autouse=True)
    def stores(self, stores_in_db):
        append("e-1", *[(f"E{i}", {"i": i}) for i in range(1, 6)], category="broken")

    def use(self, path: str) -> None:
        Category.objects.create(name="broken", reducer="python", python_path=path)

    def test_a_reducer_that_raises_names_the_stream_version_and_event(self):
        self.use("tests.snapshots.test_state.boom_on_3")
        for call in (lambda: state_at_version("e-1"), lambda: snapshots.take_snapshot("e-1")):
            with pytest.raises(ReducerError) as info:
                call()
            error = info.value
            assert error.code == "reducer_error"
            assert "'e-1'" in error.message and "version 3" in error.message
            assert "'E3'" in error.message and "three is right out" in error.message
            assert error.details["version"] == 3 and error.details["event_name"] == "E3"
        assert snapshots.list_snapshots("e-1") == []  # nothing was stored
        assert state_at_version("e-1", 2).payload == {"n": 2}

    def test_a_state_that_is_not_json_names_the_event_that_made_it(self):
        self.use("tests.snapshots.test_state.returns_a_set_from_3")
        with pytest.raises(ReducerError) as info:
            state_at_version("e-1")
        assert "version 3" in info.value.message and "'E3'" in info.value.message
        assert "not JSON" in info.value.message
        with pytest.raises(ReducerError):
            snapshots.take_snapshot("e-1")
        assert snapshots.list_snapshots("e-1") == []
        assert state_at_version("e-1", 2).payload == {"n": 2}

    def test_nan_is_not_json(self):
        self.use("tests.snapshots.test_state.returns_nan")
        with pytest.raises(ReducerError) as info:
            state_at_version("e-1", 2)
        assert "version 1" in info.value.message

    def test_declarative_rules_that_do_not_fit_the_events(self):
        Category.objects.create(name="broken", reducer="declarative", rules=WALLET_RULES)
        append("e-2", ("Deposited", {"sum": 1}), category="broken")
        with pytest.raises(ReducerError) as info:
            state_at_version("e-2")
        assert "has no 'amount'" in info.value.message and "'Deposited'" in info.value.message

    def test_a_missing_python_reducer_is_a_reducer_error(self):
        self.use("tests.snapshots.test_state.not_there")
        with pytest.raises(ReducerError) as info:
            state_at_version("e-1")
        assert "category 'broken'" in info.value.message
