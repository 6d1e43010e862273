"""Reducers in memory: the built-ins, declarative rules, Python reducers and their registry,
the demo wallet's two reducers, errors; and, property-based, that folding on from a snapshot
(a state read back from JSON) gives the state folded from the first event."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshots import demo_reducers
from snapshots.categories import reducer_for_category
from snapshots.models import Category
from snapshots.reducers import (
    LIST,
    MERGE,
    build_reducer,
    compile_rules,
    declarative_reducer,
    python_reducer,
    reducer,
    rules_revision,
    unregister,
)
from streams.exceptions import ReducerError, ValidationError
from streams.records import RecordedEvent

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def event(name: str, payload: Any = None, version: int = 1, **fields: Any) -> RecordedEvent:
    return RecordedEvent(
        stream_id=fields.pop("stream_id", "s-1"),
        version=version,
        timestamp=fields.pop("timestamp", T0 + timedelta(days=version)),
        name=name,
        payload=payload,
        metadata=fields.pop("metadata", {}),
        id=uuid.uuid4(),
        position=version,
        recorded_at=fields.pop("recorded_at", T0),
    )


def events(*specs: tuple[str, Any]) -> list[RecordedEvent]:
    return [event(name, payload, version=i) for i, (name, payload) in enumerate(specs, 1)]


def roundtrip(state: Any) -> Any:
    return json.loads(json.dumps(state, allow_nan=False))


WALLET = events(
    ("Opened", {"owner": "alice", "currency": "EUR"}),
    ("Deposited", {"amount": 100}),
    ("Withdrawn", {"amount": 30}),
    ("TransferReceived", {"amount": 40, "from": "bob"}),
    ("Deposited", {"amount": 15}),
    ("TransferSent", {"amount": 20, "to": "bob"}),
    ("Withdrawn", {"amount": 10}),
)


# -- built-ins ----------------------------------------------------------------------------------


def test_merge_deep_merges_object_payloads():
    state = MERGE.fold(
        events(
            ("Created", {"title": "Report", "meta": {"a": 1, "b": {"c": 2}}}),
            ("Edited", {"meta": {"b": {"d": 3}, "e": [1]}}),
            ("Edited", {"meta": {"e": [2]}, "title": None}),
            ("Touched", None),
        )
    )
    assert state == {"title": None, "meta": {"a": 1, "b": {"c": 2, "d": 3}, "e": [2]}}
    assert MERGE.revision == "merge:1" and MERGE.initial() == {}


def test_merge_of_a_non_object_payload_replaces_the_state():
    assert MERGE.fold(events(("A", {"x": 1}), ("B", [1, 2]))) == [1, 2]
    assert MERGE.fold(events(("A", 5), ("B", {"y": 1}))) == {"y": 1}


def test_folds_do_not_change_the_events_they_read():
    stream = events(("A", {"n": {"deep": [1]}}), ("B", {"n": {"deep": [2], "x": 1}}))
    before = json.dumps([e.payload for e in stream])
    for reducer_ in (MERGE, LIST, declarative_reducer({"*": [{"op": "merge", "path": "m"}]})):
        first = reducer_.fold(stream)
        assert reducer_.fold(stream) == first
    assert json.dumps([e.payload for e in stream]) == before


def test_list_keeps_every_payload_in_order():
    assert LIST.fold(events(("A", {"x": 1}), ("B", None), ("C", [1]))) == [{"x": 1}, None, [1]]
    assert LIST.initial() == [] and LIST.initial() is not LIST.initial()


# -- declarative --------------------------------------------------------------------------------


def test_declarative_wallet_rules_give_the_demo_balance():
    wallet = declarative_reducer(demo_reducers.WALLET_RULES)
    assert wallet.fold(WALLET[:3]) == {"owner": "alice", "currency": "EUR", "balance": 70}
    assert wallet.fold(WALLET)["balance"] == 95


def test_python_wallet_reducer_gives_the_same_states():
    python = python_reducer(demo_reducers.wallet)
    declarative = declarative_reducer(demo_reducers.WALLET_RULES)
    for n in range(len(WALLET) + 1):
        assert python.fold(WALLET[:n]) == declarative.fold(WALLET[:n])
    assert python.fold(WALLET[:3])["balance"] == 70
    assert python.revision == "python:snapshots.demo_reducers.wallet:1"


def test_every_declarative_op():
    rules = {
        "Set": [
            {"op": "set", "path": "a.b", "from": "x"},
            {"op": "set", "path": "lit", "value": {"k": [1]}},
            {"op": "set", "path": "whole", "from": "$"},
            {"op": "set", "path": "who", "from": "@metadata.actor"},
            {"op": "set", "path": "when", "from": "@timestamp"},
            {"op": "set", "path": "by_name.{@name}", "from": "@version"},
            {"op": "set", "path": "items.{sku}", "from": "qty", "default": 0},
        ],
        "Inc": [
            {"op": "increment", "path": "n", "from": "by"},
            {"op": "increment", "path": "count"},
            {"op": "decrement", "path": "neg", "value": 2.5},
        ],
        "Add": [{"op": "append", "path": "tags", "from": "tag"}],
        "Drop": [
            {"op": "remove", "path": "tags", "from": "tag"},
            {"op": "remove", "path": "items", "from": "sku"},
            {"op": "remove", "path": "lit"},
        ],
        "Merge": [{"op": "merge", "path": "m"}, {"op": "merge", "path": "", "value": {"r": 1}}],
    }
    reducer_ = declarative_reducer(rules)
    stream = [
        event("Set", {"x": 1, "sku": "S1", "qty": 3}, 1, metadata={"actor": "ann"}),
        event("Set", {"x": 2, "sku": "S2"}, 2, metadata={"actor": "bob"}),
        event("Inc", {"by": 5}, 3),
        event("Inc", {"by": -1}, 4),
        event("Add", {"tag": "a"}, 5),
        event("Add", {"tag": "b"}, 6),
        event("Add", {"tag": "a"}, 7),
        event("Drop", {"tag": "a", "sku": "S1"}, 8),
        event("Merge", {"p": {"q": 1}}, 9),
        event("Merge", {"p": {"z": 2}}, 10),
        event("Ignored", {"x": 99}, 11),
    ]
    assert reducer_.fold(stream) == {
        "a": {"b": 2},
        "whole": {"x": 2, "sku": "S2"},
        "who": "bob",
        "when": (T0 + timedelta(days=2)).isoformat(),
        "by_name": {"Set": 2},
        "items": {"S2": 0},
        "n": 4,
        "count": 2,
        "neg": -5.0,
        "tags": ["b"],
        "m": {"p": {"q": 1, "z": 2}},
        "r": 1,
    }


def test_declarative_star_rules_take_events_without_rules_of_their_own():
    reducer_ = declarative_reducer(
        {"*": [{"op": "increment", "path": "other"}], "Known": [{"op": "set", "path": "k"}]}
    )
    assert reducer_.fold(events(("A", 1), ("Known", 7), ("B", 2))) == {"other": 2, "k": 7}


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ([], "must be an object"),
        ({"A": "x"}, "must be a list"),
        ({"A": [{"op": "explode", "path": "x"}]}, "'op' must be one of"),
        ({"A": [{"op": "set"}]}, "'path' is required"),
        ({"A": [{"op": "set", "path": "x", "form": "y"}]}, "unknown key(s) form"),
        ({"A": [{"op": "set", "path": "x", "from": "y", "value": 1}]}, "not both"),
        ({"A": [{"op": "set", "path": "x", "default": 1}]}, "'default' only goes with 'from'"),
        ({"A": [{"op": "set", "path": "a..b"}]}, "empty segment"),
        ({"A": [{"op": "set", "path": 5}]}, "a path must be"),
        ({"A": [{"op": "set", "path": "x", "from": "@nope"}]}, "unknown event field"),
        ({"A": [{"op": "set", "path": "x", "from": 3}]}, "'from' must be a string"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(rules, fragment):
    with pytest.raises(ValidationError) as info:
        compile_rules(rules)
    assert info.value.field == "rules"
    assert fragment in info.value.message


def test_the_declarative_revision_is_a_hash_of_the_rules():
    a = {"A": [{"op": "set", "path": "x", "value": 1}], "B": []}
    b = {"B": [], "A": [{"value": 1, "path": "x", "op": "set"}]}
    assert rules_revision(a) == rules_revision(b) == declarative_reducer(b).revision
    assert rules_revision(a).startswith("declarative:")
    assert rules_revision({"A": [{"op": "set", "path": "x", "value": 2}]}) != rules_revision(a)


@pytest.mark.parametrize(
    ("rules", "payload", "fragment"),
    [
        ({"E": [{"op": "increment", "path": "n", "from": "amount"}]}, {}, "has no 'amount'"),
        (
            {"E": [{"op": "increment", "path": "n", "from": "amount"}]},
            {"amount": "7"},
            "amount is a string",
        ),
        (
            {"E": [{"op": "set", "path": "n", "value": "x"}, {"op": "increment", "path": "n"}]},
            {},
            "not a number",
        ),
        (
            {"E": [{"op": "set", "path": "n", "value": 1}, {"op": "append", "path": "n"}]},
            {},
            "not a list",
        ),
        (
            {"E": [{"op": "set", "path": "n", "value": 1}, {"op": "set", "path": "n.m"}]},
            {},
            "'n' is a number, not an object",
        ),
        ({"E": [{"op": "set", "path": "x.{k}"}]}, {"k": {"no": 1}}, "segment {k}"),
    ],
)
def test_a_rule_that_cannot_apply_is_a_reducer_error_naming_the_event(rules, payload, fragment):
    reducer_ = declarative_reducer(rules)
    with pytest.raises(ReducerError) as info:
        reducer_.fold([event("E", payload, version=4, stream_id="wallet/7")])
    error = info.value
    assert error.code == "reducer_error"
    assert fragment in error.message
    assert "'wallet/7'" in error.message and "version 4" in error.message
    assert "'E'" in error.message
    assert error.details["stream_id"] == "wallet/7"
    assert error.details["version"] == 4
    assert error.details["event_name"] == "E"


# -- Python reducers ----------------------------------------------------------------------------


@reducer(revision="7", initial=lambda: {"seen": []})
def remember_names(state, event):
    state["seen"].append(event.name)
    return state


def exploding(state, event):
    if event.name == "Boom":
        raise KeyError("amount")
    return state


def test_a_python_reducer_has_its_revision_and_initial_state():
    reducer_ = python_reducer("tests.snapshots.test_reducers.remember_names")
    assert reducer_.kind == "python"
    assert reducer_.revision == "python:tests.snapshots.test_reducers.remember_names:7"
    assert reducer_.fold(events(("A", 1), ("B", 2))) == {"seen": ["A", "B"]}
    assert reducer_.initial() == {"seen": []}  # a new one every time
    assert python_reducer(exploding).revision == "python:tests.snapshots.test_reducers.exploding:1"


def test_a_python_reducer_that_raises_is_a_reducer_error():
    reducer_ = python_reducer(exploding)
    with pytest.raises(ReducerError) as info:
        reducer_.fold([event("Fine", version=1), event("Boom", version=2)])
    assert "version 2" in info.value.message and "'Boom'" in info.value.message
    assert "KeyError: 'amount'" in info.value.message
    assert "tests.snapshots.test_reducers.exploding" in info.value.message


def test_a_python_reducer_path_that_does_not_import_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured):
        python_reducer("tests.snapshots.test_reducers.no_such_function")
    with pytest.raises(ImproperlyConfigured):
        python_reducer("tests.snapshots.test_reducers.T0")  # not callable


@pytest.mark.django_db
class TestRegistry:
    def test_without_configuration_a_category_uses_merge(self):
        assert reducer_for_category(None) is MERGE
        assert reducer_for_category("nothing-configured").revision == MERGE.revision

    def test_flipbook_reducers_setting(self, settings):
        settings.FLIPBOOK_REDUCERS = {"wallet": "snapshots.demo_reducers.wallet"}
        assert reducer_for_category("wallet").revision == "python:snapshots.demo_reducers.wallet:1"
        settings.FLIPBOOK_REDUCERS = {"wallet": "no.such.path"}
        with pytest.raises(ReducerError) as info:
            reducer_for_category("wallet")
        assert "FLIPBOOK_REDUCERS['wallet']" in info.value.message

    def test_decorator_registration(self):
        @reducer("decorated-cat", revision="3")
        def counter(state, event):
            return {"n": (state or {}).get("n", 0) + 1}

        try:
            found = reducer_for_category("decorated-cat")
            assert found.kind == "python" and found.revision.endswith(":3")
            assert found.fold(events(("A", 1), ("B", 1))) == {"n": 2}
        finally:
            unregister("decorated-cat")
        assert reducer_for_category("decorated-cat").kind == "merge"

    def test_a_category_row_wins_over_code(self, settings):
        settings.FLIPBOOK_REDUCERS = {"wallet": "snapshots.demo_reducers.wallet"}
        row = Category.objects.create(name="wallet", reducer="declarative", rules={})
        assert reducer_for_category("wallet").kind == "declarative"
        row.reducer = "list"
        row.save()
        assert reducer_for_category("wallet").revision == LIST.revision
        row.reducer, row.python_path = "python", ""
        row.save()  # python without a path: the registered function
        assert reducer_for_category("wallet").revision == "python:snapshots.demo_reducers.wallet:1"
        row.python_path = "tests.snapshots.test_reducers.remember_names"
        row.save()
        assert reducer_for_category("wallet").revision.endswith("remember_names:7")

    def test_a_broken_category_row_is_a_reducer_error(self):
        Category.objects.create(name="broken", reducer="declarative", rules={"A": "nope"})
        with pytest.raises(ReducerError) as info:
            reducer_for_category("broken")
        assert "category 'broken'" in info.value.message
        Category.objects.create(name="lost", reducer="python", python_path="")
        with pytest.raises(ReducerError):
            reducer_for_category("lost")

    def test_the_admin_form_validation_explains_bad_rules(self):
        from django.core.exceptions import ValidationError as FormError

        row = Category(name="c", reducer="declarative", rules={"A": [{"op": "x", "path": ""}]})
        with pytest.raises(FormError) as info:
            row.clean()
        assert "rules" in info.value.message_dict
        row = Category(name="c", reducer="python", python_path="no.such.thing")
        with pytest.raises(FormError) as info:
            row.clean()
        assert "python_path" in info.value.message_dict
        Category(name="c", reducer="declarative", rules=demo_reducers.WALLET_RULES).clean()
        assert Category(name="c", reducer="list").revision == "list:1"


def test_build_reducer_refuses_unknown_kinds():
    with pytest.raises(ValidationError):
        build_reducer("magic")


# -- properties: continuing from a snapshot equals folding from the first event ---------------

# Text without NUL: the store refuses U+0000 (PostgreSQL's jsonb cannot hold it).
json_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.sampled_from("abcde"), json_values, max_size=4)

wallet_events = st.lists(
    st.one_of(
        st.tuples(
            st.just("Opened"),
            st.fixed_dictionaries({"owner": json_text, "currency": st.just("EUR")}),
        ),
        st.tuples(
            st.sampled_from(["Deposited", "Withdrawn", "TransferSent", "TransferReceived"]),
            st.fixed_dictionaries({"amount": st.integers(0, 10**6)}),
        ),
        st.tuples(st.just("Noted"), json_objects),
    ),
    max_size=30,
)

DECLARATIVE_RULES = {
    "Put": [{"op": "set", "path": "items.{key}", "from": "value", "default": None}],
    "Add": [
        {"op": "increment", "path": "total", "from": "n", "default": 0},
        {"op": "append", "path": "log", "from": "key", "default": ""},
    ],
    "Take": [
        {"op": "decrement", "path": "total", "from": "n", "default": 0},
        {"op": "remove", "path": "log", "from": "key", "default": ""},
        {"op": "remove", "path": "items", "from": "key", "default": ""},
    ],
    "Patch": [{"op": "merge", "path": "doc"}],
    "*": [{"op": "increment", "path": "other"}],
}
declarative_events = st.lists(
    st.tuples(
        st.sampled_from(["Put", "Add", "Take", "Patch", "Other"]),
        st.fixed_dictionaries(
            {"key": st.sampled_from(["x", "y", "z"]), "n": st.integers(-1000, 1000)},
            optional={"value": json_values},
        ),
    ).map(lambda t: t if t[0] != "Patch" else (t[0], {"k": t[1]["key"], "n": t[1]["n"]})),
    max_size=30,
)

REDUCERS = {
    "merge": (MERGE, st.lists(st.tuples(st.just("E"), json_objects | json_values), max_size=25)),
    "list": (LIST, st.lists(st.tuples(st.just("E"), json_values), max_size=25)),
    "declarative": (declarative_reducer(DECLARATIVE_RULES), declarative_events),
    "declarative-wallet": (declarative_reducer(demo_reducers.WALLET_RULES), wallet_events),
    "python-wallet": (python_reducer(demo_reducers.wallet), wallet_events),
}


@pytest.mark.parametrize("name", sorted(REDUCERS))
def test_folding_on_from_a_snapshot_equals_folding_from_the_start(name):
    reducer_, strategy = REDUCERS[name]

    @settings(max_examples=60, deadline=None)
    @given(specs=strategy, data=st.data())
    def check(specs, data):
        stream = events(*specs)
        cut = data.draw(st.integers(0, len(stream)), label="snapshot version")
        n = data.draw(st.integers(cut, len(stream)), label="state version")
        from_start = roundtrip(reducer_.fold(stream[:n]))
        snapshot = roundtrip(reducer_.fold(stream[:cut]))  # what the snapshot store holds
        assert roundtrip(reducer_.fold(stream[cut:n], snapshot)) == from_start

    check()
