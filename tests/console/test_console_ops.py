"""Operating from the console: roles (viewer, operator, admin, staff, read-only mode) on every
write action, the audit trail of the console, the API, the admin and the CLI, pause and
resume, reset to a time, bulk parked-event actions, the triage page and the health summary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.test import Client

from api.models import ApiKey, AuditRecord
from console import health
from streams import services
from subscriptions import services as subs
from tests.console.roles import user_with_role

PAGE = "/subscriptions/"
WRITES = [
    {"action": "create", "name": "made.here"},
    {"action": "pause", "name": "ops.sub"},
    {"action": "resume", "name": "ops.sub"},
    {"action": "reset", "name": "ops.sub", "to": "beginning"},
    {"action": "delete", "name": "ops.sub"},
    {"action": "retry", "name": "ops.sub", "position": "{p}"},
    {"action": "skip", "name": "ops.sub", "position": "{p}"},
    {"action": "replay", "name": "ops.sub", "position": "{p}"},
    {"action": "retry-through", "name": "ops.sub", "position": "{p}"},
    {"action": "skip-through", "name": "ops.sub", "position": "{p}"},
]


def parked(count: int = 1, name: str = "ops.sub") -> list[int]:
    """A subscription (max_attempts 1) with ``count`` parked events; their positions."""
    result = services.append_to_stream(
        "ops-wallet", [{"name": "Deposited", "payload": {"amount": i + 1}} for i in range(count)]
    )
    positions = [e.position for e in result.events]
    subs.create_subscription(name, max_attempts=1)
    for position in positions:
        subs.nack(name, position, f"handler broke on {position}")
    return positions


def client_for(role: str, **flags) -> Client:
    user = user_with_role(f"{role}-user", role)
    for flag, value in flags.items():
        setattr(user, flag, value)
    user.save()
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def fresh_health():
    health.forget_cached_summary()
    yield
    health.forget_cached_summary()


@pytest.mark.parametrize("form", WRITES, ids=[w["action"] for w in WRITES])
def test_a_viewer_is_refused_every_write_with_403_and_nothing_changes(db, form):
    positions = parked()
    client = client_for("viewer")
    before = subs.get_subscription("ops.sub")
    data = {k: v.format(p=positions[0]) for k, v in form.items()}
    refused = client.post(PAGE, data)
    assert refused.status_code == 403
    assert "your role may not" in refused.content.decode()
    after = subs.get_subscription("ops.sub")
    assert (after.checkpoint, after.parked, after.paused) == (
        before.checkpoint,
        before.parked,
        before.paused,
    )
    assert subs.list_subscriptions().items[-1].name != "made.here"
    assert not AuditRecord.objects.exists()
    # The page shows a viewer no write control.
    html = client.get(PAGE).content.decode()
    assert "ops.sub" in html and 'value="skip"' not in html and 'value="pause"' not in html
    assert 'name="action" value="create"' not in html


def test_a_viewer_may_not_rebuild_snapshots(db):
    services.append_to_stream("ops-doc", [{"name": "Set", "payload": {"a": 1}}])
    client = client_for("viewer")
    refused = client.post("/data/snapshots/drift?stream=ops-doc")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert 'id="snap-rebuild"' not in client.get("/snapshots/?stream=ops-doc").content.decode()


@pytest.mark.parametrize(
    "role,flags", [("operator", {}), ("admin", {}), ("viewer", {"is_staff": True})]
)
def test_operators_admins_and_staff_may_act_and_each_action_is_audited(db, role, flags):
    positions = parked(3)
    client = client_for(role, **flags)
    html = client.get(PAGE).content.decode()
    assert 'value="skip"' in html and 'value="pause"' in html and 'value="retry-through"' in html
    client.post(PAGE, {"action": "pause", "name": "ops.sub"}, REMOTE_ADDR="127.0.0.9")
    assert subs.get_subscription("ops.sub").status == "paused"
    client.post(PAGE, {"action": "resume", "name": "ops.sub"})
    assert subs.get_subscription("ops.sub").paused is False
    client.post(PAGE, {"action": "retry-through", "name": "ops.sub", "position": positions[1]})
    statuses = [p.status for p in subs.list_parked("ops.sub").items]
    assert statuses == ["retry", "retry", "parked"]
    client.post(PAGE, {"action": "skip-through", "name": "ops.sub", "position": positions[2]})
    assert subs.list_parked("ops.sub").items == []
    client.post(PAGE, {"action": "reset", "name": "ops.sub", "to": "after", "after": positions[0]})
    assert subs.get_subscription("ops.sub").checkpoint == positions[0]
    client.post(PAGE, {"action": "delete", "name": "ops.sub"})
    assert subs.list_subscriptions().items == []
    trail = list(AuditRecord.objects.order_by("id"))
    assert [r.action for r in trail] == [
        "subscription.pause",
        "subscription.resume",
        "parked.retry_through",
        "parked.skip_through",
        "subscription.reset",
        "subscription.delete",
    ]
    assert {r.actor for r in trail} == {f"{role}-user"}
    assert {r.interface for r in trail} == {"console"}
    assert {r.target for r in trail} == {"ops.sub"}
    assert trail[0].ip == "127.0.0.9"
    assert trail[2].details == {"through": positions[1], "count": 2}
    assert trail[4].details["checkpoint_after"] == positions[0]


def test_create_from_the_console_with_a_filter_and_a_start(db):
    services.append_to_stream("ops-a", [{"name": "Opened"}], category="ledger")
    client = client_for("operator")
    done = client.post(
        PAGE,
        {
            "action": "create",
            "name": "ledger.reader",
            "filter_kind": "category",
            "filter_value": "ledger",
            "filter_names": "Opened, Closed",
            "start": "end",
        },
        follow=True,
    )
    assert "ledger.reader: created" in done.content.decode()
    info = subs.get_subscription("ledger.reader")
    assert info.filter.category == "ledger" and info.filter.names == ("Opened", "Closed")
    assert info.lag == 0  # started at the end
    record = AuditRecord.objects.get(action="subscription.create")
    assert record.details["filter"]["category"] == "ledger"
    bad = client.post(PAGE, {"action": "create", "name": "bad name!"}, follow=True)
    assert "must be 1-100 characters" in bad.content.decode()


def test_read_only_mode_refuses_even_a_superuser(db, settings, admin_client):
    parked()
    settings.FLIPBOOK_CONSOLE_READ_ONLY = True
    refused = admin_client.post(PAGE, {"action": "pause", "name": "ops.sub"})
    assert refused.status_code == 403 and "read-only" in refused.content.decode()
    html = admin_client.get(PAGE).content.decode()
    assert "FLIPBOOK_CONSOLE_READ_ONLY" in html and 'value="pause"' not in html
    assert subs.get_subscription("ops.sub").paused is False


def test_reset_to_a_time_moves_the_checkpoint_before_later_events(db):
    first = services.append_to_stream("ops-t", [{"name": "A"}, {"name": "B"}]).events
    moment = datetime.now(UTC)
    services.append_to_stream("ops-t", [{"name": "C"}])
    subs.create_subscription("timed", start="end")
    info = subs.reset_subscription("timed", {"at": moment.isoformat()})
    assert info.checkpoint == first[-1].position
    assert info.lag == 1
    early = subs.reset_subscription("timed", {"at": "2000-01-01T00:00:00Z"})
    assert early.checkpoint == 0
    with pytest.raises(Exception, match="ISO 8601"):
        subs.reset_subscription("timed", {"at": "yesterday"})


def test_a_paused_subscription_delivers_nothing_until_resumed(db):
    positions = services.append_to_stream("ops-p", [{"name": "A"}]).events
    subs.create_subscription("paused.one")
    subs.pause_subscription("paused.one")
    assert subs.next_batch("paused.one").events == []
    assert subs.get_subscription("paused.one").status == "paused"
    subs.resume_subscription("paused.one")
    assert [e.position for e in subs.next_batch("paused.one").events] == [positions[0].position]


def test_the_triage_page_shows_state_before_and_after_and_who_is_stuck(db):
    services.append_to_stream("ops-wallet", [{"name": "Opened", "payload": {"balance": 0}}])
    positions = parked(1)
    subs.create_subscription("other.sub", max_attempts=3)
    subs.nack("other.sub", positions[0] - 1, "ok")  # acks the event before
    subs.nack("other.sub", positions[0], "still failing")
    client = client_for("viewer")
    page = client.get(f"/subscriptions/parked/?name=ops.sub&position={positions[0]}")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Deposited" in html and f"handler broke on {positions[0]}" in html
    assert "other.sub" in html and "retrying it now" in html
    assert "parked it after 1 attempt" in html
    assert "amount" in html and "added" in html  # what the event changed
    assert "Before (v1)" in html and "After (v2)" in html
    missing = client.get("/subscriptions/parked/?name=ops.sub&position=999999")
    assert missing.status_code == 404 and "no parked event" in missing.content.decode()
    bad = client.get("/subscriptions/parked/?name=ops.sub&position=x")
    assert bad.status_code == 400


def test_health_reports_stalled_subscriptions_parked_events_and_links(db, settings):
    settings.FLIPBOOK_SUBSCRIPTIONS = {"STALL_SECONDS": 0.0}
    parked(1)
    services.append_to_stream("ops-more", [{"name": "Later"}])
    client = client_for("viewer")
    body = client.get("/data/health").json()
    assert body["status"] == "bad"
    assert body["backend"]["state"] == "ok" and body["bus"]["kind"] == "in-process"
    assert body["events_per_second"] > 0
    assert body["counts"]["stalled"] == 1 and body["parked"] == 1
    texts = [p["text"] for p in body["problems"]]
    assert any("ops.sub is stalled" in t for t in texts)
    assert any("1 parked event" in t for t in texts)
    assert {p["href"] for p in body["problems"]} == {"/subscriptions/#sub-ops.sub"}
    assert Client().get("/data/health").status_code == 401


def test_health_is_ok_without_problems_and_the_strip_is_on_every_page(db):
    client = client_for("viewer")
    assert client.get("/data/health").json()["status"] == "ok"
    for path in ("/", "/streams/", PAGE, "/audit/"):
        assert 'id="health-strip"' in client.get(path).content.decode(), path


def test_the_audit_page_filters_and_pages_both_ways(db):
    for i in range(60):
        AuditRecord.objects.create(
            actor="alice" if i % 2 else "bob",
            interface="console",
            action="subscription.pause",
            target=f"sub-{i}",
        )
    AuditRecord.objects.create(actor="key:ci#1", interface="api", action="parked.skip", target="x")
    client = client_for("viewer")
    first = client.get("/audit/").content.decode()
    assert first.count('class="card audit-item"') == 50 and "key:ci#1" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    older_id = AuditRecord.objects.order_by("-id")[49].id
    older = client.get(f"/audit/?before={older_id}").content.decode()
    assert older.count('class="card audit-item"') == 11 and 'rel="prev"' in older
    newest_of_older = AuditRecord.objects.order_by("-id")[50].id
    back = client.get(f"/audit/?after={newest_of_older}").content.decode()
    assert back.count('class="card audit-item"') == 50
    only_api = client.get("/audit/?interface=api").content.decode()
    assert only_api.count('class="card audit-item"') == 1
    alice = client.get("/audit/?actor=alice&action=subscription.").content.decode()
    assert alice.count('class="card audit-item"') == 30
    assert client.get("/audit/?interface=nope").status_code == 400
    assert client.get("/audit/?before=x").status_code == 400
    assert client.get("/audit/?since=soon").status_code == 400


def test_api_management_actions_are_audited_with_the_key_and_address(db):
    _, raw = ApiKey.issue("ops-ci", "write")
    key = ApiKey.objects.get(name="ops-ci")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="127.0.0.5")
    positions = parked(1, name="api.sub")
    json = "application/json"
    assert (
        api.post("/api/v1/subscriptions/", {"name": "api.new"}, content_type=json).status_code
        == 201
    )
    assert api.post("/api/v1/subscriptions/api.new/pause").json()["status"] == "paused"
    assert api.post("/api/v1/subscriptions/api.new/resume").json()["paused"] is False
    api.post("/api/v1/subscriptions/api.new/reset", {"to": "end"}, content_type=json)
    api.post(f"/api/v1/subscriptions/api.sub/parked/{positions[0]}/retry")
    api.post(f"/api/v1/subscriptions/api.sub/parked/{positions[0]}/skip")
    assert api.delete("/api/v1/subscriptions/api.new").status_code == 204
    api.post("/api/v1/subscriptions/api.sub/next")  # reads are not audited
    trail = list(AuditRecord.objects.order_by("id"))
    assert [r.action for r in trail] == [
        "subscription.create",
        "subscription.pause",
        "subscription.resume",
        "subscription.reset",
        "parked.retry",
        "parked.skip",
        "subscription.delete",
    ]
    assert {r.actor for r in trail} == {f"key:ops-ci#{key.pk}"}
    assert {(r.interface, r.ip) for r in trail} == {("api", "127.0.0.5")}
    # A read key may not pause, and a refused action leaves no record.
    _, reader = ApiKey.issue("ops-reader", "read")
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {reader}").post(
        "/api/v1/subscriptions/api.sub/pause"
    )
    assert refused.status_code == 403
    assert AuditRecord.objects.count() == len(trail)


def test_key_create_and_revoke_are_audited_from_the_admin_and_the_cli(db, admin_client):
    admin_client.post(
        "/admin/api/apikey/add/", {"name": "from-admin", "scope": "read", "active": "on"}
    )
    key = ApiKey.objects.get(name="from-admin")
    admin_client.post(
        f"/admin/api/apikey/{key.pk}/change/", {"name": "from-admin", "scope": "read"}
    )
    call_command("flipbook_key", "create", "from-cli")
    cli_key = ApiKey.objects.get(name="from-cli")
    call_command("flipbook_key", "revoke", cli_key.key_id)
    trail = [(r.interface, r.action, r.target) for r in AuditRecord.objects.order_by("id")]
    assert trail == [
        ("admin", "key.create", f"from-admin ({key.key_id})"),
        ("admin", "key.revoke", f"from-admin ({key.key_id})"),
        ("cli", "key.create", f"from-cli ({cli_key.key_id})"),
        ("cli", "key.revoke", f"from-cli ({cli_key.key_id})"),
    ]
    # The admin shows the trail, read-only.
    listing = admin_client.get("/admin/api/auditrecord/")
    assert listing.status_code == 200 and "from-cli" in listing.content.decode()
    assert admin_client.get("/admin/api/auditrecord/add/").status_code == 403


def test_snapshot_rebuild_is_audited(db):
    services.append_to_stream("ops-doc", [{"name": "Set", "payload": {"a": 1}}])
    client = client_for("operator")
    response = client.post("/data/snapshots/drift?stream=ops-doc")
    assert response.status_code == 200
    record = AuditRecord.objects.get(action="snapshot.rebuild")
    assert (record.actor, record.target) == ("operator-user", "ops-doc")


def test_the_groups_hold_the_documented_permissions(db):
    viewer = user_with_role("v", "viewer")
    operator = user_with_role("o", "operator")
    admin = user_with_role("a", "admin")
    assert viewer.has_perm("api.view_auditrecord") and not viewer.has_perm(
        "api.operate_subscriptions"
    )
    assert operator.has_perm("api.operate_subscriptions") and operator.has_perm(
        "api.rebuild_snapshots"
    )
    assert not operator.has_perm("api.add_apikey")
    assert admin.has_perm("api.add_apikey") and admin.has_perm("api.operate_subscriptions")
    assert not admin.has_perm("api.change_auditrecord")


def test_an_audit_record_opens_read_only_in_the_admin(db, admin_client):
    record = AuditRecord.objects.create(
        actor="ada",
        interface="console",
        action="subscription.reset",
        target="s",
        details={"to": "end", "checkpoint_after": 7},
    )
    page = admin_client.get(f"/admin/api/auditrecord/{record.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "&quot;checkpoint_after&quot;: 7" in html and 'name="actor"' not in html


def test_the_rest_api_resets_to_a_time_and_refuses_a_bad_one(db):
    _, raw = ApiKey.issue("ops-timer", "write")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    services.append_to_stream("ops-rt", [{"name": "A"}])
    subs.create_subscription("rest.timed", start="end")
    json = "application/json"
    url = "/api/v1/subscriptions/rest.timed/reset"
    done = api.post(url, {"to": {"at": "2000-01-01T00:00:00Z"}}, content_type=json)
    assert done.status_code == 200 and done.json()["checkpoint"] == 0
    bad = api.post(url, {"to": {"at": "soon"}}, content_type=json)
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["error"]["message"]
    # Create's start takes no time: only a reset does.
    refused = api.post(
        "/api/v1/subscriptions/",
        {"name": "rest.timed2", "start": {"at": "2000-01-01T00:00:00Z"}},
        content_type=json,
    )
    assert refused.status_code == 400
