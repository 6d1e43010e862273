"""Exports and personal data in the console, through Django's test client and a real socket:
the export permission per role (taken away at runtime by an admin) beside
FLIPBOOK_CONSOLE_EXPORT, and fields marked personal masked in the feed browser, the timeline,
the replay viewer, live sockets and exports for every role but admin."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from django.test import Client

from streams import services
from streams.personal_data.masking import MASKED, mask_event
from streams.records import RecordedEvent
from tests.console.roles import user_with_role
from tests.console.test_console_feed import collect
from tests.console.test_event_bus import open_socket, receive_events, until_caught_up

EMAIL = "ada@example.com"
# The event's own marker: no category declaration needed (streams/personal_data).
MARKED = {"personal_data": {"fields": ["$.email", "$.phones[*]"]}}


def login(username: str, role: str) -> Client:
    client = Client()
    client.force_login(user_with_role(username, role))
    return client


@pytest.fixture
def members(db_backend) -> list:
    services.append_to_stream(
        "member-1",
        [
            {
                "name": "Joined",
                "payload": {"email": EMAIL, "phones": ["+1 555"], "plan": "gold"},
                "metadata": MARKED,
            },
            {"name": "Upgraded", "payload": {"plan": "platinum"}},
        ],
        category="member",
    )
    return list(services.iter_all())


def test_mask_event_replaces_each_marked_location():
    payload = {"email": EMAIL, "phones": ["a", "b"], "plan": "gold"}
    event = RecordedEvent(
        "s", 1, None, "Joined", payload, MARKED, uuid.uuid4(), 1, datetime.now(UTC)
    )
    masked = mask_event(event)
    assert masked.payload == {"email": MASKED, "phones": [MASKED, MASKED], "plan": "gold"}
    assert event.payload["email"] == EMAIL  # the original is left alone
    plain = event._replace(metadata={})
    assert mask_event(plain) is plain


def test_viewer_gets_no_export_and_a_403(members):
    viewer = login("v", "viewer")
    page = viewer.get("/feed/")
    assert page.status_code == 200
    assert b"export-csv" not in page.content and b"export-jsonl" not in page.content
    response = viewer.get("/feed/export", {"format": "jsonl"})
    assert response.status_code == 403
    assert "export" in response.json()["error"]["message"]


def test_an_admin_switches_export_off_for_a_role_at_runtime(members):
    operator = login("o", "operator")
    assert b"export-csv" in operator.get("/feed/").content
    assert operator.get("/feed/export", {"format": "csv"}).status_code == 200
    permission = Permission.objects.get(content_type__app_label="api", codename="export_events")
    Group.objects.get(name="operator").permissions.remove(permission)
    again = login("o2", "operator")  # permissions are cached per user object: a fresh login
    assert b"export-csv" not in again.get("/feed/").content
    assert again.get("/feed/export", {"format": "csv"}).status_code == 403


def test_exports_mask_personal_fields_unless_admin(members):
    operator = login("o", "operator")
    body = collect(operator.get("/feed/export", {"format": "jsonl"}))
    first = json.loads(body.decode().splitlines()[0])
    assert first["payload"] == {"email": MASKED, "phones": [MASKED], "plan": "gold"}
    assert EMAIL.encode() not in body
    csv_body = collect(operator.get("/feed/export", {"format": "csv"}))
    rows = list(csv.DictReader(io.StringIO(csv_body.decode())))
    assert json.loads(rows[0]["payload"])["email"] == MASKED
    assert EMAIL not in csv_body.decode()
    admin = login("a", "admin")
    body = collect(admin.get("/feed/export", {"format": "jsonl"}))
    assert json.loads(body.decode().splitlines()[0])["payload"]["email"] == EMAIL


@pytest.mark.parametrize("role, masked", [("viewer", True), ("operator", True), ("admin", False)])
def test_feed_event_timeline_and_replay_mask_by_role(members, role, masked):
    client = login("u", role)
    email = MASKED if masked else EMAIL
    feed = client.get("/data/feed").json()
    assert feed["events"][0]["payload"]["email"] == email
    assert feed["events"][1]["payload"] == {"plan": "platinum"}
    one = client.get("/data/event", {"position": members[0].position}).json()
    assert one["payload"]["phones"] == [MASKED if masked else "+1 555"]
    timeline = client.get("/data/events", {"stream": "member-1"}).json()
    assert timeline["events"][-1]["payload"]["email"] == email
    replay = client.get("/data/replay", {"stream": "member-1", "version": 1}).json()
    assert replay["steps"][0]["event"]["payload"]["email"] == email
    page = client.get("/feed/")
    assert (b'id="masked-note"' in page.content) is masked


@pytest.mark.asyncio
async def test_live_socket_masks_for_a_session_without_the_permission(transactional_db):
    def cookie_of(role: str) -> str:
        client = login(f"live-{role}", role)
        return client.cookies[django_settings.SESSION_COOKIE_NAME].value

    for role, email in (("viewer", MASKED), ("admin", EMAIL)):
        cookie = await sync_to_async(cookie_of)(role)
        headers = [(b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode())]
        comm = await open_socket("/ws/events", headers=headers)
        await comm.send_json_to({"type": "subscribe", "after": 0})
        caught, _ = await until_caught_up(comm)
        await sync_to_async(services.append_to_stream)(
            f"member-{role}",
            [{"name": "Joined", "payload": {"email": EMAIL}, "metadata": MARKED}],
        )
        live = await receive_events(comm, 1)
        assert live[-1]["payload"]["email"] == email
        for event in caught:
            assert event["payload"]["email"] == email
        await comm.disconnect()


def test_the_permissions_are_shown_on_the_admins_group_page(members):
    from django.contrib.auth import get_user_model

    login("seed", "viewer")  # makes the groups again after a flush
    admin = get_user_model().objects.create_superuser("root", password="pw")
    client = Client()
    client.force_login(admin)
    group = Group.objects.get(name="operator")
    page = client.get(f"/admin/auth/group/{group.pk}/change/")
    assert page.status_code == 200
    assert b"Can export events from the console" in page.content
    assert b"Can see personal fields unmasked in the console" in page.content
