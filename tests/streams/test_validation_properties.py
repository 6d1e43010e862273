"""Property tests of bad input on the store service: whatever is wrong, and wherever it sits in
a commit, the refusal is a ValidationError (or TooLarge) naming the field, and nothing of the
commit is stored."""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from streams import services
from streams.exceptions import NotFound, TooLarge, ValidationError

MAX_EVENTS = 6
MAX_PAYLOAD = 4096
MAX_METADATA = 4096

examples = hypothesis_settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
many_examples = hypothesis_settings(examples, max_examples=150)

# -- valid building blocks --------------------------------------------------------------------

safe_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | safe_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(safe_text, children, max_size=3)
    ),
    max_leaves=6,
)
valid_names = st.text(alphabet=string.ascii_letters, min_size=1, max_size=12)
valid_events = st.lists(
    st.fixed_dictionaries(
        {"name": valid_names},
        optional={
            "payload": json_values,
            "metadata": st.dictionaries(safe_text, json_values, max_size=2),
            "timestamp": st.none()
            | st.datetimes(
                min_value=datetime(1900, 1, 1),
                max_value=datetime(2200, 1, 1),
                timezones=st.just(UTC),
            ),
        },
    ),
    min_size=1,
    max_size=3,
)

# -- invalid values ---------------------------------------------------------------------------

control_chars = st.characters(categories=["Cc"]) | st.sampled_from(["\u2028", "\u2029"])
lone_surrogates = st.characters(categories=["Cs"])
not_strings = (
    st.integers()
    | st.floats()
    | st.booleans()
    | st.none()
    | st.binary(max_size=5)
    | st.lists(st.text(max_size=3), max_size=2)
)


def containing(bad: st.SearchStrategy[str], max_size: int = 20) -> st.SearchStrategy[str]:
    """Text with at least one character drawn from ``bad`` somewhere in it."""
    return st.tuples(st.text(max_size=max_size), bad, st.text(max_size=max_size)).map("".join)


invalid_stream_ids = (
    st.just("")
    | st.text(min_size=257, max_size=300)
    | containing(control_chars)
    | containing(lone_surrogates)
    | not_strings
)
invalid_names = (
    st.just("")
    | st.text(min_size=129, max_size=150)
    | containing(control_chars)
    | containing(lone_surrogates)
    | not_strings
)
invalid_expected_versions = (
    st.integers(max_value=-1)
    | st.integers(min_value=2**62 + 1)
    | st.floats()
    | st.booleans()
    | st.text(max_size=10).filter(
        lambda s: s not in ("any", "exists") and not (s.isascii() and s.isdigit())
    )
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=1)
)
invalid_version_values = (
    st.integers(max_value=0)
    | st.integers(min_value=2**62 + 1)
    | st.floats()
    | st.booleans()
    | st.text(max_size=5)
    | st.lists(st.integers(min_value=1), min_size=1, max_size=2)
)
plus_five = timezone(timedelta(hours=5))
minus_five = timezone(timedelta(hours=-5))
invalid_timestamps = (
    # No digits, no date-time.
    st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs")), max_size=20)
    | st.sampled_from(["2024-02-30T00:00:00Z", "2024-13-01", "24:00", "2024-01-01T25:00:00"])
    | st.integers()
    | st.floats()
    | st.booleans()
    | st.dates().map(date.isoformat).map(lambda d: d + "T")
    | st.dates()
    | st.lists(st.integers(), max_size=2)
    # Aware times that fall outside the representable range once turned into UTC.
    | st.datetimes(max_value=datetime(1, 1, 1, 4), timezones=st.just(plus_five))
    | st.datetimes(min_value=datetime(9999, 12, 31, 20), timezones=st.just(minus_five))
)


class Opaque:
    """Not JSON."""


