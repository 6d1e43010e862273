"""The timeline's Delete button (staff only, confirmed by the stream id), the admin's delete
actions, and the `scavenge` and `delete` commands."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from streams import lifecycle, services
from streams.exceptions import NotFound, StreamDeleted
from streams.models import Stream


def login(staff: bool) -> Client:
    name = "operator" if staff else "viewer"
    user = get_user_model().objects.create_user(name, password="pw", is_staff=staff)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post_delete(client: Client, stream_id: str, **fields):
    page = client.get("/timeline/", {"stream": stream_id})
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    data = {"stream": stream_id, "csrfmiddlewaretoken": token, **fields}
    return page, client.post("/streams/delete", data)


def test_staff_delete_a_stream_from_its_timeline_after_confirming(db_backend):
    services.append_to_stream("doc/1", [{"name": "A"}])
    services.append_to_stream("doc/2", [{"name": "A"}])
    operator = login(staff=True)
    page, response = post_delete(operator, "doc/1", confirm="doc/2")
    assert 'id="delete-stream"' in page.content.decode()
    assert response.status_code == 400 and "type the stream id" in response.content.decode()
    assert services.stream_head("doc/1").version == 1
    _, response = post_delete(operator, "doc/1", confirm="doc/1")
    assert response.status_code == 302 and "deleted=doc%2F1" in response["Location"]
    assert "was deleted" in operator.get(response["Location"]).content.decode()
    with pytest.raises(NotFound):
        services.stream_head("doc/1")
    _, response = post_delete(operator, "doc/2", confirm="doc/2", hard="on")
    assert response.status_code == 302
    with pytest.raises(StreamDeleted):
        services.append_to_stream("doc/2", [{"name": "B"}])
    _, response = post_delete(operator, "doc/2", confirm="doc/2")
    assert response.status_code == 410


def test_only_staff_see_and_may_use_the_delete(db_backend):
    services.append_to_stream("doc/3", [{"name": "A"}])
    viewer = login(staff=False)
    page, response = post_delete(viewer, "doc/3", confirm="doc/3")
    assert 'id="delete-stream"' not in page.content.decode()
    assert response.status_code == 403
    assert services.stream_head("doc/3").version == 1
    assert viewer.get("/streams/delete").status_code == 405


@pytest.fixture
def superuser_client(db):
    user = get_user_model().objects.create_superuser("root", "r@example.com", "pw-12345")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_admin_soft_and_hard_delete_actions(superuser_client):
    for sid in ("adm/1", "adm/2"):
        services.append_to_stream(sid, [{"name": "A"}, {"name": "B"}])
    pks = {s.stream_id: s.pk for s in Stream.objects.all()}
    changelist = "/admin/streams/stream/"
    response = superuser_client.post(
        changelist, {"action": "delete_soft", "_selected_action": [pks["adm/1"]]}
    )
    assert response.status_code == 302
    response = superuser_client.post(
        changelist, {"action": "delete_hard", "_selected_action": [pks["adm/2"]]}
    )
    assert response.status_code == 302
    with pytest.raises(NotFound):
        services.stream_head("adm/1")
    with pytest.raises(StreamDeleted):
        services.stream_head("adm/2")
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    plain = Client()
    plain.force_login(staff)
    assert plain.get(changelist).status_code == 403  # no view permission, no actions


@pytest.mark.django_db(transaction=True)
def test_scavenge_and_delete_commands():
    services.append_to_stream("cmd/1", [{"name": "A"}] * 3)
    services.append_to_stream("cmd/2", [{"name": "A"}] * 2)
    out = StringIO()
    call_command("delete", "cmd/1", "--hard", "--output", "json", stdout=out)
    assert json.loads(out.getvalue())["deleted"] == "hard"
    with pytest.raises(CommandError, match="stream_deleted"):
        call_command("delete", "cmd/1", stdout=StringIO())
    with pytest.raises(CommandError, match="not_found"):
        call_command("delete", "cmd/none", stdout=StringIO())
    lifecycle.truncate_stream("cmd/2", 2)
    out = StringIO()
    call_command("scavenge", "--batch", "1", stdout=out)
    text = out.getvalue()
    assert "removed 1 events" in text and "4 events removed from 2 streams" in text
    out = StringIO()
    call_command("scavenge", "--output", "json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "truncated_streams": 0,
        "scavenged_streams": 0,
        "removed_events": 0,
        "complete": True,
    }
