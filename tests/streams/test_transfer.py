"""Export and import (streams/transfer.py) on every backend: export → import → export round
trips between each ordered pair of SQLite, PostgreSQL, DynamoDB Local and Redis with equal
checksums and identical lines (positions and recorded times kept), the refusal of a store
that holds events, merge semantics, and malformed exports.

The round trips of all twelve pairs run twice: with 200 events on 50 streams appended
natively on the source (interleaved streams, multi-stream commits, both kinds, categories,
natural times, and an append after the import), and with 10,000 events on 400 streams
(appended on Redis, imported into each source: the issue's must-show). The stores of
backends that outlive a test (Redis, DynamoDB Local) are filled once and kept as sources,
so DynamoDB Local imports the 10,000 events three times, not six."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from streams.backends.database import DatabaseEventStore
from streams.exceptions import IdConflict, StoreNotEmpty, ValidationError, VersionConflict
from streams.records import FeedQuery
from streams.transfer import export_checksum, export_store, import_store
from streams.validation import prepare_commit
from tests.conftest import require_postgres
from tests.contracts.snapshot_store import require_redis
from tests.dynamodb_fixtures import dynamodb_client, dynamodb_local, dynamodb_options  # noqa: F401
from tests.redis_fixtures import redis_options

BACKENDS = ("sqlite", "postgres", "dynamodb", "redis")
PAIRS = [(a, b) for a in BACKENDS for b in BACKENDS if a != b]
CATEGORIES = ("wallet", "order", None)
NAMES = ("Opened", "Deposited", "Withdrawn", "Noted")


@pytest.fixture
def stores(request):
    """``stores(name)``: a fresh, empty event store on backend ``name``, cleaned up after."""
    made = []

    def make(name: str):
        if name == "sqlite":
            store = DatabaseEventStore(using="default")
        elif name == "postgres":
            require_postgres()
            store = DatabaseEventStore(using="postgres")
        elif name == "dynamodb":
            from streams.backends.dynamodb import DynamoDBEventStore

            endpoint = request.getfixturevalue("dynamodb_local")
            client = request.getfixturevalue("dynamodb_client")
            store = DynamoDBEventStore(**dynamodb_options(endpoint, client))
            store.create_tables()
            made.append(store.delete_tables)
        else:
            from streams.backends.redis import RedisEventStore

            require_redis()
            store = RedisEventStore(**redis_options())
            made.append(store.delete_everything)
        return store

    make.request = request
    yield make
    for cleanup in made:
        cleanup()


def fill(store, *, events: int, streams: int, seed: int = 21) -> int:
    """Append ``events`` events over ``streams`` streams in commits of one or two streams
    and one to four events each; return the number of commits."""
    rng = random.Random(seed)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    ids = []
    for i in range(streams):
        neutral = i % 7 == 3
        sid = f"log/{i:04d}" if neutral else f"acct-{i:04d}/ü"
        ids.append((sid, "neutral" if neutral else "versioned", CATEGORIES[i % 3]))
    made = commits = 0
    while made < events:
        # Every stream first (each gets events), then streams at random.
        picks = (
            [ids[commits]]
            if commits < streams
            else rng.sample(ids, min(streams, 1 + (rng.random() < 0.2)))
        )
        appends = []
        for sid, kind, category in picks:
            n = min(rng.randint(1, 4), events - made)
            if n <= 0:
                break
            made += n
            appends.append(
                {
                    "stream_id": sid,
                    "kind": kind,
                    "category": category,
                    "events": [
                        {
                            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                            "name": rng.choice(NAMES),
                            "payload": {
                                "amount": rng.randint(-10_000, 10_000),
                                "rate": rng.choice([0.5, 1.25, -3.75]),
                                "note": rng.choice(["plain", "ünïcode ✓", 'q"uote', ""]),
                                "tags": rng.sample(["a", "b", "c", "d"], 2),
                            },
                            "metadata": {"actor": f"user-{rng.randint(1, 9)}"}
                            if rng.random() < 0.3
                            else None,
                            "timestamp": (
                                start + timedelta(seconds=rng.randint(0, 10**7), microseconds=7)
                            ).isoformat()
                            if rng.random() < 0.7
                            else None,
                        }
                        for _ in range(n)
                    ],
                }
            )
        if appends:
            store.append(prepare_commit(appends))
            commits += 1
    return commits


def export_lines(store, **scope) -> list[str]:
    return list(export_store(store=store, **scope))


def body(lines: list[str]) -> list[str]:
    """An export without its header (which says when it was made)."""
    assert json.loads(lines[0])["type"] == "flipbook-export"
    return lines[1:]


def trailer(lines: list[str]) -> dict:
    return json.loads(lines[-1])


def round_trip(source, target) -> tuple[list[str], list[str]]:
    before = export_lines(source)
    report = import_store(before, store=target, batch=97)
    after = export_lines(target)
    assert report.checksum == trailer(before)["checksum"] == trailer(after)["checksum"]
    # Every backend keeps positions and recorded times: the exact checksums agree too.
    assert report.exact_checksum == trailer(before)["exact_checksum"]
    assert trailer(after)["exact_checksum"] == trailer(before)["exact_checksum"]
    assert report.events == trailer(before)["events"]
    return before, after


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_exact_checksum_differs_when_an_import_renumbers_and_retimes_the_events(stores):
    source, target = stores("sqlite"), stores("redis")
    fill(source, events=30, streams=5)
    before = export_lines(source)
    report = import_store(before, store=target, merge=True)  # a merge appends anew
    after = export_lines(target)
    assert report.keeps == frozenset()
    assert trailer(after)["checksum"] == trailer(before)["checksum"]
    assert trailer(after)["exact_checksum"] != trailer(before)["exact_checksum"]
    assert trailer(before)["exact_checksum"] != trailer(before)["checksum"]


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize(("source_name", "target_name"), PAIRS)
def test_export_import_export_round_trip_between_each_pair(stores, source_name, target_name):
    source, target = stores(source_name), stores(target_name)
    fill(source, events=200, streams=50)
    before, after = round_trip(source, target)
    assert trailer(before)["events"] == 200
    assert trailer(before)["streams"] == 50
    # Every backend keeps positions and recorded times: the exports are the same text.
    assert body(after) == body(before)
    # The imported store goes on: a new append lands after every imported position.
    last = max(json.loads(line)["position"] for line in before if '"type":"event"' in line)
    appended = target.append(
        prepare_commit([{"stream_id": "acct-0001/ü", "events": [{"name": "Later"}]}])
    )
    event = appended.events[0]
    assert event.position > last
    assert (
        event.version
        == json.loads(
            [line for line in before if '"stream_id":"acct-0001/ü"' in line and '"event"' in line][
                -1
            ]
        )["version"]
        + 1
    )
    assert [e.id for e in target.read_all(FeedQuery(after=last, limit=10)).events] == [event.id]


@pytest.fixture(scope="module")
def ten_thousand(request):
    """The 10,000-event, 400-stream data set of the round trips between every pair: its
    export (appended natively on Redis, whose store is the Redis source), and the stores of
    the backends that outlive a test (Redis, DynamoDB) once they hold it, kept as sources for
    the tests after (SQLite and PostgreSQL are emptied after each test)."""
    from streams.backends.redis import RedisEventStore

    require_redis()
    redis = RedisEventStore(**redis_options())
    cleanups = [redis.delete_everything]
    fill(redis, events=10_000, streams=400, seed=5)
    held = {"redis": (redis, export_lines(redis))}
    yield held, cleanups
    for cleanup in cleanups:
        cleanup()


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize("source_name", BACKENDS)
def test_ten_thousand_events_on_four_hundred_streams_round_trip_to_each_other_backend(
    stores, ten_thousand, source_name
):
    """Export → import → export from ``source_name`` into each other backend, 10,000 events
    on 400 streams: equal checksums, the same lines, the same heads."""
    held, cleanups = ten_thousand
    canonical = held["redis"][1]
    assert trailer(canonical)["events"] == 10_000
    assert trailer(canonical)["streams"] == 400
    if source_name in held:
        source, before = held[source_name]
    else:
        source = stores(source_name)
        import_store(canonical, store=source, batch=2000)
        before = export_lines(source)
    assert body(before) == body(canonical)
    versions = {h.stream_id: h.version for h in source.iter_heads()}
    for target_name in BACKENDS:
        if target_name == source_name:
            continue
        if target_name in held or target_name in ("sqlite", "postgres"):
            target = stores(target_name)
        else:  # the first store of a backend that outlives the test: kept as a source
            target = _lasting_store(target_name, stores)
            cleanups.append(target.delete_tables)
        report = import_store(before, store=target, batch=2000)
        after = export_lines(target)
        assert report.checksum == trailer(before)["checksum"] == trailer(after)["checksum"]
        assert report.events == trailer(after)["events"] == 10_000
        assert body(after) == body(before), f"{source_name} -> {target_name}"
        heads = list(target.iter_heads())
        assert sum(h.event_count for h in heads) == 10_000
        assert {h.stream_id: h.version for h in heads} == versions
        if target_name not in held and target_name not in ("sqlite", "postgres"):
            held[target_name] = (target, after)


def _lasting_store(name: str, stores):
    """A store of ``name`` (DynamoDB) that the ``stores`` fixture does not delete."""
    from streams.backends.dynamodb import DynamoDBEventStore

    assert name == "dynamodb"
    endpoint = stores.request.getfixturevalue("dynamodb_local")
    client = stores.request.getfixturevalue("dynamodb_client")
    store = DynamoDBEventStore(**dynamodb_options(endpoint, client))
    store.create_tables()
    return store


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize("name", BACKENDS)
def test_import_into_a_store_holding_events_refuses_unless_merging(stores, name):
    source = stores("sqlite" if name != "sqlite" else "postgres")
    target = stores(name)
    fill(source, events=60, streams=12)
    lines = export_lines(source)
    first_half = [*lines[:43], lines[-1]]  # header, 12 streams, 30 events, trailer
    assert trailer(lines)["streams"] == 12
    target.append(prepare_commit([{"stream_id": "other", "events": [{"name": "Mine"}]}]))

    with pytest.raises(StoreNotEmpty) as refused:
        import_store(lines, store=target)
    assert refused.value.code == "store_not_empty"
    assert "merge" in refused.value.message
    assert [e.name for e in target.read_all(FeedQuery(limit=10)).events] == ["Mine"]

    # A merge appends what is missing and skips what is stored with the same content, so
    # an interrupted import (here: the batches before a truncation) can be finished with one.
    with pytest.raises(ValidationError, match="trailer"):
        import_store(first_half[:-1], store=target, merge=True, batch=10)
    report = import_store(lines, store=target, merge=True)
    assert (report.events, report.skipped) == (30, 30)
    assert report.keeps == frozenset()
    again = import_store(lines, store=target, merge=True)
    assert (again.events, again.skipped) == (0, 60)
    stored = export_checksum(store=target)
    assert stored["events"] == 61
    # An id stored with other content is a conflict, not a skip.
    changed = [
        line.replace('"name":"', '"name":"X', 1) if i == 20 else line
        for i, line in enumerate(lines)
    ]
    with pytest.raises(ValidationError, match="checksum"):
        import_store(changed, store=target, merge=True)
    fixed = _with_matching_trailer(changed)
    with pytest.raises(IdConflict):
        import_store(fixed, store=target, merge=True)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_merge_whose_versions_do_not_continue_the_stored_stream_is_a_conflict(stores):
    source, target = stores("sqlite"), stores("redis")
    fill(source, events=20, streams=1)
    target.append(
        prepare_commit(
            [{"stream_id": "acct-0000/ü", "category": "wallet", "events": [{"name": "Mine"}]}]
        )
    )
    with pytest.raises(VersionConflict):
        import_store(export_lines(source), store=target, merge=True)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_an_export_of_a_category_or_a_prefix_holds_only_those_streams(stores):
    source = stores("sqlite")
    fill(source, events=200, streams=30)
    wallet = [json.loads(line) for line in export_lines(source, category="wallet")]
    streams = [line for line in wallet if line["type"] == "stream"]
    events = [line for line in wallet if line["type"] == "event"]
    assert streams and all(s["category"] == "wallet" for s in streams)
    assert events and {e["stream_id"] for e in events} <= {s["stream_id"] for s in streams}
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    assert wallet[0]["scope"] == {"category": "wallet", "prefix": None}
    logs = [json.loads(line) for line in export_lines(source, prefix="log/")]
    assert {line["stream_id"] for line in logs if "stream_id" in line} == {
        f"log/{i:04d}" for i in range(30) if i % 7 == 3
    }
    assert all(line["version"] is None for line in logs if line["type"] == "event")
    # A partial export imports on its own (here into PostgreSQL) with the same checksum.
    target = stores("postgres")
    report = import_store([json.dumps(line) for line in wallet], store=target)
    assert report.checksum == wallet[-1]["checksum"] == export_checksum(store=target)["checksum"]


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda lines: lines[:-1], "truncated"),
        (lambda lines: ["{}", *lines[1:]], "header"),
        (lambda lines: [*lines[:3], "{not json\n", *lines[3:]], "line 4: is not JSON"),
        (lambda lines: lines[:1] + lines[2:], "no stream line"),
        (lambda lines: [lines[0], lines[1], lines[1], *lines[2:]], "two stream lines"),
        (lambda lines: _with_matching_trailer(_swap_events(lines)), "position"),
        (lambda lines: [*lines[:-1], lines[-1].replace('"events":', '"events":1')], "counts"),
    ],
    ids=[
        "truncated",
        "no-header",
        "bad-json",
        "no-stream-line",
        "two-stream-lines",
        "positions-fall",
        "trailer-counts",
    ],
)
def test_a_malformed_export_is_refused_naming_the_line(stores, change, message):
    source, target = stores("sqlite"), stores("postgres")
    fill(source, events=10, streams=1)
    lines = export_lines(source)
    with pytest.raises(ValidationError, match=message):
        import_store(change(lines), store=target)


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize("batch", [5, 500])
@pytest.mark.parametrize("name", BACKENDS)
def test_an_export_holding_an_event_id_twice_is_an_id_conflict(stores, name, batch):
    source = stores("postgres" if name == "sqlite" else "sqlite")
    fill(source, events=20, streams=4)
    lines = export_lines(source)
    events = [i for i, line in enumerate(lines) if '"type":"event"' in line]
    first, last = json.loads(lines[events[0]]), json.loads(lines[events[-1]])
    last["id"] = first["id"]  # a later batch (batch=5) or the same one (500)
    lines[events[-1]] = json.dumps(last)
    with pytest.raises(IdConflict) as refused:
        import_store(_with_matching_trailer(lines), store=stores(name), batch=batch)
    assert refused.value.code == "id_conflict"
    assert first["id"] in str(refused.value.details)


def _swap_events(lines: list[str]) -> list[str]:
    return [*lines[:2], lines[3], lines[2], *lines[4:]]


def _with_matching_trailer(lines: list[str]) -> list[str]:
    """The lines with a trailer recomputed over them (a consistent but altered export)."""
    from streams.transfer import Checksum

    checksum = Checksum()
    for line in lines[1:-1]:
        checksum.add(json.loads(line))
    end = {
        "type": "end",
        "streams": checksum.streams,
        "events": checksum.events,
        "checksum": checksum.hexdigest(),
        "exact_checksum": checksum.exact_hexdigest(),
    }
    return [*lines[:-1], json.dumps(end)]


# -- personal data --------------------------------------------------------------------------


def _raw_payloads(alias: str) -> str:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT CAST(payload AS text) FROM flipbook_event")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_an_import_encrypts_personal_fields_that_the_export_holds_in_plaintext(stores, settings):
    from streams.personal_data.protection import reveal

    source, target = stores("sqlite"), stores("postgres")
    email = "import.personal@example.com"
    source.append(
        prepare_commit(
            [
                {
                    "stream_id": "customer-9",
                    "category": "customer",
                    "events": [{"name": "Registered", "payload": {"email": email, "plan": "a"}}],
                }
            ]
        )
    )
    lines = export_lines(source)
    assert email in "".join(lines)  # no declaration where it was written
    settings.FLIPBOOK_PERSONAL_DATA = {"CATEGORIES": {"customer": {"fields": ["$.email"]}}}
    import_store(lines, store=target)
    assert email not in _raw_payloads("postgres")
    stored = target.read_all(FeedQuery(after=0, limit=10)).events
    assert [e.payload["email"] for e in reveal(stored)] == [email]
    assert reveal(stored)[0].payload["plan"] == "a"


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_dynamodb_import_keeps_a_commit_across_a_feed_block_readable_from_inside_it(
    stores,
):
    """DynamoDB Local's readers start at the 64-position block of the position they read
    after: a source commit at positions 62..65 must not be one feed item based at 62."""
    source = stores("sqlite")
    # SQLite's position sequence outlives a test's rows: place b's commit at 62..65 of a
    # block, wherever the sequence stands.
    first = (
        source.append(prepare_commit([{"stream_id": "a", "events": [{"name": "A"}]}]))
        .events[0]
        .position
    )
    more = (62 - (first + 1)) % 64
    if more:
        source.append(prepare_commit([{"stream_id": "a", "events": [{"name": "A"}] * more}]))
    b = source.append(
        prepare_commit([{"stream_id": "b", "events": [{"name": "B"} for _ in range(4)]}])
    ).events
    assert b[0].position % 64 == 62 and b[-1].position % 64 == 1
    source.append(prepare_commit([{"stream_id": "c", "events": [{"name": "C"}]}]))
    target = stores("dynamodb")
    import_store(export_lines(source), store=target)
    page = target.read_all(FeedQuery(after=b[2].position, limit=10))
    assert [(e.stream_id, e.version) for e in page.events] == [("b", 4), ("c", 1)]
    page = target.read_all(FeedQuery(after=b[0].position - 1, limit=10))
    assert [(e.stream_id, e.version) for e in page.events] == [("b", n) for n in (1, 2, 3, 4)] + [
        ("c", 1)
    ]


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_reading_past_an_import_into_dynamodb_skips_the_void_below_the_clock(stores):
    """Imported positions (1..N) lie far below those DynamoDB appends draw from the clock;
    a reader crossing between them must not query each empty feed partition."""
    from streams.backends.dynamodb import DynamoDBEventStore

    source = stores("sqlite")
    fill(source, events=40, streams=5)
    endpoint = stores.request.getfixturevalue("dynamodb_local")
    client = stores.request.getfixturevalue("dynamodb_client")
    calls: list[str] = []
    target = DynamoDBEventStore(
        **dynamodb_options(endpoint, client), capacity_meter=lambda op, _units: calls.append(op)
    )
    target.create_tables()
    try:
        lines = export_lines(source)
        import_store(lines, store=target)
        last = max(json.loads(line)["position"] for line in lines if '"type":"event"' in line)
        appended = target.append(
            prepare_commit([{"stream_id": "later", "events": [{"name": "Later"}]}])
        )
        position = appended.events[0].position
        assert position > 10**12  # drawn from the clock, far past the imported positions
        calls.clear()
        page = target.read_all(FeedQuery(after=last, limit=10))
        assert [e.position for e in page.events] == [position]
        # Before the void: thousands of partitions, a query each per shard.
        assert calls.count("query") < 20, len(calls)
    finally:
        target.delete_tables()
