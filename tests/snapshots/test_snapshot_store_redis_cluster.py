"""The snapshot store contract on a real Redis Cluster (three masters started for this module
from the local ``redis-server``), reached by a ``?cluster=true`` URL."""

import random
import shutil
import socket
import subprocess

import pytest
import redis

from tests.contracts.snapshot_store import IN_CI
from tests.snapshots.test_snapshot_store_redis import RedisSnapshotStoreTests
from tests.waiting import wait_until


def _free_ports(count: int) -> list[int]:
    """Ports free now, whose cluster bus ports (+10000) are free too."""
    ports: list[int] = []
    for port in range(21000 + random.randrange(0, 20000), 55000):
        if all(_free(p) for p in (port, port + 10000)):
            ports.append(port)
            if len(ports) == count:
                return ports
    pytest.fail("no free ports for a Redis Cluster")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory):
    """Start a three-node Redis Cluster; stop it (only the processes started here) after."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not server or not cli:
        reason = "NEEDS REDIS: redis-server and redis-cli must be installed to test a cluster"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    ports = _free_ports(3)
    base = tmp_path_factory.mktemp("redis-cluster")
    processes = []
    try:
        for port in ports:
            node = base / str(port)
            node.mkdir()
            processes.append(
                subprocess.Popen(
                    [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled",
                     "yes", "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly",
                     "no", "--dir", str(node)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        for port in ports:
            _wait(lambda port=port: redis.Redis(port=port).ping())
        subprocess.run(
            [cli, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        _wait(lambda: _cluster_ok(ports))
        yield f"redis://127.0.0.1:{ports[0]}/0?cluster=true"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _cluster_ok(ports: list[int]) -> bool:
    for port in ports:
        info = redis.Redis(port=port).execute_command("CLUSTER INFO")
        if isinstance(info, bytes):
            info = dict(line.split(":", 1) for line in info.decode().split() if ":" in line)
        if info.get("cluster_state") != "ok":
            return False
    return True


def _wait(check, timeout: float = 20.0) -> None:
    wait_until(
        check,
        timeout=timeout,
        interval=0.1,
        ignore=(redis.RedisError,),  # not listening, or the cluster not formed yet
        message="the Redis Cluster did not come up",
    )


class TestRedisClusterSnapshotStore(RedisSnapshotStoreTests):
    @pytest.fixture
    def redis_url(self, cluster_url):
        return cluster_url

    def test_the_client_is_a_cluster_client(self):
        from redis.cluster import RedisCluster

        assert isinstance(self.store.client, RedisCluster)
        assert len(self.store.client.get_primaries()) == 3
