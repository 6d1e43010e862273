"""The admin of streams' own retention policies: adds, changes and removals go through the
store service (its validation, a tombstone refused) and into the audit trail."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from api.models import AuditRecord
from streams import lifecycle, services
from streams.models import StreamRetention

ADD = "/admin/streams/streamretention/add/"


@pytest.fixture
def superuser_client(db):
    user = get_user_model().objects.create_superuser("root", "r@example.com", "pw-12345")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_add_change_and_delete_a_policy_in_the_admin(superuser_client):
    services.append_to_stream("adm/kept", [{"name": "A"}] * 3)
    response = superuser_client.post(
        ADD, {"stream_id": "adm/kept", "max_age": "", "max_count": "2"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = lifecycle.stream_retention("adm/kept")
    assert (policy.source, policy.max_count, policy.max_age) == ("stream", 2, None)
    row = StreamRetention.objects.get(stream_id="adm/kept")
    change = f"/admin/streams/streamretention/{row.pk}/change/"
    assert superuser_client.get(change).status_code == 200
    response = superuser_client.post(change, {"max_age": "3600", "max_count": ""})
    assert response.status_code == 302
    assert lifecycle.stream_retention("adm/kept").max_age == 3600
    response = superuser_client.post(
        f"/admin/streams/streamretention/{row.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert lifecycle.stream_retention("adm/kept").source == "none"
    trail = list(
        AuditRecord.objects.order_by("id").values_list("interface", "action", "target", "actor")
    )
    assert trail == [
        ("admin", "stream.retention_set", "adm/kept", "root"),
        ("admin", "stream.retention_set", "adm/kept", "root"),
        ("admin", "stream.retention_clear", "adm/kept", "root"),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_admin_refuses_what_the_service_refuses(superuser_client):
    for fields in ({"max_age": "", "max_count": ""}, {"max_age": "0", "max_count": ""}):
        response = superuser_client.post(ADD, {"stream_id": "adm/bad", **fields})
        assert response.status_code == 200 and b"errornote" in response.content, fields
    services.append_to_stream("adm/gone", [{"name": "A"}])
    lifecycle.delete_stream("adm/gone", hard=True)
    response = superuser_client.post(
        ADD, {"stream_id": "adm/gone", "max_age": "60", "max_count": ""}
    )
    assert response.status_code == 200 and b"deleted" in response.content
    assert not StreamRetention.objects.exists()
    assert not AuditRecord.objects.exists()
