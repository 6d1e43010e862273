"""The snapshot store contract on the database backend: SQLite, then PostgreSQL."""

import pytest

from snapshots.backends.database import DatabaseSnapshotStore
from tests.contracts.snapshot_store import (
    SnapshotStoreConcurrencyContract,
    SnapshotStoreContract,
    StoresInDatabase,
)

pytestmark = pytest.mark.django_db(databases="__all__")


class TestDatabaseSnapshotStore(StoresInDatabase, SnapshotStoreContract):
    @pytest.fixture
    def make_store(self, stores_in_db):
        return lambda **options: DatabaseSnapshotStore(using=stores_in_db, **options)

    @pytest.fixture
    def snapshot_store(self, make_store):
        return make_store()

    def test_purge_deletes_expired_rows(self, make_store, stores_in_db):
        from snapshots.models import Snapshot as Row
        from tests.contracts.snapshot_store import EXPIRY_MARGIN, snap, versions
        from tests.waiting import wait_until

        self.store.set(snap(version=1), ttl=0.2)
        self.store.set(snap(version=2))
        wait_until(  # expired: the store no longer returns it, its row is still there
            lambda: versions(self.store.list("s-1")) == [2],
            timeout=0.2 + EXPIRY_MARGIN,
            message="the snapshot with a TTL did not expire",
        )
        assert Row.objects.using(stores_in_db).count() == 2
        assert self.store.purge_expired() == 1
        assert list(Row.objects.using(stores_in_db).values_list("version", flat=True)) == [2]


class TestDatabaseSnapshotStoreConcurrency(SnapshotStoreConcurrencyContract):
    """Racing writers commit for real: on the transactional fixture."""

    @pytest.fixture
    def make_store(self, db_backend):
        return lambda **options: DatabaseSnapshotStore(using=db_backend, **options)

    @pytest.fixture
    def snapshot_store(self, make_store):
        return make_store()
