"""The snapshot service (set, latest, list, delete, take) on the database and Redis stores; the
drift check with its command and admin actions; the snapshot policy, which works after the
commit and never blocks or fails an append."""

from __future__ import annotations

import io
import uuid
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command

from snapshots import policy
from snapshots import services as snapshots
from snapshots.backends import get_snapshot_store
from snapshots.models import Category
from snapshots.models import Snapshot as SnapshotRow
from snapshots.records import Snapshot
from snapshots.state import state_at_version
from streams import services
from streams.exceptions import NotFound, TooLarge, ValidationError
from tests.conftest import require_postgres
from tests.contracts.snapshot_store import REDIS_URL, require_redis, use_stores

pytestmark = pytest.mark.django_db(databases="__all__")

SUM_RULES = {"Added": [{"op": "increment", "path": "sum", "from": "n"}]}


def add(stream_id: str, count: int, *, category: str | None = "counter", first: int = 1):
    return services.append_to_stream(
        stream_id,
        [{"name": "Added", "payload": {"n": i}} for i in range(first, first + count)],
        category=category,
    )


@pytest.fixture(params=["sqlite+db", "postgres+db", "sqlite+redis"])
def stores(request, settings):
    """Events on SQLite or PostgreSQL, snapshots in the same database or in Redis; in a test
    transaction rolled back afterwards (so no snapshot policy runs)."""
    database, snapshot_backend = request.param.split("+")
    alias = "default" if database == "sqlite" else "postgres"
    if alias == "postgres":
        require_postgres()
    request.getfixturevalue("db")
    use_stores(settings, alias)
    if snapshot_backend == "redis":
        require_redis()
        prefix = f"flipbook-test:{uuid.uuid4().hex[:12]}:"
        settings.FLIPBOOK_SNAPSHOT_STORE = {
            "BACKEND": "snapshots.backends.redis.RedisSnapshotStore",
            "OPTIONS": {"url": REDIS_URL, "key_prefix": prefix},
        }
        yield request.param
        client = get_snapshot_store().client
        for key in list(client.scan_iter(match=prefix + "*")):
            client.delete(key)
    else:
        yield request.param


class TestSnapshotService:
    @pytest.fixture(autouse=True)
    def setup(self, stores):
        Category.objects.create(name="counter", reducer="declarative", rules=SUM_RULES)
        add("s-1", 10)

    def test_set_latest_list_delete(self):
        stored = snapshots.set_snapshot(
            "s-1", 4, {"sum": 10}, revision="app:2", timestamp="2024-01-01T00:00:00Z", label="x"
        )
        assert (stored.version, stored.revision, stored.label) == (4, "app:2", "x")
        assert stored.recorded_at is None  # a client's snapshot
        snapshots.set_snapshot("s-1", 7, {"sum": 28})
        assert snapshots.latest_snapshot("s-1").version == 7
        assert snapshots.latest_snapshot("s-1").revision == snapshots.CLIENT_REVISION
        assert snapshots.latest_snapshot("s-1", version=6).version == 4
        assert snapshots.latest_snapshot("s-1", revision="app:2").payload == {"sum": 10}
        assert [s.version for s in snapshots.list_snapshots("s-1")] == [4, 7]
        assert [s.version for s in snapshots.list_snapshots("s-1", revision="app:2")] == [4]
        assert snapshots.delete_snapshots("s-1", version=7) == 1
        assert snapshots.delete_snapshots("s-1") == 1
        with pytest.raises(NotFound):
            snapshots.latest_snapshot("s-1")
        with pytest.raises(NotFound):
            snapshots.latest_snapshot("s-1", version=3)

    def test_take_snapshot_folds_and_stores_under_the_reducer_revision(self):
        taken = snapshots.take_snapshot("s-1", label="manual")
        assert (taken.version, taken.payload, taken.label) == (10, {"sum": 55}, "manual")
        assert taken.revision == Category.objects.get(name="counter").revision
        assert taken.recorded_at is not None and taken.timestamp is not None
        assert snapshots.take_snapshot("s-1", 3).payload == {"sum": 6}
        assert snapshots.latest_snapshot("s-1", version=9).version == 3
        assert state_at_version("s-1").events_read == 0

    def test_set_checks_the_stream_and_version(self):
        with pytest.raises(NotFound):
            snapshots.set_snapshot("nope", 1, {})
        with pytest.raises(ValidationError) as info:
            snapshots.set_snapshot("s-1", 11, {})
        assert info.value.field == "version" and info.value.details["current_version"] == 10
        with pytest.raises(NotFound):
            snapshots.take_snapshot("s-1", 11)
        services.append_to_stream("neutral", [{"name": "A"}], kind="neutral")
        with pytest.raises(ValidationError):
            snapshots.set_snapshot("neutral", 1, {})

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"version": 0}, "version"),
            ({"version": "1"}, "version"),
            ({"payload": {1, 2}}, "payload"),
            ({"payload": float("nan")}, "payload"),
            ({"revision": ""}, "revision"),
            ({"revision": "x" * 201}, "revision"),
            ({"revision": 5}, "revision"),
            ({"label": "a\nb"}, "label"),
            ({"timestamp": "not a time"}, "timestamp"),
            ({"ttl": 0}, "ttl"),
            ({"ttl": "60"}, "ttl"),
            ({"stream_id": ""}, "stream_id"),
        ],
    )
    def test_bad_arguments_are_refused(self, kwargs, field):
        arguments = {"stream_id": "s-1", "version": 1, "payload": {}, **kwargs}
        with pytest.raises(ValidationError) as info:
            snapshots.set_snapshot(**arguments)
        assert info.value.field == field

    def test_payload_size_limit(self, settings):
        settings.FLIPBOOK_LIMITS = {**settings.FLIPBOOK_LIMITS, "MAX_SNAPSHOT_BYTES": 100}
        with pytest.raises(TooLarge):
            snapshots.set_snapshot("s-1", 1, {"x": "y" * 200})

    def test_a_ttl_is_kept(self):
        stored = snapshots.set_snapshot("s-1", 2, {}, ttl=3600)
        assert stored.expires_at is not None
        assert snapshots.latest_snapshot("s-1").expires_at == stored.expires_at


