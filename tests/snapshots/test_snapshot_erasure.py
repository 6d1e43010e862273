"""Erasure with the snapshot store on Redis: the snapshots of the streams that held the
subject's fields are dropped, and what is rebuilt and stored holds no plaintext."""

from __future__ import annotations

import uuid

import pytest

from snapshots import services as snapshot_services
from snapshots.backends import get_snapshot_store
from streams import services
from tests.contracts.snapshot_store import REDIS_URL
from tests.redis_fixtures import redis_store  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "ivy.snapshots@example.com"


@pytest.fixture
def redis_snapshots(redis_store, settings):  # noqa: F811
    prefix = f"flipbook-test:{uuid.uuid4().hex[:12]}:"
    settings.FLIPBOOK_SNAPSHOT_STORE = {
        "BACKEND": "snapshots.backends.redis.RedisSnapshotStore",
        "OPTIONS": {"url": REDIS_URL, "key_prefix": prefix},
    }
    settings.FLIPBOOK_PERSONAL_DATA = {"CATEGORIES": {"member": {"fields": ["$.email"]}}}
    yield prefix
    client = get_snapshot_store().client
    for key in list(client.scan_iter(match=prefix + "*")):
        client.delete(key)


def raw_snapshot_text(prefix: str) -> str:
    client = get_snapshot_store().client
    chunks: list[bytes] = []
    for key in client.scan_iter(match=prefix + "*"):
        kind = client.type(key).decode()
        if kind == "string":
            chunks.append(client.get(key))
        elif kind == "hash":
            for k, v in client.hgetall(key).items():
                chunks += [k, v]
        elif kind == "zset":
            chunks += [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "set":
            chunks += list(client.smembers(key))
        elif kind == "list":
            chunks += client.lrange(key, 0, -1)
        else:
            raise AssertionError(f"unexpected Redis type {kind} at {key!r}")
    return b"\n".join(chunks).decode("utf-8", "replace")


def test_erasure_drops_redis_snapshots_and_rebuilds_without_plaintext(redis_snapshots):
    services.append_to_stream(
        "member-5",
        [{"name": "Joined", "payload": {"email": EMAIL, "level": 1}}],
        expected_version=0,
        category="member",
    )
    snapshot_services.take_snapshot("member-5")
    assert EMAIL in raw_snapshot_text(redis_snapshots)  # a state is plaintext
    result = services.erase_personal_data("member-5", erased_by="test")
    assert result.snapshots_dropped == 1
    assert snapshot_services.list_snapshots("member-5") == []
    rebuilt = snapshot_services.take_snapshot("member-5")
    assert rebuilt.payload == {"email": {"erased": True}, "level": 1}
    raw = raw_snapshot_text(redis_snapshots)
    assert EMAIL not in raw and "erased" in raw
