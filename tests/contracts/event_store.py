"""The event store contract: behaviour every event store backend keeps, tested through the
store service (streams/services.py) only.

A backend's test module subclasses :class:`EventStoreContract` and overrides the
``event_store`` fixture with one that points the store service at that backend on empty
storage for each test (see tests/test_database_event_store.py). Each test covers one rule;
input variations of a rule run in a loop inside the test to keep per-test setup cheap."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import pytest
from django.db import connections

from streams import services
from streams.exceptions import (
    FlipbookError,
    IdConflict,
    NotFound,
    TooLarge,
    ValidationError,
    VersionConflict,
)
from streams.records import NewEvent, RecordedEvent, StreamAppend
from tests.contracts.lifecycle import LifecycleContract

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(name: str = "Happened", **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields}


def events(count: int, name: str = "Happened", **fields: Any) -> list[dict[str, Any]]:
    return [ev(name, payload={"n": i}, **fields) for i in range(count)]


def new_id() -> str:
    return str(uuid.uuid4())


def feed() -> list[RecordedEvent]:
    """Every event the store holds, in position order."""
    return list(services.iter_all(batch=500))


def versions(page_or_events) -> list[int | None]:
    items = getattr(page_or_events, "items", page_or_events)
    return [e.version for e in items]


def names(page_or_events) -> str:
    items = getattr(page_or_events, "items", page_or_events)
    return "".join(e.name for e in items)


def refused(error: type[FlipbookError], field: str | None, call, *args, **kwargs):
    """Call and expect ``error``; when ``field`` is given, the error must name it."""
    what = f"{getattr(call, '__name__', call)}(*{args!r}, **{kwargs!r})"
    try:
        call(*args, **kwargs)
    except error as exc:
        named = exc.details.get("field")
        assert field is None or named == field, f"{what}: {exc.message!r} names {named!r}"
        return exc
    pytest.fail(f"{what} was accepted; expected {error.__name__} naming {field!r}")


def assert_missing(stream_id: str) -> None:
    with pytest.raises(NotFound):
        services.stream_head(stream_id)
    assert services.read_stream(stream_id).items == []


def read_every_page(stream_id: str, **query) -> list[RecordedEvent]:
    """Follow next_cursor until it runs out; fail on an endless loop."""
    seen: list[RecordedEvent] = []
    cursor = None
    for _ in range(1000):
        page = services.read_stream(stream_id, cursor=cursor, **query)
        seen += page.items
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    pytest.fail("read_stream kept returning a next_cursor")


def list_every_page(**query) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        page = services.list_streams(cursor=cursor, **query)
        seen += [s.stream_id for s in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    pytest.fail("list_streams kept returning a next_cursor")


VALID_STREAM_IDS = [
    "cfd7cdf3-9f96-4932-9587-9566c16403ab",
    "some.nickname",
    "/unique/path/to/file",
    "ствол/日本/🙂",
    "  spaces inside and around  ",
    "quotes ' \" and ; -- and %_\\ too",
    "x" * 256,
    "🙂" * 256,
    "a",
]

INVALID_STREAM_IDS = [
    "",
    "x" * 257,
    "🙂" * 257,
    "nul\x00byte",
    "line\nbreak",
    "tab\there",
    "del\x7f",
    "c1\x85",
    "line\u2028separator",
    "lone\ud800surrogate",
    42,
    None,
    b"bytes",
]

PAYLOADS = [
    None,
    "a string",
    "",
    0,
    -17,
    2**70,
    3.25,
    True,
    False,
    [],
    [1, "two", None, [3.5], {"four": 4}],
    {},
    {"a": {"b": {"c": [1, {"d": None, "e": [True, False]}]}}, "z": "end"},
    {"ключ": "значение", "日本": ["🙂", "é", "\u200b"]},
    {"quote": "\"'\\", "newline": "a\nb", "tab": "\t", "not-nul": "\\u0000"},
]

NOT_JSON = [
    float("nan"),
    float("inf"),
    {"x": [float("-inf")]},
    {1, 2},
    b"bytes",
    object(),
    {("a", "b"): 1},
    datetime(2024, 1, 1),
    "nul \x00 char",
    {"k\x00": 1},
    ["\\", "\x00"],
    "lone \ud800 surrogate",
]


class EventStoreContract(LifecycleContract):
    """Behaviour tests of the store service; subclasses provide the ``event_store`` fixture.

    Capabilities a backend test class may declare:

    * ``max_events_per_commit``: the most events one commit can hold on this backend, below
      the configured MAX_EVENTS_PER_COMMIT (DynamoDB: one transaction of at most 100
      items). Tests that need many events then append them in commits of that size; a larger
      commit must be refused as a validation error, which the backend's own tests check.
    * ``concurrent_feed_writers``: run the all-feed guarantee under that many racing writer
      threads (a reader that has seen position p never later sees a new event at or below
      p, and sees every event once). 0 skips it (SQLite's single writer cannot race)."""

    max_events_per_commit: int | None = None
    concurrent_feed_writers: int = 0

    def append_many(self, stream_id: str, sent: list) -> list[RecordedEvent]:
        """Append ``sent`` in as few commits as the backend can hold; return what was stored."""
        size = self.max_events_per_commit or len(sent)
        stored: list[RecordedEvent] = []
        for start in range(0, len(sent), size):
            stored += services.append_to_stream(stream_id, sent[start : start + size]).events
        return stored

    @pytest.fixture
    def event_store(self):
        """Point the store service at the backend under test, on empty storage."""
        raise NotImplementedError("a backend test class must override the event_store fixture")

    @pytest.fixture(autouse=True)
    def _backend(self, event_store):
        return event_store

    # -- append: expected version -----------------------------------------------------------

    def test_expected_version_zero_creates_the_stream_and_n_continues_it(self):
        result = services.append_to_stream(
            "acct-1", [ev("Opened"), ev("Deposited", payload={"amount": 5})], expected_version=0
        )
        assert result.stream_id == "acct-1"
        assert result.version == 2
        assert result.duplicate is False
        assert versions(result.events) == [1, 2]
        assert names(result.events) == "OpenedDeposited"
        assert all(isinstance(e.id, uuid.UUID) for e in result.events)
        assert result.events[0].position < result.events[1].position
        assert all(e.recorded_at.tzinfo is not None for e in result.events)
        assert services.read_stream("acct-1").items == list(result.events)
        assert services.stream_head("acct-1").version == 2
        more = services.append_to_stream("acct-1", events(3), expected_version=2)
        assert more.version == 5
        assert versions(more.events) == [3, 4, 5]
        assert versions(services.read_stream("acct-1")) == [1, 2, 3, 4, 5]

    def test_expected_version_other_than_the_head_conflicts_and_stores_nothing(self):
        services.append_to_stream("s", events(3), expected_version=0)
        before = feed()
        for expected in (0, 1, 2, 4, 100):
            error = refused(
                VersionConflict,
                None,
                services.append_to_stream,
                "s",
                events(2),
                expected_version=expected,
            )
            assert error.code == "version_conflict"
            assert error.current_version == 3
            assert error.details == {
                "stream_id": "s",
                "expected_version": expected,
                "current_version": 3,
            }
            assert "3" in error.message
        assert feed() == before
        assert services.stream_head("s").event_count == 3

    def test_expected_version_on_a_missing_stream_conflicts_at_version_zero(self):
        for expected in (1, 4, "exists"):
            error = refused(
                VersionConflict,
                None,
                services.append_to_stream,
                "new",
                [ev()],
                expected_version=expected,
            )
            assert error.current_version == 0
            assert error.details["current_version"] == 0
            assert error.details["expected_version"] == expected
        assert_missing("new")

    def test_expected_version_any_and_exists(self):
        assert services.append_to_stream("s", events(2), expected_version="any").version == 2
        assert services.append_to_stream("s", events(1)).version == 3  # "any" is the default
        result = services.append_to_stream("s", events(2), expected_version="exists")
        assert versions(result.events) == [4, 5]
        assert versions(services.read_stream("s")) == [1, 2, 3, 4, 5]

    def test_invalid_expected_version_is_refused(self):
        for expected in (-1, "latest", "", "1.5", 1.5, True, [1], {"v": 1}, 2**70):
            refused(
                ValidationError,
                "expected_version",
                services.append_to_stream,
                "s",
                [ev()],
                expected_version=expected,
            )
        assert_missing("s")

    # -- append: explicit event versions ----------------------------------------------------

    def test_explicit_versions_start_and_continue_a_stream(self):
        result = services.append_to_stream("s", [ev(version=1), ev(version=2)])
        assert result.version == 2
        result = services.append_to_stream(
            "s", [NewEvent("A", version=3), NewEvent("B", version=4)]
        )
        assert versions(result.events) == [3, 4]
        assert services.append_to_stream("s", [ev("C", version=5)], expected_version=4).version == 5
        assert names(services.read_stream("s", from_version=3)) == "ABC"
        assert versions(services.read_stream("s")) == [1, 2, 3, 4, 5]

    def test_explicit_versions_that_do_not_continue_the_stream_conflict(self):
        error = refused(VersionConflict, None, services.append_to_stream, "s", [ev(version=2)])
        assert error.current_version == 0
        assert_missing("s")
        services.append_to_stream("s", events(3))
        for first in (1, 2, 3, 5, 6):
            error = refused(
                VersionConflict,
                None,
                services.append_to_stream,
                "s",
                [ev(version=first), ev(version=first + 1)],
            )
            assert error.current_version == 3
            assert error.details["current_version"] == 3
        assert services.stream_head("s").event_count == 3

    def test_explicit_versions_with_a_gap_or_a_bad_value_are_refused(self):
        for given, field in [
            ([1, 3], "events[1].version"),
            ([1, 2, 2], "events[2].version"),
            ([2, 1], "events[1].version"),
            ([1, 2, 4, 5], "events[2].version"),
            ([0], "events[0].version"),
            ([-1], "events[0].version"),
            (["1"], "events[0].version"),
            ([1.0], "events[0].version"),
            ([True], "events[0].version"),
            ([1, "2"], "events[1].version"),
        ]:
            refused(
                ValidationError,
                field,
                services.append_to_stream,
                "s",
                [ev(version=v) for v in given],
            )
        assert_missing("s")
        assert feed() == []

    def test_explicit_versions_disagreeing_with_expected_version_are_refused(self):
        services.append_to_stream("s", events(2))
        for expected in (1, 3, "exists"):
            refused(
                ValidationError,
                "expected_version",
                services.append_to_stream,
                "s",
                [ev(version=3)],
                expected_version=expected,
            )
        assert services.stream_head("s").version == 2

    def test_mixed_explicit_and_implicit_versions_are_refused(self):
        refused(ValidationError, "events", services.append_to_stream, "s", [ev(version=1), ev()])
        refused(ValidationError, "events", services.append_to_stream, "s", [ev(), ev(version=2)])
        refused(
            ValidationError,
            "streams[1].events",
            services.commit,
            [
                {"stream_id": "a", "events": [ev()]},
                {"stream_id": "b", "events": [ev(), ev(version=2)]},
            ],
        )
        assert feed() == []

    # -- version-neutral streams -------------------------------------------------------------

    def test_version_neutral_stream_has_no_versions_and_reads_by_position(self):
        first = services.append_to_stream("log", events(2, "Logged"), kind="neutral")
        services.append_to_stream("other", events(3))  # interleave positions
        second = services.append_to_stream("log", events(2, "Logged"), expected_version="exists")
        assert first.version is None and second.version is None
        stored = services.read_stream("log").items
        assert versions(stored) == [None] * 4
        assert [e.id for e in stored] == [e.id for e in (*first.events, *second.events)]
        positions = [e.position for e in stored]
        assert positions == sorted(positions) and len(set(positions)) == 4
        backwards = services.read_stream("log", direction="backwards").items
        assert [e.id for e in backwards] == [e.id for e in reversed(stored)]
        head = services.stream_head("log")
        assert head.kind == "neutral"
        assert head.version is None
        assert head.event_count == 4
        assert head.last_position == positions[-1]
        assert services.latest_event("log").id == stored[-1].id

    def test_version_neutral_stream_pages_by_position(self):
        services.append_to_stream("log", events(3), kind="neutral")
        services.append_to_stream("other", events(2))
        services.append_to_stream("log", events(4), kind="neutral")
        everything = services.read_stream("log", limit=100).items
        assert len(everything) == 7
        for direction in ("forwards", "backwards"):
            expected = everything if direction == "forwards" else everything[::-1]
            for limit in (1, 3, 7):
                paged = read_every_page("log", limit=limit, direction=direction)
                assert [e.id for e in paged] == [e.id for e in expected]
            iterated = services.iter_stream("log", direction=direction, batch_size=2)
            assert [e.id for e in iterated] == [e.id for e in expected]

    def test_the_first_append_declares_the_kind(self):
        services.append_to_stream("plain", [ev()])
        assert services.stream_head("plain").kind == "versioned"
        services.append_to_stream("acct", [ev()], kind="versioned")
        assert services.stream_head("acct").kind == "versioned"
        services.append_to_stream("log", [ev()], kind="neutral")
        result = services.append_to_stream("log", events(2))  # no kind: stays neutral
        assert result.version is None
        assert versions(result.events) == [None, None]
        assert services.stream_head("log").kind == "neutral"
        assert services.append_to_stream("plain", [ev()], kind="versioned").version == 2

    def test_a_later_append_of_the_other_kind_is_refused(self):
        services.append_to_stream("log", [ev()], kind="neutral")
        services.append_to_stream("acct", [ev()])
        before = feed()
        refused(ValidationError, "kind", services.append_to_stream, "log", [ev()], kind="versioned")
        refused(ValidationError, "kind", services.append_to_stream, "acct", [ev()], kind="neutral")
        # Explicit versions make an append versioned.
        refused(ValidationError, None, services.append_to_stream, "log", [ev(version=2)])
        assert feed() == before
        assert services.stream_head("log").kind == "neutral"
        assert services.stream_head("acct").kind == "versioned"

    def test_version_neutral_stream_refuses_version_checks_and_versions(self):
        for expected in (0, 1, 3):
            refused(
                ValidationError,
                "expected_version",
                services.append_to_stream,
                "log",
                [ev()],
                kind="neutral",
                expected_version=expected,
            )
        refused(
            ValidationError,
            "events[0].version",
            services.append_to_stream,
            "log",
            [ev(version=1)],
            kind="neutral",
        )
        assert_missing("log")
        services.append_to_stream("log", events(3), kind="neutral")
        before = feed()
        for expected in (0, 1, 3):
            refused(
                ValidationError,
                "expected_version",
                services.append_to_stream,
                "log",
                [ev()],
                expected_version=expected,
            )
        assert feed() == before

    def test_version_neutral_stream_exists_check(self):
        refused(
            VersionConflict,
            None,
            services.append_to_stream,
            "log",
            [ev()],
            kind="neutral",
            expected_version="exists",
        )
        assert_missing("log")
        services.append_to_stream("log", [ev()], kind="neutral")
        services.append_to_stream("log", [ev()], kind="neutral", expected_version="exists")
        assert services.stream_head("log").event_count == 2

    def test_unknown_kind_is_refused(self):
        for kind in ("neutrals", "VERSIONED", "", 1):
            refused(ValidationError, "kind", services.append_to_stream, "s", [ev()], kind=kind)
        assert_missing("s")

    # -- timestamps --------------------------------------------------------------------------

    def test_timestamps_are_aware_utc_instants_or_none(self):
        plus_two = timezone(timedelta(hours=2))
        sent = [
            (ev("A"), None),  # time-neutral
            (ev("B", timestamp=None), None),
            (ev("C", timestamp=datetime(2024, 3, 1, 14, 0, tzinfo=plus_two)), T0),
            (ev("D", timestamp="2024-03-01T12:00:00.000001Z"), T0 + timedelta(microseconds=1)),
            (ev("E", timestamp="2024-03-01T07:00:00-05:00"), T0),
            (ev("F", timestamp=datetime(2024, 3, 1, 12, 0)), T0),  # naive: read as UTC
            (ev("G", timestamp=T0), T0),  # timestamps may repeat
            (
                ev("H", timestamp="2999-12-31T23:59:59.999999+00:00"),  # the future is fine
                datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            ),
            (
                ev("I", timestamp=datetime(999, 5, 1, 8, 30, tzinfo=UTC)),
                datetime(999, 5, 1, 8, 30, tzinfo=UTC),
            ),
            (ev("J", timestamp=datetime(1, 1, 1, tzinfo=UTC)), datetime(1, 1, 1, tzinfo=UTC)),
        ]
        result = services.append_to_stream("s", [e for e, _ in sent])
        expected = [t for _, t in sent]
        assert [e.timestamp for e in result.events] == expected
        stored = services.read_stream("s").items
        assert [e.timestamp for e in stored] == expected
        assert all(t.utcoffset() == timedelta(0) for t in expected if t is not None)
        assert all(e.timestamp.utcoffset() == timedelta(0) for e in stored if e.timestamp)
        # Old timestamps sort before new ones in time reads.
        assert names(services.read_stream("s", since=datetime(1, 1, 1, tzinfo=UTC))) == "JICEFGDH"

    def test_invalid_timestamp_is_refused(self):
        for timestamp in ("yesterday", "2024-13-01T00:00:00Z", "", 1700000000, 1.5, ["2024"]):
            refused(
                ValidationError,
                "events[1].timestamp",
                services.append_to_stream,
                "s",
                [ev(), ev(timestamp=timestamp)],
            )
        assert_missing("s")

    # -- idempotent re-sends -----------------------------------------------------------------

    def test_resend_with_the_same_ids_returns_the_original_flagged_duplicate(self):
        sent = [
            ev("Opened", id=new_id(), payload={"owner": "ann"}, timestamp=at(0)),
            ev("Deposited", id=new_id(), payload={"amount": 1.5}, metadata={"actor": "ann"}),
        ]
        original = services.append_to_stream("s", sent, expected_version=0)
        assert original.duplicate is False
        again = services.append_to_stream("s", sent, expected_version=0)
        assert again.duplicate is True
        assert again.version == original.version == 2
        assert [e.position for e in again.events] == [e.position for e in original.events]
        assert [e.id for e in again.events] == [uuid.UUID(e["id"]) for e in sent]
        assert versions(again.events) == [1, 2]
        assert [e.payload for e in again.events] == [{"owner": "ann"}, {"amount": 1.5}]
        assert len(feed()) == 2
        # Still a duplicate after the stream moved on, whatever the expected version.
        services.append_to_stream("s", events(3))
        for expected in (0, "any", "exists", 2, 7):
            later = services.append_to_stream("s", sent, expected_version=expected)
            assert later.duplicate is True
            assert [e.position for e in later.events] == [e.position for e in original.events]
        assert services.stream_head("s").event_count == 5
        assert len(feed()) == 5

    def test_resend_of_a_multi_stream_commit_is_a_duplicate(self):
        appends = [
            {"stream_id": "a", "expected_version": 0, "events": [ev(id=new_id()), ev(id=new_id())]},
            {"stream_id": "b", "expected_version": 0, "events": [ev(id=new_id())]},
            {"stream_id": "log", "kind": "neutral", "events": [ev(id=new_id())]},
        ]
        original = services.commit(appends)
        assert original.duplicate is False
        again = services.commit(appends)
        assert again.duplicate is True
        assert all(s.duplicate for s in again.streams)
        assert [s.stream_id for s in again.streams] == ["a", "b", "log"]
        assert [s.version for s in again.streams] == [2, 1, None]
        assert [e.position for e in again.events] == [e.position for e in original.events]
        assert len(feed()) == 4

    def test_resend_is_a_duplicate_whatever_the_json(self):
        payloads = [
            {"big": 1.5e300, "small": 1e-300, "e16": 1e16, "neg_zero": -0.0, "third": 1 / 3},
            {"text": "ствол/日本/🙂", "nested": [[[{}]]], "null": None, "int": 2**70},
            *PAYLOADS,
        ]
        for i, payload in enumerate(payloads):
            sent = [ev(id=new_id(), payload=payload, metadata={"m": payload}, timestamp=at(3))]
            original = services.append_to_stream(f"s{i}", sent)
            again = services.append_to_stream(f"s{i}", sent)
            assert again.duplicate is True, payload
            assert again.events[0].position == original.events[0].position
        assert len(feed()) == len(payloads)

    def test_same_id_with_other_content_is_an_id_conflict_and_stores_nothing(self):
        changes = [
            {"payload": {"amount": 2}},
            {"payload": None},
            {"name": "Withdrawn"},
            {"metadata": {"actor": "bob"}},
            {"timestamp": at(1)},
            {"timestamp": None},
            {"version": 2},
        ]
        event_id = new_id()
        original = ev("Deposited", id=event_id, payload={"amount": 1}, timestamp=at(0))
        services.append_to_stream("s", [original, ev()])
        services.append_to_stream("t", [ev()])
        before = feed()
        for change in changes:
            checks = [("s", "any"), ("t", "any")]
            if "version" not in change:  # an explicit version implies its expected version
                checks += [("s", 0), ("s", 2), ("s", "exists")]
            for stream_id, expected in checks:
                error = refused(
                    IdConflict,
                    None,
                    services.append_to_stream,
                    stream_id,
                    [{**original, **change}],
                    expected_version=expected,
                )
                assert error.code == "id_conflict"
                assert error.event_ids == [event_id]
                assert error.details["event_ids"] == [event_id]
        # The same content on another stream is another event, not a re-send.
        refused(IdConflict, None, services.append_to_stream, "t", [original])
        refused(IdConflict, None, services.append_to_stream, "new", [original])
        assert feed() == before
        assert_missing("new")

    def test_resend_mixing_stored_and_new_ids_is_an_id_conflict_and_stores_nothing(self):
        stored_id = new_id()
        services.append_to_stream("s", [ev(id=stored_id)])
        fresh_id = new_id()
        for expected in ("any", 1, 0):
            error = refused(
                IdConflict,
                None,
                services.append_to_stream,
                "s",
                [ev(id=stored_id), ev(id=fresh_id)],
                expected_version=expected,
            )
            assert fresh_id in error.event_ids
        assert [str(e.id) for e in feed()] == [stored_id]

    def test_client_ids_are_kept_and_generated_ids_are_unique(self):
        as_uuid = uuid.uuid4()
        as_text = new_id()
        stored = self.append_many("s", [ev(id=as_uuid), ev(id=as_text.upper()), *events(50)])
        ids = [e.id for e in services.read_stream("s").items]
        assert ids[:2] == [as_uuid, uuid.UUID(as_text)]
        assert len(set(ids)) == 52
        assert ids == [e.id for e in stored]

    def test_bad_or_repeated_event_ids_are_refused(self):
        for event_id in ("not-a-uuid", "", 12345, ["x"], uuid.uuid4().hex[:-1]):
            refused(
                ValidationError, "events[0].id", services.append_to_stream, "s", [ev(id=event_id)]
            )
        event_id = new_id()
        refused(
            ValidationError,
            "events[1].id",
            services.append_to_stream,
            "s",
            [ev(id=event_id), ev(id=event_id)],
        )
        refused(
            ValidationError,
            "streams[1].events[0].id",
            services.commit,
            [
                {"stream_id": "a", "events": [ev(id=event_id)]},
                {"stream_id": "b", "events": [ev(id=event_id)]},
            ],
        )
        assert feed() == []

    # -- atomic multi-stream commits ---------------------------------------------------------

    def test_commit_appends_to_several_streams_in_request_order(self):
        services.append_to_stream("b", events(2))
        result = services.commit(
            [
                StreamAppend("c", [NewEvent("C1"), NewEvent("C2")], expected_version=0),
                {"stream_id": "b", "expected_version": 2, "events": [ev("B3")]},
                {"stream_id": "a", "events": [ev("A1", version=1)], "category": "cat"},
                {"stream_id": "log", "events": events(2), "kind": "neutral"},
            ]
        )
        assert result.duplicate is False
        assert [s.stream_id for s in result.streams] == ["c", "b", "a", "log"]
        assert [s.version for s in result.streams] == [2, 3, 1, None]
        assert names(result.streams[0].events) == "C1C2"
        positions = [e.position for e in result.events]
        assert len(set(positions)) == 6
        assert result.last_position == max(positions)
        assert versions(services.read_stream("b")) == [1, 2, 3]
        assert services.stream_head("a").category == "cat"
        assert services.stream_head("log").kind == "neutral"
        by_id = {e.id: e for e in feed()}
        assert all(by_id[e.id] == e for e in result.events)

    def test_commit_round_trips_every_field_of_every_event(self):
        """Many events over two streams, one version-neutral: names with quotes and
        backslashes, every JSON payload, metadata, natural times only on some, chosen ids."""
        when = datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
        tricky = ['say "hi"', "back\\slash", "{braces,comma}", "NULL", "Überwiesen 🙂"]
        sent = [
            ev(
                tricky[i % len(tricky)],
                payload=payload,
                metadata={"i": i, "quote": '"', "ключ": ["\\", None]} if i % 2 else {},
                timestamp=when + timedelta(days=i) if i % 3 == 0 else None,
                id=str(uuid.UUID(int=i + 1, version=4)),
            )
            for i, payload in enumerate(PAYLOADS)
        ]
        half = len(sent) // 2
        result = services.commit(
            [
                {"stream_id": "v", "expected_version": 0, "events": sent[:half]},
                {"stream_id": "n", "kind": "neutral", "events": sent[half:]},
            ]
        )
        stored = services.read_stream("v").items + services.read_stream("n").items
        assert stored == list(result.events)
        for e, got in zip(sent, stored, strict=True):
            assert (got.name, got.payload, got.metadata, got.id) == (
                e["name"], e["payload"], e["metadata"], uuid.UUID(e["id"])
            )  # fmt: skip
            assert got.timestamp == e["timestamp"]
        assert versions(services.read_stream("v")) == list(range(1, half + 1))
        assert {e.version for e in stored[half:]} == {None}

    def test_commit_with_one_failing_stream_stores_nothing_on_any_stream(self):
        known_id = "00000000-0000-4000-8000-000000000001"
        services.append_to_stream("old", [ev(id=known_id, payload=1), ev()], category="acct")
        services.append_to_stream("log", events(2), kind="neutral")
        before = feed()
        failing = [
            {"stream_id": "old", "expected_version": 0, "events": [ev()]},
            {"stream_id": "old", "expected_version": 5, "events": [ev()]},
            {"stream_id": "old", "events": [ev(version=9)]},
            {"stream_id": "missing", "expected_version": "exists", "events": [ev()]},
            {"stream_id": "missing", "expected_version": 1, "events": [ev()]},
            {"stream_id": "old", "kind": "neutral", "events": [ev()]},
            {"stream_id": "log", "kind": "versioned", "events": [ev()]},
            {"stream_id": "log", "expected_version": 1, "events": [ev()]},
            {"stream_id": "old", "category": "other", "events": [ev()]},
            {"stream_id": "old", "events": [ev(id=known_id)]},
        ]
        good = [
            {"stream_id": "fresh", "expected_version": 0, "events": events(3)},
            {"stream_id": "zzz-fresh", "events": events(2)},
        ]
        for bad in failing:
            others = (
                good
                if bad["stream_id"] == "log"
                else [*good, {"stream_id": "log", "events": events(1)}]
            )
            for appends in ([*others, bad], [bad, *others], [others[0], bad, *others[1:]]):
                with pytest.raises((VersionConflict, ValidationError, IdConflict)):
                    services.commit(appends)
                assert feed() == before, bad
                assert_missing("fresh")
                assert_missing("zzz-fresh")
                assert services.stream_head("old").version == 2
                assert services.stream_head("log").event_count == 2
        assert_missing("missing")

    def test_commit_conflict_names_the_failing_stream(self):
        services.append_to_stream("b", events(4))
        error = refused(
            VersionConflict,
            None,
            services.commit,
            [
                {"stream_id": "a", "expected_version": 0, "events": [ev()]},
                {"stream_id": "b", "expected_version": 2, "events": [ev()]},
            ],
        )
        assert error.details["stream_id"] == "b"
        assert error.current_version == 4
        assert_missing("a")

    def test_malformed_commit_is_refused(self):
        for appends, field in [
            ([], "streams"),
            ("a", "streams"),
            ({"stream_id": "a", "events": [ev()]}, "streams"),
            ([{"events": [ev()]}], "streams[0].stream_id"),
            ([{"stream_id": "a", "events": [ev()], "colour": "red"}], "streams[0].colour"),
            ([{"stream_id": "a", "events": []}], "streams[0].events"),
            ([{"stream_id": "a", "events": ev()}], "streams[0].events"),
            ([{"stream_id": "a", "events": "Opened"}], "streams[0].events"),
            ([{"stream_id": "a", "events": [{"payload": 1}]}], "streams[0].events[0].name"),
            ([{"stream_id": "a", "events": [ev(colour=1)]}], "streams[0].events[0].colour"),
            ([{"stream_id": "a", "events": ["Opened"]}], "streams[0].events[0]"),
            ([42], "streams[0]"),
            (
                [{"stream_id": "a", "events": [ev()]}, {"stream_id": "a", "events": [ev()]}],
                "streams[1].stream_id",
            ),
        ]:
            refused(ValidationError, field, services.commit, appends)
        assert feed() == []

    # -- limits ------------------------------------------------------------------------------

    def test_too_many_events_or_streams_are_refused(self, settings):
        settings.FLIPBOOK_LIMITS = {
            **settings.FLIPBOOK_LIMITS,
            "MAX_EVENTS_PER_COMMIT": 5,
            "MAX_STREAMS_PER_COMMIT": 3,
        }
        refused(ValidationError, "events", services.append_to_stream, "s", events(6))
        refused(
            ValidationError,
            "streams",
            services.commit,
            [{"stream_id": "a", "events": events(3)}, {"stream_id": "b", "events": events(3)}],
        )
        appends = [{"stream_id": f"s{i}", "events": [ev()]} for i in range(4)]
        refused(ValidationError, "streams", services.commit, appends)
        assert feed() == []
        assert services.append_to_stream("s", events(5)).version == 5
        assert len(services.commit(appends[1:]).streams) == 3

    def test_payload_or_metadata_over_the_limit_is_too_large(self, settings):
        settings.FLIPBOOK_LIMITS = {
            **settings.FLIPBOOK_LIMITS,
            "MAX_PAYLOAD_BYTES": 100,
            "MAX_METADATA_BYTES": 50,
        }
        fits = "x" * 98  # 100 bytes once quoted
        assert services.append_to_stream("s", [ev(payload=fits)]).version == 1
        error = refused(
            TooLarge,
            "events[1].payload",
            services.append_to_stream,
            "s",
            [ev(), ev(payload=fits + "y")],
        )
        assert error.code == "too_large"
        assert error.details["size"] == 101
        assert error.details["limit"] == 100
        # Bytes, not characters: 34 three-byte characters are 104 bytes.
        refused(
            TooLarge, "events[0].payload", services.append_to_stream, "s", [ev(payload="日" * 34)]
        )
        refused(
            TooLarge,
            "streams[1].events[0].payload",
            services.commit,
            [
                {"stream_id": "t", "events": [ev()]},
                {"stream_id": "s", "events": [ev(payload=[fits])]},
            ],
        )
        refused(
            TooLarge,
            "events[0].metadata",
            services.append_to_stream,
            "s",
            [ev(metadata={"note": "x" * 50})],
        )
        assert services.stream_head("s").event_count == 1
        assert_missing("t")
        services.append_to_stream("s", [ev(metadata={"note": "x" * 10})])
        assert services.latest_event("s").metadata == {"note": "x" * 10}

    def test_read_limit_over_the_maximum_is_refused(self, settings):
        settings.FLIPBOOK_LIMITS = {**settings.FLIPBOOK_LIMITS, "MAX_READ_LIMIT": 10}
        services.append_to_stream("s", events(12))
        assert len(services.read_stream("s", limit=10).items) == 10
        refused(ValidationError, "limit", services.read_stream, "s", limit=11)
        refused(ValidationError, "limit", services.list_streams, limit=11)
        refused(ValidationError, "limit", services.read_all, limit=11)
        refused(
            ValidationError, "batch_size", lambda: list(services.iter_stream("s", batch_size=11))
        )
        assert len(list(services.iter_stream("s", batch_size=10))) == 12

    # -- reads by version --------------------------------------------------------------------

    def test_read_by_version_range_forwards_and_backwards(self):
        services.append_to_stream("s", events(10))
        assert versions(services.read_stream("s", from_version=3, to_version=6)) == [3, 4, 5, 6]
        assert versions(services.read_stream("s", from_version=8)) == [8, 9, 10]
        assert versions(services.read_stream("s", to_version=2)) == [1, 2]
        assert versions(services.read_stream("s", from_version=4, to_version=4)) == [4]
        assert versions(services.read_stream("s", from_version=11)) == []
        assert versions(
            services.read_stream("s", from_version=3, to_version=6, direction="backwards")
        ) == [6, 5, 4, 3]
        assert versions(services.read_stream("s", direction="backwards", limit=3)) == [10, 9, 8]
        assert [e.payload for e in services.read_stream("s", from_version=9).items] == [
            {"n": 8},
            {"n": 9},
        ]

    def test_bad_read_arguments_are_refused(self):
        services.append_to_stream("s", events(2))
        for query, field in [
            ({"from_version": 0}, "from_version"),
            ({"from_version": -3}, "from_version"),
            ({"to_version": "2"}, "to_version"),
            ({"from_version": 5, "to_version": 4}, "to_version"),
            ({"direction": "sideways"}, "direction"),
            ({"limit": 0}, "limit"),
            ({"limit": -1}, "limit"),
            ({"since": "not a time"}, "since"),
            ({"until": 5}, "until"),
            ({"since": at(2), "until": at(1)}, "until"),
            ({"cursor": "!!not base64!!"}, "cursor"),
            ({"cursor": 17}, "cursor"),
            ({"cursor": "e30"}, "cursor"),  # base64 of {}
            ({"cursor": ""}, "cursor"),
        ]:
            refused(ValidationError, field, services.read_stream, "s", **query)

    def test_paging_with_limit_and_cursor_covers_every_event_once(self):
        services.append_to_stream("s", events(10))
        services.append_to_stream("s", events(3))
        for limit in (1, 3, 5, 13, 50):
            forwards = read_every_page("s", limit=limit)
            assert versions(forwards) == list(range(1, 14))
            backwards = read_every_page("s", limit=limit, direction="backwards")
            assert versions(backwards) == list(range(13, 0, -1))
        ranged = read_every_page("s", limit=2, from_version=4, to_version=8)
        assert versions(ranged) == [4, 5, 6, 7, 8]
        page = services.read_stream("s", limit=5)
        assert len(page.items) == 5 and page.next_cursor is not None
        assert services.read_stream("s", limit=20).next_cursor is None
        # A cursor continues after its page even when events were appended since.
        page = services.read_stream("s", limit=13)
        services.append_to_stream("s", events(2))
        assert versions(services.read_stream("s", cursor=page.next_cursor)) == [14, 15]

    def test_a_cursor_from_another_query_is_refused(self):
        services.append_to_stream("s", events(6), category="c")
        services.append_to_stream("t", [ev(timestamp=at(i)) for i in range(6)])
        forwards = services.read_stream("s", limit=2).next_cursor
        backwards = services.read_stream("s", limit=2, direction="backwards").next_cursor
        by_time = services.read_stream("t", limit=2, since=at(0)).next_cursor
        listing = services.list_streams(limit=1).next_cursor
        assert None not in (forwards, backwards, by_time, listing)
        refused(ValidationError, "cursor", services.read_stream, "s", cursor=backwards)
        refused(
            ValidationError,
            "cursor",
            services.read_stream,
            "s",
            cursor=forwards,
            direction="backwards",
        )
        refused(ValidationError, "cursor", services.read_stream, "t", cursor=forwards, since=at(0))
        refused(ValidationError, "cursor", services.read_stream, "t", cursor=by_time)
        refused(ValidationError, "cursor", services.read_stream, "s", cursor=listing)
        refused(ValidationError, "cursor", services.list_streams, cursor=forwards)
        refused(ValidationError, "cursor", services.list_streams, cursor=by_time)
        # A cursor is bound to its stream: on another stream it would skip or repeat events.
        refused(ValidationError, "cursor", services.read_stream, "t", cursor=forwards)
        # The cursors themselves still work with their own query.
        assert versions(services.read_stream("s", cursor=forwards)) == [3, 4, 5, 6]
        assert versions(services.read_stream("s", cursor=backwards, direction="backwards")) == [
            4,
            3,
            2,
            1,
        ]

    def test_a_missing_stream_reads_empty(self):
        services.append_to_stream("other", events(2))
        page = services.read_stream("missing")
        assert page.items == [] and page.next_cursor is None
        assert services.read_stream("missing", since=at(0), direction="backwards").items == []
        assert services.read_stream("missing", from_version=1, to_version=5).items == []
        assert list(services.iter_stream("missing")) == []
        with pytest.raises(NotFound):
            services.latest_event("missing")
        with pytest.raises(NotFound) as info:
            services.stream_head("missing")
        assert info.value.code == "not_found"

    # -- reads by natural time ---------------------------------------------------------------

    @pytest.fixture
    def timeline(self) -> None:
        # versions:   1     2     3     4     5     6     7      8     9
        # minutes:    0   None    2     2     5   None   -10     9     5
        services.append_to_stream(
            "s",
            [
                ev("A", timestamp=at(0)),
                ev("B"),
                ev("C", timestamp=at(2)),
                ev("D", timestamp=at(2)),
                ev("E", timestamp=at(5)),
                ev("F", timestamp=None),
                ev("G", timestamp=at(-10)),
                ev("H", timestamp=at(9)),
                ev("I", timestamp=at(5)),
            ],
        )

    def test_read_by_time_range_is_inclusive_and_leaves_out_time_neutral_events(self, timeline):
        def read(**query) -> str:
            return names(services.read_stream("s", **query))

        assert read(since=at(2), until=at(5)) == "CDEI"
        assert read(since=at(2)) == "CDEIH"
        assert read(until=at(2)) == "GACD"
        assert read(since=at(-100)) == "GACDEIH"
        assert read(since=at(3), until=at(4)) == ""
        assert read(since=at(9), until=at(9)) == "H"
        assert read(since=at(2), until=at(5), direction="backwards") == "IEDC"
        assert read(since=at(2) + timedelta(microseconds=1)) == "EIH"
        assert read(until=at(5) - timedelta(microseconds=1)) == "GACD"
        # Strings and other offsets name the same instants.
        plus_one = timezone(timedelta(hours=1))
        assert read(since="2024-03-01T12:02:00Z", until=at(5).astimezone(plus_one)) == "CDEI"
        # Combined with a version range.
        assert read(since=at(0), from_version=3, to_version=8) == "CDEH"

    def test_paging_by_time_covers_every_event_once(self, timeline):
        for limit in (1, 2, 3, 7):
            assert names(read_every_page("s", since=at(-100), limit=limit)) == "GACDEIH"
            assert (
                names(read_every_page("s", until=at(100), limit=limit, direction="backwards"))
                == "HIEDCAG"
            )
            assert names(read_every_page("s", since=at(2), until=at(5), limit=limit)) == "CDEI"
        assert names(services.iter_stream("s", since=at(0), batch_size=2)) == "ACDEIH"
        assert (
            names(services.iter_stream("s", until=at(5), direction="backwards", batch_size=1))
            == "IEDCAG"
        )

    # -- iter_stream, latest_event -----------------------------------------------------------

    def test_iter_stream_reads_many_events_lazily_in_order(self):
        for _ in range(3):
            self.append_many("big", events(834, "Tick"))
        services.append_to_stream("other", events(5))
        iterator = services.iter_stream("big", batch_size=1000)
        first = next(iterator)
        assert first.version == 1
        # Batches after the first are fetched as iteration reaches them: a later append shows.
        services.append_to_stream("big", events(10, "Late"))
        rest = list(iterator)
        assert versions([first, *rest]) == list(range(1, 2513))
        assert {e.stream_id for e in rest} == {"big"}
        assert names(rest[-10:]) == "Late" * 10
        backwards = services.iter_stream("big", direction="backwards", batch_size=1000)
        assert versions(backwards) == list(range(2512, 0, -1))
        ranged = services.iter_stream("big", from_version=999, to_version=2001, batch_size=1000)
        assert versions(ranged) == list(range(999, 2002))

    def test_latest_event_is_the_last_event(self):
        services.append_to_stream("s", events(3))
        result = services.append_to_stream("s", [ev("Last", payload=[1])])
        services.append_to_stream("other", events(2))
        assert services.latest_event("s") == result.events[0]
        with pytest.raises(NotFound) as info:
            services.latest_event("missing")
        assert info.value.code == "not_found"

    # -- stream head ("version 0") -----------------------------------------------------------

    def test_stream_head_is_version_zero(self):
        first = services.append_to_stream("s", events(2), category="wallet")
        head = services.stream_head("s")
        assert head.stream_id == "s"
        assert head.kind == "versioned"
        assert head.category == "wallet"
        assert head.version == 2
        assert head.event_count == 2
        assert head.last_position == first.events[-1].position
        assert head.metadata == {}
        assert head.first_recorded_at == head.last_recorded_at == first.events[0].recorded_at
        second = services.append_to_stream("s", events(3), expected_version=2)
        head = services.stream_head("s")
        assert head.version == 5
        assert head.event_count == 5
        assert head.category == "wallet"
        assert head.last_position == second.events[-1].position
        assert head.first_recorded_at == first.events[0].recorded_at
        assert head.last_recorded_at == second.events[0].recorded_at >= head.first_recorded_at
        assert services.stream_info("s") == head
        with pytest.raises(NotFound):
            services.stream_head("S")

    def test_category_is_set_by_the_first_append_and_cannot_be_changed_by_one(self):
        assert services.append_to_stream("a", [ev()], category="order").category == "order"
        # No category: it keeps its own, and the result says which (listeners rely on it).
        assert services.append_to_stream("a", [ev()]).category == "order"
        services.append_to_stream("a", [ev()], category="order")
        refused(
            ValidationError, "category", services.append_to_stream, "a", [ev()], category="cart"
        )
        assert services.stream_head("a").category == "order"
        assert services.stream_head("a").event_count == 3
        assert services.append_to_stream("b", [ev()]).category is None
        assert services.stream_head("b").category is None
        for category in ("", "c" * 129, "tab\t", 5):
            refused(
                ValidationError,
                "category",
                services.append_to_stream,
                "c",
                [ev()],
                category=category,
            )
        assert_missing("c")

    # -- list_streams ------------------------------------------------------------------------

    def test_list_streams_by_prefix_is_case_sensitive_and_literal(self):
        ids = [
            "order-1",
            "order-2",
            "Order-3",
            "ORDER-4",
            "orders",
            "ord",
            "a%b",
            "axb",
            "a%",
            "a_b",
            "acb",
            "a\\b",
            "a\\\\b",
            "ab",
            "日本/1",
            "日本/2",
            "日本語",
            "/unique/path/to/file",
            "/unique/path",
        ]
        for stream_id in ids:
            services.append_to_stream(stream_id, [ev()])

        def listed(prefix: str) -> set[str]:
            return {s.stream_id for s in services.list_streams(prefix=prefix).items}

        assert listed("order") == {"order-1", "order-2", "orders"}
        assert listed("Order") == {"Order-3"}
        assert listed("ORDER") == {"ORDER-4"}
        assert listed("order-") == {"order-1", "order-2"}
        assert listed("a%") == {"a%b", "a%"}
        assert listed("a_") == {"a_b"}
        assert listed("a\\") == {"a\\b", "a\\\\b"}
        assert listed("a\\\\") == {"a\\\\b"}
        assert listed("日本/") == {"日本/1", "日本/2"}
        assert listed("/unique/path") == {"/unique/path/to/file", "/unique/path"}
        assert listed("/unique/path/") == {"/unique/path/to/file"}
        assert listed("order-1") == {"order-1"}
        assert listed("zzz") == set()
        assert listed("") == set(ids)
        assert {s.stream_id for s in services.list_streams().items} == set(ids)

    def test_list_streams_pages_cover_every_stream_once_in_id_order(self):
        ids = [f"s-{i:03d}" for i in range(23)]
        for i, stream_id in reversed(list(enumerate(ids))):
            services.append_to_stream(stream_id, [ev()], category="even" if i % 2 == 0 else None)
        services.append_to_stream("t-000", [ev()], category="even")
        for limit in (1, 4, 23, 100):
            assert list_every_page(prefix="s-", limit=limit) == ids
        assert list_every_page(limit=5) == [*ids, "t-000"]
        assert list_every_page(category="even", limit=3) == [*ids[::2], "t-000"]
        assert list_every_page(category="even", prefix="s-01", limit=2) == [
            "s-010",
            "s-012",
            "s-014",
            "s-016",
            "s-018",
        ]
        assert list_every_page(category="nothing") == []
        page = services.list_streams(prefix="s-", limit=4)
        assert [s.stream_id for s in page.items] == ids[:4]
        assert page.items[0].event_count == 1 and page.items[0].version == 1
        assert page.items[0].category == "even"

    def test_list_streams_shows_each_stream_head(self):
        services.append_to_stream("a-log", events(3), kind="neutral", category="logs")
        services.append_to_stream("a-acct", events(2), category="wallet")
        heads = {s.stream_id: s for s in services.list_streams(prefix="a-").items}
        assert heads["a-log"] == services.stream_head("a-log")
        assert heads["a-acct"] == services.stream_head("a-acct")
        assert heads["a-log"].kind == "neutral" and heads["a-log"].version is None
        assert heads["a-acct"].version == 2 and heads["a-acct"].category == "wallet"

    def test_bad_list_streams_arguments_are_refused(self):
        services.append_to_stream("s", events(2))
        for query, field in [
            ({"prefix": "x" * 257}, "prefix"),
            ({"prefix": "a\nb"}, "prefix"),
            ({"category": ""}, "category"),
            ({"category": "c" * 129}, "category"),
            ({"limit": -1}, "limit"),
            ({"cursor": "nonsense"}, "cursor"),
            ({"cursor": services.read_stream("s", limit=1).next_cursor}, "cursor"),
        ]:
            refused(ValidationError, field, services.list_streams, **query)

    # -- read_all ----------------------------------------------------------------------------

    @pytest.fixture
    def mixed_feed(self) -> list[RecordedEvent]:
        committed = []
        append = services.append_to_stream
        committed += append("w-1", [ev("Opened"), ev("Deposited")], category="wallet").events
        committed += append("o-1", [ev("Placed")], category="order").events
        committed += services.commit(
            [
                {"stream_id": "w-2", "events": [ev("Opened")], "category": "wallet"},
                {"stream_id": "n-1", "events": [ev("Noted"), ev("Noted")], "kind": "neutral"},
            ]
        ).events
        committed += append("w-1", [ev("Withdrawn")]).events
        committed += append("o-1", [ev("Shipped"), ev("Placed")]).events
        return committed

    def test_read_all_returns_every_event_in_position_order(self, mixed_feed):
        page = services.read_all()
        assert sorted(e.id for e in page.events) == sorted(e.id for e in mixed_feed)
        positions = [e.position for e in page.events]
        assert all(a < b for a, b in pairwise(positions))
        assert page.next_after == positions[-1]
        by_id = {e.id: e for e in mixed_feed}
        assert all(by_id[e.id] == e for e in page.events)
        assert services.read_all(after=page.next_after).events == []
        assert services.read_all(after=page.next_after).next_after == page.next_after

    def test_read_all_pages_with_after_and_limit(self, mixed_feed):
        everything = services.read_all(limit=100).events
        assert len(everything) == len(mixed_feed)
        for limit in (1, 2, 3, 9):
            seen: list[RecordedEvent] = []
            after = 0
            for _ in range(50):
                page = services.read_all(after=after, limit=limit)
                assert len(page.events) <= limit
                assert all(e.position > after for e in page.events)
                seen += page.events
                if not page.events:
                    break
                assert page.next_after == page.events[-1].position
                after = page.next_after
            assert seen == everything
        middle = everything[3].position
        assert services.read_all(after=middle).events == everything[4:]
        assert list(services.iter_all(after=middle, batch=2)) == everything[4:]

    def test_read_all_filters_by_category_and_name(self, mixed_feed):
        wallet = services.read_all(categories=["wallet"]).events
        assert names(wallet) == "OpenedDepositedOpenedWithdrawn"
        assert {e.stream_id for e in wallet} == {"w-1", "w-2"}
        assert names(services.read_all(categories="order").events) == "PlacedShippedPlaced"
        assert names(services.read_all(categories=["order", "wallet"]).events) == (
            "OpenedDepositedPlacedOpenedWithdrawnShippedPlaced"
        )
        assert names(services.read_all(names=["Opened", "Placed"]).events) == (
            "OpenedPlacedOpenedPlaced"
        )
        assert names(services.read_all(names="Noted").events) == "NotedNoted"
        assert names(services.read_all(categories=["order"], names=["Placed"]).events) == (
            "PlacedPlaced"
        )
        assert services.read_all(categories=["nothing"]).events == []
        assert [e.stream_id for e in services.read_all(names=["Noted"]).events] == ["n-1", "n-1"]
        assert names(services.iter_all(categories=["wallet"], names=["Opened"], batch=1)) == (
            "OpenedOpened"
        )

    def test_read_all_next_after_moves_past_filtered_out_events(self, mixed_feed):
        last = max(e.position for e in mixed_feed)
        page = services.read_all(categories=["nothing"])
        assert page.events == [] and page.next_after == last
        assert services.read_all(names=["Opened"]).next_after == last
        # Paging a filter with a small limit sees each match once and ends at the head.
        seen, after = [], 0
        for _ in range(20):
            page = services.read_all(after=after, limit=1, categories=["order"])
            seen += page.events
            assert page.next_after >= after
            if page.next_after == after:
                break
            after = page.next_after
        assert names(seen) == "PlacedShippedPlaced"
        assert after == last
        later = services.append_to_stream("o-2", [ev("Placed")], category="order").events[0]
        page = services.read_all(after=after, categories=["order"])
        assert page.events == [later] and page.next_after == later.position

    def test_read_all_under_racing_writers_never_goes_back_and_misses_nothing(self):
        """A reader following next_after while writers race sees every event exactly once and
        never a position at or below one it has already seen (DESIGN.md §1, position)."""
        writers = self.concurrent_feed_writers
        if not writers:
            pytest.skip("this backend declares no concurrent writers (concurrent_feed_writers)")
        stop = threading.Event()
        written: list[RecordedEvent] = []

        def write(n: int) -> None:
            try:
                for i in range(12):
                    if i % 3 == 2:
                        result = services.commit(
                            [
                                {"stream_id": f"w{n}", "events": events(2)},
                                {"stream_id": f"x{(n + i) % writers}", "events": [ev()]},
                            ]
                        )
                    else:
                        result = services.append_to_stream(f"w{n}", events(1 + i % 2))
                    written.extend(result.events)
            finally:
                # A thread's Django connections outlive it otherwise, and an open one keeps
                # the test database from being dropped at the end of the run.
                connections.close_all()

        seen: list[RecordedEvent] = []
        after = 0
        with ThreadPoolExecutor(writers) as pool:
            futures = [pool.submit(write, n) for n in range(writers)]
            while not stop.is_set():
                stop_now = all(f.done() for f in futures)
                page = services.read_all(after=after, limit=7)
                assert all(e.position > after for e in page.events), "went back"
                assert [e.position for e in page.events] == sorted(
                    {e.position for e in page.events}
                )
                assert page.next_after >= after
                seen += page.events
                after = page.next_after
                if stop_now and not page.events:
                    stop.set()
            for f in futures:
                f.result()
        assert sorted(e.id for e in seen) == sorted(e.id for e in written)
        assert len({e.id for e in seen}) == len(seen)
        by_id = {e.id: e for e in written}
        assert all(by_id[e.id] == e for e in seen)

    def test_read_all_of_an_empty_store(self):
        page = services.read_all()
        assert page.events == []
        assert page.next_after >= 0
        assert list(services.iter_all()) == []
        assert services.read_all(after=page.next_after).events == []
        stored = services.append_to_stream("s", [ev()]).events[0]
        assert stored.position > page.next_after
        assert services.read_all(after=page.next_after).events == [stored]

    def test_bad_read_all_arguments_are_refused(self):
        for query, field in [
            ({"after": -1}, "after"),
            ({"after": "3"}, "after"),
            ({"after": None}, "after"),
            ({"limit": 0}, "limit"),
            ({"categories": [""]}, "categories[0]"),
            ({"categories": ["ok", 7]}, "categories[1]"),
            ({"categories": ["ok", None]}, "categories[1]"),
            ({"names": ["ok", ""]}, "names[1]"),
            ({"names": ["x" * 129]}, "names[0]"),
        ]:
            refused(ValidationError, field, services.read_all, **query)

    # -- stream ids --------------------------------------------------------------------------

    def test_any_printable_stream_id_works_everywhere(self):
        for stream_id in VALID_STREAM_IDS:
            result = services.append_to_stream(
                stream_id, [ev("A"), ev("B", timestamp=at(1))], expected_version=0
            )
            assert result.stream_id == stream_id
            assert services.append_to_stream(stream_id, [ev("C")], expected_version=2).version == 3
        services.commit([{"stream_id": i, "events": [ev("D")]} for i in VALID_STREAM_IDS])
        for stream_id in VALID_STREAM_IDS:
            stored = services.read_stream(stream_id).items
            assert [e.stream_id for e in stored] == [stream_id] * 4, stream_id
            assert names(stored) == "ABCD"
            assert names(services.read_stream(stream_id, since=at(0))) == "B"
            head = services.stream_head(stream_id)
            assert (head.stream_id, head.version) == (stream_id, 4)
            assert services.latest_event(stream_id).name == "D"
            listed = {s.stream_id for s in services.list_streams(prefix=stream_id).items}
            assert listed == {i for i in VALID_STREAM_IDS if i.startswith(stream_id)}
            with pytest.raises(VersionConflict):
                services.append_to_stream(stream_id, [ev()], expected_version=0)
        assert {e.stream_id for e in feed()} == set(VALID_STREAM_IDS)
        assert set(list_every_page(limit=2)) == set(VALID_STREAM_IDS)

    def test_stream_ids_are_case_sensitive(self):
        services.append_to_stream("Acct", [ev()])
        services.append_to_stream("acct", events(2))
        assert services.stream_head("Acct").version == 1
        assert services.stream_head("acct").version == 2
        with pytest.raises(NotFound):
            services.stream_head("ACCT")

    def test_invalid_stream_id_is_refused_everywhere(self):
        for stream_id in INVALID_STREAM_IDS:
            refused(ValidationError, "stream_id", services.append_to_stream, stream_id, [ev()])
            refused(
                ValidationError,
                "streams[1].stream_id",
                services.commit,
                [{"stream_id": "ok", "events": [ev()]}, {"stream_id": stream_id, "events": [ev()]}],
            )
            refused(ValidationError, "stream_id", services.read_stream, stream_id)
            refused(ValidationError, "stream_id", lambda i=stream_id: list(services.iter_stream(i)))
            refused(ValidationError, "stream_id", services.stream_head, stream_id)
            refused(ValidationError, "stream_id", services.latest_event, stream_id)
        assert feed() == []
        assert_missing("ok")

    # -- event names -------------------------------------------------------------------------

    def test_event_names_are_one_to_128_printable_characters(self):
        good = ["A", "n" * 128, "Überwiesen", "with space", "🙂"]
        services.append_to_stream("s", [ev(name) for name in good])
        assert [e.name for e in services.read_stream("s").items] == good
        for name in ("", "n" * 129, "bad\nname", "nul\x00", None, 5, ["A"]):
            refused(
                ValidationError, "events[1].name", services.append_to_stream, "t", [ev(), ev(name)]
            )
        assert_missing("t")

    # -- payloads and metadata ---------------------------------------------------------------

    def test_any_json_payload_round_trips(self):
        result = services.append_to_stream(
            "s", [*(ev(payload=p) for p in PAYLOADS), NewEvent("Default")]
        )
        stored = services.read_stream("s").items
        fed = services.read_all().events
        for i, payload in enumerate(PAYLOADS):
            for got in (result.events[i].payload, stored[i].payload, fed[i].payload):
                assert got == payload
                assert type(got) is type(payload), (payload, got)
        assert stored[-1].payload is None  # the payload defaults to JSON null
        assert services.latest_event("s").payload is None
        # Object key order does not matter; stored events are immutable values.
        services.append_to_stream("t", [ev(payload={"b": 1, "a": {"d": 2, "c": 3}})])
        assert services.latest_event("t").payload == {"a": {"c": 3, "d": 2}, "b": 1}
        with pytest.raises(AttributeError):
            stored[0].payload = {"changed": True}  # type: ignore[misc]

    def test_non_json_payload_is_refused(self):
        for payload in NOT_JSON:
            refused(
                ValidationError,
                "events[0].payload",
                services.append_to_stream,
                "s",
                [ev(payload=payload)],
            )
            refused(
                ValidationError,
                "events[0].metadata",
                services.append_to_stream,
                "s",
                [ev(metadata={"m": payload})],
            )
        assert_missing("s")

    def test_metadata_is_a_json_object(self):
        metadata = {"correlation_id": new_id(), "actor": {"name": "Ann", "roles": ["admin"]}}
        services.append_to_stream("s", [ev(metadata=metadata), ev(metadata={}), ev()])
        assert [e.metadata for e in services.read_stream("s").items] == [metadata, {}, {}]
        for bad in ([], ["a"], "text", 1, True):
            refused(
                ValidationError,
                "events[0].metadata",
                services.append_to_stream,
                "t",
                [ev(metadata=bad)],
            )
        assert_missing("t")


RACING_WRITERS = 16
RACE_TARGET_VERSION = 40


def race_writers_to_one_stream(
    writers: int = RACING_WRITERS, target: int = RACE_TARGET_VERSION
) -> None:
    """``writers`` threads append to one stream at the version each just read: every version
    is won by exactly one writer, and each loser is told the version the stream had moved to
    (for the backends whose own modules race writers; the store service is the one used)."""
    wins: list[tuple[int, int]] = []
    conflicts: list[tuple[int, int]] = []
    start = threading.Barrier(writers)

    def writer(number: int) -> None:
        start.wait()
        while True:
            head = services.stream_head("race").version if wins or conflicts else 0
            if head >= target:
                return
            event = {"name": "Won", "payload": {"writer": number, "expected": head}}
            try:
                result = services.append_to_stream("race", [event], expected_version=head)
            except VersionConflict as conflict:
                assert conflict.current_version > head
                conflicts.append((head, conflict.current_version))
            else:
                wins.append((head, result.version))

    with ThreadPoolExecutor(writers) as pool:
        for future in [pool.submit(writer, n) for n in range(writers)]:
            future.result(timeout=120)
    stored = services.read_stream("race", limit=1000).items
    assert [e.version for e in stored] == list(range(1, target + 1))
    assert sorted(v for _, v in wins) == list(range(1, target + 1))
    assert all(version == expected + 1 for expected, version in wins)
    assert [e.payload["expected"] for e in stored] == list(range(target))
    assert conflicts, f"{writers} racing writers never conflicted: the race did not happen"
    positions = [e.position for e in stored]
    assert positions == sorted(positions)
