"""Property-based, through the store: the state at version N folded on from any snapshot
equals the state folded from version 1, for each built-in reducer and both demo wallet
reducers, and reads exactly the events after the snapshot. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snapshots import services as snapshots
from snapshots.demo_reducers import WALLET_RULES
from snapshots.models import Category
from snapshots.state import state_at_version
from streams import services
from tests.contracts.snapshot_store import StoresInDatabase
from tests.snapshots.test_reducers import DECLARATIVE_RULES, REDUCERS

pytestmark = pytest.mark.django_db(databases="__all__")

CATEGORIES = {
    "merge": {"reducer": "merge"},
    "list": {"reducer": "list"},
    "declarative": {"reducer": "declarative", "rules": DECLARATIVE_RULES},
    "declarative-wallet": {"reducer": "declarative", "rules": WALLET_RULES},
    "python-wallet": {"reducer": "python", "python_path": "snapshots.demo_reducers.wallet"},
}


class TestStateFromSnapshots(StoresInDatabase):
    @pytest.mark.parametrize("name", sorted(CATEGORIES))
    def test_state_from_a_snapshot_equals_state_from_version_one(self, stores_in_db, name):
        Category.objects.create(name=name, **CATEGORIES[name])
        strategy = REDUCERS[name][1]

        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(specs=strategy.filter(bool), data=st.data())
        def check(specs, data):
            stream_id = f"p/{uuid.uuid4()}"  # examples share the test's database
            services.append_to_stream(
                stream_id,
                [{"name": n, "payload": p} for n, p in specs],
                category=name,
            )
            head = len(specs)
            cut = data.draw(st.integers(1, head), label="snapshot version")
            n = data.draw(st.integers(cut, head), label="state version")
            snapshots.take_snapshot(stream_id, cut)
            from_snapshot = state_at_version(stream_id, n)
            from_start = state_at_version(stream_id, n, use_snapshots=False)
            assert from_snapshot.payload == from_start.payload
            assert from_snapshot.snapshot.version == cut
            assert from_snapshot.events_read == n - cut
            assert from_start.events_read == n

        check()