non_json_leaves = (
    st.sampled_from([math.nan, math.inf, -math.inf])
    | st.sets(st.integers(), max_size=2)
    | st.frozensets(st.integers(), max_size=2)
    | st.binary(max_size=4)
    | st.builds(Opaque)
    | st.complex_numbers(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.datetimes()
    | st.just({("tuple", "key"): 1})
    | containing(st.just("\x00"), 5)
    | containing(lone_surrogates, 5)
    | st.dictionaries(containing(st.just("\x00"), 3), st.integers(), min_size=1, max_size=1)
)
# A JSON document with at least one non-JSON value somewhere inside it.
non_json = st.recursive(
    non_json_leaves,
    lambda bad: (
        st.lists(bad, min_size=1, max_size=2)
        | st.tuples(json_values, bad).map(list)
        | st.tuples(safe_text, bad, st.dictionaries(safe_text, json_values, max_size=2)).map(
            lambda t: {**t[2], t[0]: t[1]}
        )
    ),
    max_leaves=4,
)
not_objects = (
    st.lists(json_values, max_size=3)
    | safe_text
    | st.integers()
    | st.floats()
    | st.booleans()
    | st.tuples(st.integers())
)


# -- faults: one thing wrong with an otherwise valid stream append ------------------------------


@dataclass(frozen=True)
class Fault:
    """An invalid stream append and what its refusal must say."""

    append: dict[str, Any]
    field: str  # relative to the append ("events[1].name"); commits prefix "streams[k]."
    error: type = ValidationError

    @property
    def stream_id(self) -> Any:
        return self.append["stream_id"]


@st.composite
def faults(draw) -> Fault:
    events = draw(valid_events)
    append: dict[str, Any] = {"stream_id": "bad-stream", "events": events}
    i = draw(st.integers(0, len(events) - 1))
    kind = draw(
        st.sampled_from(
            [
                "stream_id",
                "name",
                "expected_version",
                "version",
                "version_gap",
                "timestamp",
                "payload",
                "metadata",
                "metadata_value",
                "too_many",
                "too_large",
            ]
        )
    )
    if kind == "stream_id":
        append["stream_id"] = draw(invalid_stream_ids)
        return Fault(append, "stream_id")
    if kind == "expected_version":
        append["expected_version"] = draw(invalid_expected_versions)
        return Fault(append, "expected_version")
    if kind == "too_many":
        append["events"] = [{"name": "E"}] * draw(st.integers(MAX_EVENTS + 1, MAX_EVENTS + 4))
        return Fault(append, "events")
    if kind == "version_gap":
        events = draw(st.lists(st.just({"name": "E"}), min_size=2, max_size=4))
        start = draw(st.integers(1, 50))
        gap_at = draw(st.integers(1, len(events) - 1))
        wrong = draw(st.integers(1, 2**62).filter(lambda v, s=start + gap_at: v != s))
        versions = [start + k for k in range(len(events))]
        versions[gap_at] = wrong
        append["events"] = [{**e, "version": v} for e, v in zip(events, versions, strict=True)]
        return Fault(append, f"events[{gap_at}].version")
    event = dict(events[i])
    events[i] = event
    field = f"events[{i}].{kind}"
    if kind == "name":
        event["name"] = draw(invalid_names)
    elif kind == "version":
        for k, other in enumerate(events):
            if k != i:
                events[k] = {**other, "version": k + 1}
        event["version"] = draw(invalid_version_values)
    elif kind == "timestamp":
        event["timestamp"] = draw(invalid_timestamps)
    elif kind == "payload":
        event["payload"] = draw(non_json)
    elif kind == "metadata":
        event["metadata"] = draw(not_objects)
    elif kind == "metadata_value":
        event["metadata"] = {"key": draw(non_json)}
        field = f"events[{i}].metadata"
    else:  # too_large
        size = draw(st.integers(MAX_PAYLOAD - 1, MAX_PAYLOAD + 50))
        event["payload"] = draw(
            st.sampled_from(["x" * size, "日" * (size // 3 + 1), [1234567] * (size // 8 + 1)])
        )
        return Fault(append, f"events[{i}].payload", TooLarge)
    return Fault(append, field)


def valid_appends(count: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(
        st.fixed_dictionaries(
            {"events": valid_events},
            optional={
                "expected_version": st.sampled_from([0, "any"]),
                "category": st.sampled_from(["wallet", "order"]),
                "kind": st.sampled_from(["versioned", "neutral"]),
            },
        ).map(lambda a: {**a, "expected_version": "any"} if a.get("kind") == "neutral" else a),
        min_size=count,
        max_size=count,
    ).map(lambda appends: [{**a, "stream_id": f"ok-{k}"} for k, a in enumerate(appends)])


# -- the checks -------------------------------------------------------------------------------


def refused_with(fault: Fault, field: str, call, *args, **kwargs) -> None:
    with pytest.raises((ValidationError, TooLarge)) as info:
        call(*args, **kwargs)
    error = info.value
    assert isinstance(error, fault.error), error
    assert error.details["field"] == field, (error.message, fault)
    if isinstance(error, TooLarge):
        assert error.details["size"] > error.details["limit"] == MAX_PAYLOAD


def assert_nothing_stored(*stream_ids: Any) -> None:
    assert services.read_all(limit=10).events == []
    for stream_id in stream_ids:
        if isinstance(stream_id, str) and stream_id.startswith(("ok-", "bad-")):
            with pytest.raises(NotFound):
                services.stream_head(stream_id)


class TestRefusedInput:
    """Each example sends something invalid, so the store stays empty throughout."""

    available_apps = ["streams"]

    @pytest.fixture(autouse=True)
    def _store(self, db_backend, settings):
        settings.FLIPBOOK_LIMITS = {
            **settings.FLIPBOOK_LIMITS,
            "MAX_EVENTS_PER_COMMIT": MAX_EVENTS,
            "MAX_PAYLOAD_BYTES": MAX_PAYLOAD,
            "MAX_METADATA_BYTES": MAX_METADATA,
        }
        return db_backend

    @many_examples
    @given(fault=faults())
    def test_a_bad_append_is_refused_naming_the_field(self, fault):
        append = fault.append
        refused_with(
            fault,
            fault.field,
            services.append_to_stream,
            append["stream_id"],
            append["events"],
            expected_version=append.get("expected_version", "any"),
        )
        assert_nothing_stored(fault.stream_id)

    @many_examples
    @given(fault=faults(), valid=st.integers(1, 3).flatmap(valid_appends), data=st.data())
    def test_a_bad_stream_in_a_commit_stores_nothing_on_any_stream(self, fault, valid, data):
        k = data.draw(st.integers(0, len(valid)), label="index of the bad stream")
        appends = [*valid[:k], fault.append, *valid[k:]]
        refused_with(fault, f"streams[{k}].{fault.field}", services.commit, appends)
        assert_nothing_stored(fault.stream_id, *(a["stream_id"] for a in valid))

    @examples
    @given(
        streams=st.lists(st.integers(1, MAX_EVENTS), min_size=2, max_size=5).filter(
            lambda sizes: sum(sizes) > MAX_EVENTS
        )
    )
    def test_a_commit_over_the_event_limit_in_total_is_refused(self, streams):
        appends = [
            {"stream_id": f"ok-{k}", "events": [{"name": "E"}] * size}
            for k, size in enumerate(streams)
        ]
        with pytest.raises(ValidationError) as info:
            services.commit(appends)
        assert info.value.details["field"] == "streams"
        assert_nothing_stored(*(a["stream_id"] for a in appends))

    @examples
    @given(
        stream_id=invalid_stream_ids,
        query=st.sampled_from(["read_stream", "iter_stream", "stream_head", "latest_event"]),
    )
    def test_reads_refuse_bad_stream_ids(self, stream_id, query):
        call = getattr(services, query)
        with pytest.raises(ValidationError) as info:
            result = call(stream_id)
            if query == "iter_stream":
                list(result)
        assert info.value.details["field"] == "stream_id"

    @examples
    @given(
        query=st.one_of(
            st.fixed_dictionaries({"from_version": invalid_version_values}),
            st.fixed_dictionaries({"to_version": invalid_version_values}),
            st.fixed_dictionaries({"since": invalid_timestamps}),
            st.fixed_dictionaries({"until": invalid_timestamps}),
            st.fixed_dictionaries({"direction": st.text(max_size=10)}).filter(
                lambda q: q["direction"] not in ("forwards", "backwards")
            ),
            st.fixed_dictionaries({"limit": st.integers(max_value=0) | st.floats() | st.none()}),
            st.fixed_dictionaries({"cursor": st.text(max_size=30) | st.integers()}),
        )
    )
    def test_reads_refuse_bad_arguments(self, query):
        (field,) = query
        with pytest.raises(ValidationError) as info:
            services.read_stream("any-stream", **query)
        assert info.value.details["field"] == field
