"""The event store contract on Redis (the server `make services` runs), plus what only Redis
has: racing writers on one Lua script, one hash slot per store, the console's reads from its
counters, errors at the boundary, and the durability of acknowledged commits across a SIGKILL
of a Redis with appendfsync always."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from streams import services
from streams.backends import get_event_store
from streams.backends.redis import RedisEventStore
from streams.exceptions import Unavailable
from tests.contracts.event_store import (
    EventStoreContract,
    ev,
    events,
    feed,
    race_writers_to_one_stream,
)
from tests.redis_fixtures import redis_server, redis_store, use_redis_event_store  # noqa: F401


class TestRedisEventStore(EventStoreContract):
    concurrent_feed_writers = 8  # a tailing reader under 8 racing writers misses nothing

    @pytest.fixture
    def event_store(self, redis_store):  # noqa: F811
        return redis_store


WRITERS = 16
TARGET_VERSION = 40


def test_racing_writers_get_exactly_one_winner_per_version(redis_store):  # noqa: F811
    race_writers_to_one_stream()


def test_racing_any_appends_all_land_and_positions_have_no_gaps(redis_store):  # noqa: F811
    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(
            pool.map(lambda n: services.append_to_stream("any", events(2)), range(WRITERS))
        )
    assert sorted(e.version for r in results for e in r.events) == list(range(1, 2 * WRITERS + 1))
    assert services.stream_head("any").version == 2 * WRITERS
    # One counter in the commit script: the feed's positions are 1..n, no gaps.
    assert [e.position for e in feed()] == list(range(1, 2 * WRITERS + 1))


def test_a_refused_commit_writes_no_key(redis_store):  # noqa: F811
    services.append_to_stream("a", events(2), category="acct")
    client = redis_store.client
    match = redis_store.base.replace("{", "\\{").replace("}", "\\}") + "*"

    def snapshot() -> dict[bytes, object]:
        return {k: client.dump(k) for k in client.scan_iter(match=match)}

    before = snapshot()
    for appends in (
        [{"stream_id": "new", "events": events(3)}, {"stream_id": "a", "expected_version": 1,
                                                     "events": [ev()]}],
        [{"stream_id": "new", "events": [ev()], "category": "other"},
         {"stream_id": "a", "events": [ev()], "category": "nope"}],
    ):  # fmt: skip
        with pytest.raises(Exception):  # noqa: B017 - the contract names the errors
            services.commit(appends)
    assert snapshot() == before


def test_every_key_of_a_store_is_in_one_cluster_slot(redis_store):  # noqa: F811
    from redis.crc import key_slot

    services.commit(
        [
            {"stream_id": "{braces}/x", "events": [ev(timestamp=datetime.now(UTC))]},
            {"stream_id": "n", "events": events(2), "kind": "neutral", "category": "c"},
        ]
    )
    match = redis_store.base.replace("{", "\\{").replace("}", "\\}") + "*"
    keys = list(redis_store.client.scan_iter(match=match))
    assert len(keys) >= 10  # streams, heads, a time index, the feed, ids, indexes, meta
    assert len({key_slot(k) for k in keys}) == 1
    assert key_slot(keys[0]) == key_slot(redis_store.base.encode())


def test_console_reads_from_the_store_s_own_counters(redis_store):  # noqa: F811
    for i in range(3):
        services.append_to_stream(f"d/{i}", [ev("Opened")], category="wallet" if i else None)
    services.append_to_stream("d/0", [ev("Again")])
    services.append_to_stream("log", events(2), kind="neutral", category="logs")
    totals = services.store_totals()
    assert totals == {
        "streams": 4,
        "events": 6,
        "categories": 2,
        "last_position": 6,
        "approximate": False,
    }
    assert services.stream_categories() == ["logs", "wallet"]
    page = services.recent_streams(limit=2)
    assert [h.stream_id for h in page.items] == ["log", "d/0"]
    rest = services.recent_streams(limit=2, cursor=page.next_cursor)
    assert [h.stream_id for h in rest.items] == ["d/2", "d/1"]
    assert [h.stream_id for h in services.recent_streams(category="wallet").items] == [
        "d/2",
        "d/1",
    ]
    assert [h.stream_id for h in services.recent_streams(prefix="d/").items] == [
        "d/0",
        "d/2",
        "d/1",
    ]
    now = datetime.now(UTC)
    series = services.events_per_minute(now - timedelta(minutes=5), now)
    assert sum(n for _, n in series) == 6
    # Per minute, as the recorded times say (they never go back along the feed).
    by_minute: dict[datetime, int] = {}
    for e in feed():
        minute = e.recorded_at.replace(second=0, microsecond=0)
        by_minute[minute] = by_minute.get(minute, 0) + 1
    assert {m: n for m, n in series if n} == by_minute
    recorded = [e.recorded_at for e in feed()]
    assert recorded == sorted(recorded)
    later = services.events_per_minute(now + timedelta(minutes=1), now + timedelta(minutes=2))
    assert [n for _, n in later] == [0, 0]


def test_events_per_minute_splits_minutes_by_their_first_position(redis_store):  # noqa: F811
    """The minute index holds the first position of each minute; counts are differences of
    positions. Commits recorded in three minutes (written here the way the script does)."""
    services.append_to_stream("m", events(3))
    client = redis_store.client
    meta, epm = redis_store.global_keys[0], redis_store.global_keys[6]
    minute = int(client.zrange(epm, 0, 0)[0].split(b":")[0])
    # Pretend the next commits were recorded 2 and 5 minutes later.
    for shift, count in ((2, 4), (5, 1)):
        client.hset(meta, "min", minute + shift - 1)
        client.hset(meta, "rec", (minute + shift) * 60_000_000)
        services.append_to_stream("m", events(count))
        moved = int(client.hget(meta, "last")) - count + 1
        client.zadd(epm, {f"{minute + shift}:{moved}": minute + shift})
        client.zremrangebyscore(epm, minute + shift - 1, minute + shift - 1)
    start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    counts = redis_store.events_per_minute(start)
    assert counts == {
        start: 3,
        start + timedelta(minutes=2): 4,
        start + timedelta(minutes=5): 1,
    }
    assert redis_store.events_per_minute(start + timedelta(minutes=3)) == {
        start + timedelta(minutes=5): 1
    }


def test_bad_options_name_the_setting_and_the_fix():
    with pytest.raises(ImproperlyConfigured, match="FLIPBOOK_REDIS_EVENT_STORE_URL"):
        RedisEventStore()
    with pytest.raises(ImproperlyConfigured, match="braces"):
        RedisEventStore(url="redis://127.0.0.1:6379/0", key_prefix="a{b}")
    with pytest.raises(ImproperlyConfigured, match="aof, managed, none"):
        RedisEventStore(url="redis://127.0.0.1:6379/0", persistence="sometimes")
    store = RedisEventStore(url="redis://h:7000/0?cluster=yes&ssl_cert_reqs=none")
    assert store.cluster and store.url == "redis://h:7000/0?ssl_cert_reqs=none"


def test_an_unreachable_redis_is_unavailable_for_every_call(settings):
    use_redis_event_store(settings, "redis://127.0.0.1:1/0", socket_timeout=0.5)
    calls = [
        lambda: services.append_to_stream("s", [ev()]),
        lambda: services.read_stream("s"),
        lambda: services.read_stream("s", since=datetime.now(UTC)),
        lambda: services.stream_head("s"),
        lambda: services.list_streams(),
        lambda: services.read_all(),
        lambda: services.store_totals(),
        lambda: services.recent_streams(),
    ]
    for call in calls:
        with pytest.raises(Unavailable) as info:
            call()
        assert info.value.code == "unavailable"
        assert "127.0.0.1" not in info.value.message  # no internals reach a client
    assert services.check_ready()["event_store"].startswith("the Redis event store is unreachable")


def test_a_full_redis_refuses_commits_whole_and_keeps_what_it_has(settings, tmp_path):
    """maxmemory with noeviction: a commit that does not fit is refused before any write
    (the commit script declares that it writes), and nothing already stored is lost."""
    with redis_server(tmp_path, "--maxmemory", "3mb", "--maxmemory-policy", "noeviction") as srv:
        store = use_redis_event_store(settings, srv.url)
        stored = []
        with pytest.raises(Unavailable, match="out of memory") as info:
            for i in range(10_000):
                stored += services.append_to_stream(
                    f"s{i % 7}", [ev(payload="x" * 2000), ev(payload="y" * 2000)]
                ).events
        assert info.value.code == "unavailable"
        assert stored and len(stored) % 2 == 0
        assert [e.id for e in feed()] == [e.id for e in stored]
        assert services.store_totals()["events"] == len(stored)
        # Reads still work while writes are refused.
        assert services.read_stream("s0", limit=1).items
        store.close()


def test_a_sigkill_of_redis_with_appendfsync_always_loses_no_acknowledged_commit(
    settings, tmp_path
):
    """8 writers commit to their own streams and one shared stream in each commit while
    Redis is SIGKILLed mid-load. After a restart from its append-only file every
    acknowledged commit is there whole, each commit in doubt is there whole or not at all,
    and the all-feed is still gap-free 1..n."""
    aof = ("--appendonly", "yes", "--appendfsync", "always")
    with redis_server(tmp_path, *aof) as server:
        use_redis_event_store(settings, server.url, persistence="aof")
        store = get_event_store()
        assert store.persistence_report()["aof_enabled"] is True
        acknowledged: list = []
        in_doubt: list[list[str]] = []
        lock = threading.Lock()

        def writer(n: int) -> None:
            for i in range(100_000):
                sent = [
                    {"stream_id": f"w{n}", "events": [ev(id=str(uuid.uuid4()), payload=i)]},
                    {"stream_id": "shared", "events": [ev(id=str(uuid.uuid4()), payload=n)]},
                ]
                try:
                    result = services.commit(sent)
                except Unavailable:
                    with lock:
                        in_doubt.append([s["events"][0]["id"] for s in sent])
                    return
                with lock:
                    acknowledged.append(result)

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(writer, n) for n in range(8)]
            while len(acknowledged) < 400:
                assert not any(f.done() for f in futures), [f.result() for f in futures]
                threading.Event().wait(0.01)
            server.kill()
            for future in futures:
                future.result(timeout=60)
        assert len(in_doubt) == 8  # every writer was cut off by the kill
        server.start()
        settings.FLIPBOOK_EVENT_STORE = {**settings.FLIPBOOK_EVENT_STORE}  # a new store
        everything = feed()
        assert [e.position for e in everything] == list(range(1, len(everything) + 1))
        by_id = {e.id: e for e in everything}
        for result in acknowledged:
            for e in result.events:
                assert by_id.get(e.id) == e, f"acknowledged event {e.id} was lost"
        for ids in in_doubt:
            present = [uuid.UUID(i) in by_id for i in ids]
            assert all(present) or not any(present), "a commit survived in part"
        sent_ids = {e.id for r in acknowledged for e in r.events} | {
            uuid.UUID(i) for ids in in_doubt for i in ids
        }
        assert set(by_id) <= sent_ids
        shared = services.stream_head("shared")
        stored_shared = services.read_stream("shared", limit=10_000).items
        assert shared.event_count == shared.version == len(stored_shared)
        assert services.store_totals()["events"] == len(everything)


# -- serve's durability check ------------------------------------------------------------------


def durability_ids(settings, url: str, persistence: str = "aof") -> list[str]:
    from streams.checks import check_event_store_durability

    use_redis_event_store(settings, url, persistence=persistence)
    return [m.id for m in check_event_store_durability()]


def test_the_durability_check_asks_redis_what_it_persists(settings, tmp_path):
    with redis_server(tmp_path / "none") as plain:
        assert durability_ids(settings, plain.url) == ["flipbook.E020"]
        assert durability_ids(settings, plain.url, "none") == ["flipbook.W021"]
        assert durability_ids(settings, plain.url, "managed") == []
    aof = ("--appendonly", "yes")
    with redis_server(tmp_path / "always", *aof, "--appendfsync", "always") as always:
        assert durability_ids(settings, always.url) == []
    with redis_server(tmp_path / "everysec", *aof, "--appendfsync", "everysec") as everysec:
        assert durability_ids(settings, everysec.url) == ["flipbook.W020"]
    evicting = ("--appendfsync", "always", "--maxmemory-policy", "allkeys-lru")
    with redis_server(tmp_path / "lru", *aof, *evicting) as lru:
        assert durability_ids(settings, lru.url) == ["flipbook.E021"]
    assert durability_ids(settings, "redis://127.0.0.1:1/0") == ["flipbook.E022"]


def test_serve_refuses_a_redis_without_persistence_unless_told_it_is_for_development(tmp_path):
    import subprocess
    import sys

    from tests.processes import ROOT

    with redis_server(tmp_path) as plain:
        env = {
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "flipbook_site.settings",
            "FLIPBOOK_VAR_DIR": str(tmp_path),
            "FLIPBOOK_EVENT_STORE": "redis",
            "FLIPBOOK_REDIS_EVENT_STORE_URL": plain.url,
            "FLIPBOOK_SINGLE_SERVER": "true",
        }

        def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env={**env, **extra},
                capture_output=True,
                text=True,
                timeout=120,
            )

        refused = run("serve", "--http-port", "1", "--no-grpc")
        assert refused.returncode != 0
        assert "flipbook.E020" in refused.stderr and "appendonly" in refused.stderr
        # The same check, told that this Redis is for development: a warning, no refusal.
        told = run(
            "check", "--deploy", "--tag", "flipbook_durability",
            FLIPBOOK_REDIS_EVENT_STORE_PERSISTENCE="none",
        )  # fmt: skip
        assert told.returncode == 0, told.stderr
        assert "flipbook.W021" in told.stderr + told.stdout