class TestDriftCheck:
    @pytest.fixture(autouse=True)
    def setup(self, stores):
        self.category = Category.objects.create(
            name="counter", reducer="declarative", rules=SUM_RULES
        )
        add("d-1", 30)
        add("d-2", 5)
        for version in (10, 20, 30):
            snapshots.take_snapshot("d-1", version)
        snapshots.take_snapshot("d-2")

    def test_good_snapshots_pass(self):
        report = snapshots.check_snapshots()
        assert report.ok and report.streams_checked == 2 and report.snapshots_checked == 4
        assert report.events_read == 35

    def test_a_snapshot_that_differs_is_found_and_rebuilt(self):
        good = snapshots.latest_snapshot("d-1", version=20)
        snapshots.set_snapshot("d-1", 20, {"sum": -1}, revision=good.revision)
        report = snapshots.check_snapshots(["d-1"])
        assert [(f.stream_id, f.version, f.problem) for f in report.findings] == [
            ("d-1", 20, "differs")
        ]
        assert state_at_version("d-1", 25).payload == {"sum": -1 + 21 + 22 + 23 + 24 + 25}
        report = snapshots.check_snapshots(["d-1"], rebuild=True)
        assert report.rebuilt == 1
        assert snapshots.check_snapshots().ok
        assert state_at_version("d-1", 25).payload == {"sum": 325}

    def test_snapshots_of_another_revision_are_rebuilt_under_the_current_one(self):
        old = snapshots.latest_snapshot("d-1").revision
        self.category.rules = {"Added": [{"op": "increment", "path": "total", "from": "n"}]}
        self.category.save()
        new = self.category.revision
        snapshots.set_snapshot("d-1", 5, {"mine": True})  # a client's: left alone
        report = snapshots.check_snapshots()
        assert sorted((f.stream_id, f.version, f.problem) for f in report.findings) == [
            ("d-1", 10, "other_revision"),
            ("d-1", 20, "other_revision"),
            ("d-1", 30, "other_revision"),
            ("d-2", 5, "other_revision"),
        ]
        snapshots.check_snapshots(rebuild=True)
        assert {s.revision for s in snapshots.list_snapshots("d-1")} == {new, "client"}
        assert [s.version for s in snapshots.list_snapshots("d-1", revision=old)] == []
        assert snapshots.latest_snapshot("d-1", revision=new).payload == {"total": 465}
        assert snapshots.check_snapshots().ok

    def test_a_snapshot_beyond_the_head_or_of_no_stream_is_found_and_deleted(self):
        revision = snapshots.latest_snapshot("d-1").revision
        store = get_snapshot_store()
        store.set(Snapshot("d-1", 31, {"sum": 0}, revision, recorded_at=None))
        store.set(Snapshot("ghost", 1, {}, revision))
        report = snapshots.check_snapshots()
        assert sorted((f.stream_id, f.version, f.problem) for f in report.findings) == [
            ("d-1", 31, "beyond_head"),
            ("ghost", 1, "no_stream"),
        ]
        report = snapshots.check_snapshots(rebuild=True)
        assert report.deleted == 2
        assert snapshots.check_snapshots().ok

    def test_the_command_reports_progress_and_fails_on_drift(self):
        out = io.StringIO()
        call_command("flipbook_snapshots", "check", "--progress-every", "0", stdout=out)
        text = out.getvalue()
        assert "[1/2 streams]" in text and "[2/2 streams]" in text and "no drift" in text
        good = snapshots.latest_snapshot("d-2")
        snapshots.set_snapshot("d-2", 5, {"sum": 0}, revision=good.revision)
        out = io.StringIO()
        with pytest.raises(CommandError):
            call_command("flipbook_snapshots", "check", "--stream", "d-2", stdout=out)
        assert "differs: 'd-2' v5" in out.getvalue()
        out = io.StringIO()
        call_command("flipbook_snapshots", "rebuild", "--stream", "d-2", stdout=out)
        assert "rebuilt 1" in out.getvalue()
        call_command("flipbook_snapshots", "check", stdout=io.StringIO())
        call_command("flipbook_snapshots", "purge", stdout=io.StringIO())


