"""The event store contract on a real Redis Cluster (three masters started for this module from
the local ``redis-server``, as the snapshot store's cluster tests do), reached by a
``?cluster=true`` URL: every key of a store shares one hash tag, so each commit script and
each read script runs on the one node that serves its slot."""

import pytest

from streams import services
from tests.contracts.event_store import EventStoreContract, events
from tests.redis_fixtures import use_redis_event_store
from tests.snapshots.test_snapshot_store_redis_cluster import cluster_url  # noqa: F401


class TestRedisClusterEventStore(EventStoreContract):
    concurrent_feed_writers = 8

    @pytest.fixture
    def event_store(self, cluster_url, settings):  # noqa: F811
        store = use_redis_event_store(settings, cluster_url)
        yield store
        store.delete_everything()
        store.close()

    def test_the_store_lives_on_one_node_of_three(self, event_store):
        from redis.cluster import RedisCluster

        services.commit([{"stream_id": f"s{i}", "events": events(2)} for i in range(20)])
        client = event_store.client
        assert isinstance(client, RedisCluster) and len(client.get_primaries()) == 3
        holding = [n for n in client.get_primaries() if n.redis_connection.dbsize()]
        assert len(holding) == 1
        assert services.store_totals()["events"] == 40
        assert event_store.persistence_report()["aof_enabled"] is False
