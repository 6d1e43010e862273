"""Erasure as the console and the admin see it: the timeline's and the replay viewer's data,
the stream's admin page, the admin's erase action and its audit records."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from api.models import AuditRecord
from streams import services
from streams.models import Stream
from streams.personal_data.models import DataKey, Erasure

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "erin.console@example.com"


@pytest.fixture(autouse=True)
def personal_settings(settings):
    settings.FLIPBOOK_PERSONAL_DATA = {"CATEGORIES": {"patient": {"fields": ["$.email"]}}}


@pytest.fixture
def client() -> Client:
    user = get_user_model().objects.create_superuser("erasure-admin", "a@example.com", "pw-1234")
    c = Client()
    c.force_login(user)
    return c


def seed() -> None:
    # No subject path declared: the stream id is the subject.
    services.append_to_stream(
        "patient-7",
        [
            {"name": "Admitted", "payload": {"email": EMAIL, "ward": "B"}},
            {"name": "Moved", "payload": {"ward": "C"}},
        ],
        expected_version=0,
        category="patient",
    )


def pages(client: Client) -> list[str]:
    pk = Stream.objects.get(stream_id="patient-7").pk
    answers = [
        client.get("/data/events", {"stream": "patient-7"}),
        client.get("/data/replay", {"stream": "patient-7", "version": 1, "window": 1}),
        client.get(f"/admin/streams/stream/{pk}/change/"),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.content[:300]
    return [a.content.decode() for a in answers]


def test_admin_action_erases_and_every_page_shows_the_marker(client):
    seed()
    before = pages(client)
    assert all(EMAIL in text for text in before[:2])
    key = DataKey.objects.get(subject="patient-7")
    assert client.get("/admin/personal_data/datakey/").status_code == 200
    response = client.post(
        "/admin/personal_data/datakey/",
        {"action": "erase_subjects", "_selected_action": [key.pk]},
        follow=True,
    )
    assert "Erased patient-7: 1 key(s) destroyed" in response.content.decode()
    after = pages(client)
    for text in after:
        assert EMAIL not in text
    assert "erased" in after[0] and "erased" in after[1]
    assert '"ward": "C"' in after[0] or '"ward":"C"' in after[0]
    audit = Erasure.objects.get()
    assert (audit.subject, audit.erased_by, audit.via) == ("patient-7", "erasure-admin", "admin")
    trail = AuditRecord.objects.get(action="subject.erase")
    assert (trail.actor, trail.interface, trail.target) == ("erasure-admin", "admin", "patient-7")
    listing = client.get("/admin/personal_data/erasure/").content.decode()
    assert "patient-7" in listing and "erasure-admin" in listing
    # The audit cannot be edited or deleted, and keys cannot be deleted but by the action.
    assert client.get(f"/admin/personal_data/erasure/{audit.pk}/delete/").status_code == 403
    assert not DataKey.objects.exists()