def test_admin_actions_check_and_rebuild(admin_client, settings):
    """The category admin's drift actions, through the admin pages."""
    use_stores(settings, "default")
    category = Category.objects.create(name="counter", reducer="declarative", rules=SUM_RULES)
    add("a-1", 6)
    good = snapshots.take_snapshot("a-1", 4)
    snapshots.set_snapshot("a-1", 4, {"sum": 0}, revision=good.revision)
    url = "/admin/snapshots/category/"
    response = admin_client.post(
        url,
        {"action": "check_snapshots", "_selected_action": [category.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert response.status_code == 200 and "1 finding(s)" in text and "differs" in text
    admin_client.post(url, {"action": "rebuild_snapshots", "_selected_action": [category.pk]})
    assert snapshots.latest_snapshot("a-1").payload == {"sum": 10}
    response = admin_client.get(url)
    assert good.revision in response.content.decode()  # the revision column
    assert admin_client.get(url + "add/").status_code == 200
    assert admin_client.get(f"{url}{category.pk}/change/").status_code == 200
    assert admin_client.get("/admin/snapshots/snapshot/").status_code == 200
    response = admin_client.post(
        "/admin/snapshots/snapshot/",
        {
            "action": "check_streams",
            "_selected_action": list(SnapshotRow.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert "no drift" in response.content.decode()


# -- the snapshot policy ------------------------------------------------------------------------


@pytest.fixture
def policy_stores(db_backend, settings):
    """Real commits (so events_committed is sent) on SQLite, then PostgreSQL."""
    use_stores(settings, db_backend)
    policy.forget_policies()
    yield db_backend
    policy.wait_idle(30)


def test_the_policy_snapshots_every_n_events_after_the_commit(policy_stores):
    Category.objects.create(
        name="counter", reducer="declarative", rules=SUM_RULES, snapshot_every=10
    )
    add("p-1", 4)
    add("p-1", 4, first=5)
    assert policy.wait_idle(30)
    assert snapshots.list_snapshots("p-1") == []  # 8 < 10 events
    add("p-1", 3, first=9)
    assert policy.wait_idle(30)
    taken = snapshots.list_snapshots("p-1")
    assert [(s.version, s.label) for s in taken] == [(10, "policy")]  # multiples of N
    assert taken[0].payload == {"sum": 55}
    for first in range(12, 40, 3):
        add("p-1", 3, first=first)
        assert policy.wait_idle(30)
    versions = [s.version for s in snapshots.list_snapshots("p-1")]
    assert versions[0] == 10 and versions[-1] == 40
    assert all(v % 10 == 0 for v in versions)
    assert all(b - a >= 10 for a, b in pairwise(versions))
    for version in versions:
        expected = state_at_version("p-1", version, use_snapshots=False).payload
        assert snapshots.latest_snapshot("p-1", version=version).payload == expected
    add("other", 30, category="no-policy")
    assert policy.wait_idle(30)
    assert snapshots.list_snapshots("other") == []


def test_a_failing_policy_never_fails_the_append(policy_stores, monkeypatch):
    Category.objects.create(
        name="broken",
        reducer="python",
        python_path="tests.snapshots.test_state.boom_on_3",
        snapshot_every=2,
    )
    worker = policy.get_worker()
    failed = worker.failed
    result = add("f-1", 5, category="broken")
    assert result.version == 5
    assert policy.wait_idle(30)
    assert worker.failed == failed + 1
    assert snapshots.list_snapshots("f-1") == []

    def explode(*args, **kwargs):
        raise RuntimeError("the queue is on fire")

    monkeypatch.setattr(worker, "submit", explode)
    assert add("f-1", 1, category="broken").version == 6  # send_robust logs the error


def test_a_full_queue_drops_work_instead_of_blocking():
    worker = policy.SnapshotPolicyWorker(maxsize=2)
    worker._ensure_thread = lambda: None  # no thread: nothing takes work off the queue
    assert worker.submit("a") and worker.submit("b")
    assert worker.submit("c") is False
    assert worker.dropped == 1 and worker.queue.qsize() == 2
