"""The snapshot store contract on a real Redis server, plus what is Redis-specific: key
expiry, the index left behind by expired snapshots, URLs and unavailability."""

import uuid

import pytest

from snapshots.backends.redis import RedisSnapshotStore, _split_cluster_flag
from streams.exceptions import Unavailable
from tests.contracts.snapshot_store import (
    EXPIRY_MARGIN,
    REDIS_URL,
    TTL,
    SnapshotStoreConcurrencyContract,
    SnapshotStoreContract,
    require_redis,
    snap,
)
from tests.waiting import wait_until


class RedisSnapshotStoreTests(SnapshotStoreContract, SnapshotStoreConcurrencyContract):
    """The contract and the Redis-only tests; subclasses say which server (``redis_url``)."""

    @pytest.fixture
    def redis_url(self):
        require_redis()
        return REDIS_URL

    @pytest.fixture
    def redis_prefix(self, redis_url):
        """A key prefix of this test's own; its keys are deleted afterwards."""
        prefix = f"flipbook-test:{uuid.uuid4().hex[:12]}:"
        yield prefix
        store = RedisSnapshotStore(url=redis_url)
        client = store.client
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for key in keys:
            client.delete(key)
        store.close()

    @pytest.fixture
    def make_store(self, redis_url, redis_prefix):
        stores = []

        def make(**options):
            store = RedisSnapshotStore(url=redis_url, key_prefix=redis_prefix, **options)
            stores.append(store)
            return store

        yield make
        for store in stores:
            store.close()

    @pytest.fixture
    def snapshot_store(self, make_store):
        return make_store()

    # -- Redis only -----------------------------------------------------------------------------

    def test_keys_expire_in_redis_and_the_index_goes_with_the_last_one(self, redis_prefix):
        self.store.set(snap("exp", 1), ttl=TTL)
        self.store.set(snap("exp", 2), ttl=TTL)
        client = self.store.client
        keys = list(client.scan_iter(match=redis_prefix + "*"))
        assert len(keys) == 5  # 2 snapshots, 1 index, the revisions hash, the streams set
        assert all(client.pttl(k) > 0 for k in keys if not k.endswith(b"streams"))
        left = [(redis_prefix + "streams").encode()]
        wait_until(  # Redis expires the keys by wall time
            lambda: list(client.scan_iter(match=redis_prefix + "*")) == left,
            timeout=TTL + EXPIRY_MARGIN,
            message="the keys with a TTL did not expire",
        )
        assert self.store.stream_ids() == []
        assert client.scard(redis_prefix + "streams") == 0

    def test_a_snapshot_without_ttl_keeps_the_index_alive(self, redis_prefix):
        self.store.set(snap("mix", 1))
        self.store.set(snap("mix", 2), ttl=TTL)
        wait_until(
            lambda: [s.version for s in self.store.list("mix")] == [1],
            timeout=TTL + EXPIRY_MARGIN,
            message="the snapshot with a TTL did not expire alone",
        )
        assert self.store.latest("mix").version == 1

    def test_a_stream_s_keys_share_one_cluster_slot(self, redis_prefix):
        from redis.crc import key_slot

        self.store.set(snap("/unique/path/to/file", 1, revision="a"))
        self.store.set(snap("/unique/path/to/file", 2, revision="b"))
        keys = [k for k in self.store.client.scan_iter(match=redis_prefix + "{*")]
        assert len(keys) == 5  # 2 snapshots, 2 indexes, the revisions hash
        assert len({key_slot(k) for k in keys}) == 1

    def test_an_unreachable_server_is_unavailable(self):
        store = RedisSnapshotStore(url="redis://127.0.0.1:1/0", socket_timeout=0.5)
        with pytest.raises(Unavailable):
            store.latest("s-1")
        with pytest.raises(Unavailable):
            store.set(snap())
        with pytest.raises(Unavailable):
            store.ping()

    def test_the_cluster_flag_is_taken_out_of_the_url(self):
        assert _split_cluster_flag("redis://h:7000/0?cluster=true") == ("redis://h:7000/0", True)
        assert _split_cluster_flag("redis://h/0?cluster=0&ssl_cert_reqs=none") == (
            "redis://h/0?ssl_cert_reqs=none",
            False,
        )
        assert _split_cluster_flag("redis://h:6379") == ("redis://h:6379", False)
        store = RedisSnapshotStore(url="redis://h:7000/0?cluster=yes")
        assert store.cluster and store.url == "redis://h:7000/0"


class TestRedisSnapshotStore(RedisSnapshotStoreTests):
    """On the standalone server at FLIPBOOK_TEST_REDIS_URL."""
