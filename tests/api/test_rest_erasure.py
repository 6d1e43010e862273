"""Erasure through REST (admin keys only) and what every read interface shows afterwards:
REST events, latest, the all-feed and state, and gRPC's Read, on every backend."""

from __future__ import annotations

import json

import pytest

from api.models import ApiKey, AuditRecord
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from streams.personal_data.models import Erasure
from tests.api.grpc_helpers import WAIT, bearer, event_store_stub, running_server
from tests.api.rest_helpers import BASE, Api, api, error_of, keys, stores, stream_url  # noqa: F401

EMAIL = "dana.erasable@example.com"
ERASURES = f"{BASE}/erasures"


@pytest.fixture(autouse=True)
def personal_settings(settings):
    settings.FLIPBOOK_PERSONAL_DATA = {
        "CATEGORIES": {"member": {"fields": ["$.email", "$.name"], "subject": "$.member"}}
    }


def seed(writer: Api) -> None:
    response = writer.append(
        "member/1",
        [
            {"name": "Joined", "payload": {"member": "m-1", "email": EMAIL, "name": "Dana"}},
            {"name": "Upgraded", "payload": {"member": "m-1", "tier": 2}},
            {
                "name": "Noted",
                "payload": {"note": {"by": "Dana Erasable"}, "n": 1},
                "metadata": {"personal_data": {"subject": "m-1", "fields": ["$.note.by"]}},
            },
        ],
        category="member",
    )
    assert response.status_code == 201, response.content
    # Append answers are slim: where each event went, none of its (personal) content.
    assert EMAIL not in response.content.decode()
    assert set(response.json()["events"][0]) == {"id", "version", "position", "recorded_at"}


def test_erasure_over_rest_and_every_read_after_it(keys, stores):  # noqa: F811
    reader = Api(keys["write"])
    admin = Api(keys["admin"])
    seed(reader)
    events = reader.get(stream_url("member/1", "/events")).json()["events"]
    assert events[0]["payload"]["email"] == EMAIL
    assert admin.get(stream_url("member/1", "/state")).json()["state"]["email"] == EMAIL
    response = admin.post(ERASURES, {"subject": "m-1"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["subject"], body["keys_destroyed"], body["streams"]) == ("m-1", 1, 1)
    assert body["erased_by"].startswith("key:admin#")
    audit = Erasure.objects.get(pk=body["audit_id"])
    assert (audit.via, audit.subject) == ("api", "m-1")
    trail = AuditRecord.objects.get(action="subject.erase")
    assert (trail.actor, trail.interface, trail.target) == (body["erased_by"], "api", "m-1")

    reads = [
        reader.get(stream_url("member/1", "/events")),
        reader.get(stream_url("member/1", "/events/latest")),
        reader.get(f"{BASE}/events"),
        reader.get(stream_url("member/1", "/state")),
        reader.get(stream_url("member/1", "/events"), {"format": "ndjson"}),
    ]
    for response in reads:
        assert response.status_code == 200, response.content
        if response.streaming:
            text = b"".join(response.streaming_content).decode()
            assert text.count("\n") == 3  # three events
        else:
            text = response.content.decode()
        assert EMAIL not in text and "Dana" not in text, text
    events = reads[0].json()["events"]
    assert [e["version"] for e in events] == [1, 2, 3]
    assert events[0]["payload"] == {
        "member": "m-1",
        "email": {"erased": True},
        "name": {"erased": True},
    }
    assert events[1]["payload"] == {"member": "m-1", "tier": 2}
    assert events[2]["payload"] == {"note": {"by": {"erased": True}}, "n": 1}
    assert reads[3].json()["state"]["tier"] == 2

    again = admin.post(ERASURES, {"subject": "m-1"})
    assert again.status_code == 404
    assert error_of(again)["code"] == "not_found"


def test_erasure_needs_an_unrestricted_admin_key_and_a_subject(keys, db_backend):  # noqa: F811
    seed(Api(keys["write"]))
    for key in ("read", "write"):
        response = Api(keys[key]).post(ERASURES, {"subject": "m-1"})
        assert response.status_code == 403, key
    restricted = ApiKey.issue("tenant admin", "admin", "tenant-a/")[1]
    assert Api(restricted).post(ERASURES, {"subject": "m-1"}).status_code == 403
    assert Api(None).post(ERASURES, {"subject": "m-1"}).status_code == 401
    admin = Api(keys["admin"])
    for body, field in [
        ({}, "subject"),
        ({"subject": ""}, "subject"),
        ({"subject": 5}, "subject"),
        ({"subject": "m-1", "also": 1}, "also"),
        ([], "body"),
    ]:
        response = admin.post(ERASURES, body)
        assert response.status_code == 400, (body, response.content)
        assert error_of(response)["details"]["field"] == field
    assert admin.post(ERASURES, {"subject": "never-seen"}).status_code == 404
    assert not Erasure.objects.exists()  # refusals erase nothing
    assert not AuditRecord.objects.filter(action="subject.erase").exists()
    assert (
        Api(keys["read"])
        .get(stream_url("member/1", "/events"))
        .json()["events"][0]["payload"]["email"]
        == EMAIL
    )


def test_bad_personal_data_marker_is_a_400(api, db_backend):  # noqa: F811
    response = api.append(
        "member/2",
        [{"name": "A", "payload": {"a": 1}, "metadata": {"personal_data": {"fields": ["a.b"]}}}],
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["details"]["field"] == "events[0].metadata.personal_data.fields[0]"
    assert "must start at the root" in error["message"]
    response = api.append(
        "member/3", [{"name": "Joined", "payload": {"email": EMAIL}}], category="member"
    )
    assert response.status_code == 400
    assert error_of(response)["details"]["field"] == "events[0].payload"


@pytest.fixture(scope="module")
def stub():
    with running_server() as port, event_store_stub(port) as stub:
        yield stub


def test_grpc_reads_show_the_erased_marker(stub, keys, db_backend):  # noqa: F811
    seed(Api(keys["write"]))
    auth = bearer(keys["admin"])

    def read() -> list:
        request = pb.ReadRequest(stream_id="member/1")
        responses = stub.Read(request, metadata=auth, timeout=WAIT)
        return [json.loads(r.event.payload) for r in responses if r.HasField("event")]

    assert read()[0]["email"] == EMAIL
    assert Api(keys["admin"]).post(ERASURES, {"subject": "m-1"}).status_code == 201
    payloads = read()
    assert payloads[0] == {"member": "m-1", "email": {"erased": True}, "name": {"erased": True}}
    assert payloads[1] == {"member": "m-1", "tier": 2}
    latest = stub.GetLatest(pb.GetLatestRequest(stream_id="member/1"), metadata=auth, timeout=WAIT)
    assert json.loads(latest.payload)["note"]["by"] == {"erased": True}
