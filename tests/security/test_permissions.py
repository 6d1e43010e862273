"""Item 5: console writes are for staff (or the operator role, tests/console/test_console_ops.py)
only, and a key restricted to a stream prefix
touches only its own streams, whatever the operation, category included."""

from __future__ import annotations

import json

import grpc
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import Client

from api.models import ApiKey
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from streams import services
from tests.api.grpc_helpers import WAIT, bearer, event_store_stub, running_server
from tests.api.rest_helpers import Api, error_of, stream_url

pytestmark = pytest.mark.django_db(transaction=True)


def console_client(staff: bool) -> Client:
    client = Client(HTTP_HOST="localhost")
    name = f"{'staff' if staff else 'viewer'}-{User.objects.count()}"
    user = User.objects.create_user(name, password="x", is_staff=staff)
    client.force_login(user)
    return client


def rebuild(client: Client, stream_id: str):
    return client.post(f"/data/snapshots/drift?stream={stream_id}")


def test_non_staff_users_cannot_rebuild_snapshots():
    services.append_to_stream("w", [{"name": "E", "payload": {"n": 1}}])
    refused = rebuild(console_client(staff=False), "w")
    assert refused.status_code == 403
    assert json.loads(refused.content)["error"]["code"] == "permission_denied"
    page = console_client(staff=False).get("/snapshots/?stream=w")
    assert b'id="snap-rebuild"' not in page.content


def test_staff_users_can_rebuild_snapshots():
    services.append_to_stream("w", [{"name": "E", "payload": {"n": 1}}])
    client = console_client(staff=True)
    response = rebuild(client, "w")
    assert response.status_code == 200

    async def body() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    lines = [json.loads(line) for line in async_to_sync(body)().splitlines()]
    assert lines[-1]["type"] == "result", lines
    assert b'id="snap-rebuild"' in client.get("/snapshots/?stream=w").content


def test_non_staff_users_cannot_act_on_parked_events():
    client = console_client(staff=False)
    response = client.post("/subscriptions/", {"name": "x", "action": "retry", "position": "1"})
    assert response.status_code == 403
    assert b"your role may not change subscriptions" in response.content


# -- the prefix-scoped key matrix -----------------------------------------------------------------

OWN, OTHER = "tenant-a/1", "tenant-b/1"


@pytest.fixture
def tenant():
    return Api(ApiKey.issue("tenant", "write", "tenant-a/")[1])


@pytest.mark.parametrize(
    ("stream_id", "category", "status"),
    [
        (OWN, None, 201),
        (OWN, "wallet", 201),  # a category labels its own stream: allowed
        (OTHER, None, 403),
        (OTHER, "wallet", 403),
        ("tenant-a", None, 403),  # the prefix, not a stream under it
        ("TENANT-A/1", None, 403),
    ],
)
def test_prefix_key_append(tenant, stream_id, category, status):
    body = {"category": category} if category else {}
    response = tenant.append(stream_id, [{"name": "E"}], **body)
    assert response.status_code == status, response.content
    if status == 403:
        assert error_of(response)["code"] == "permission_denied"
        with pytest.raises(Exception):  # noqa: B017 (NotFound: nothing was stored)
            services.stream_head(stream_id)


def test_prefix_key_commit_to_another_tenant_stores_nothing(tenant):
    body = {
        "streams": [
            {"stream_id": OWN, "events": [{"name": "E"}]},
            {"stream_id": OTHER, "category": "wallet", "events": [{"name": "E"}]},
        ]
    }
    response = tenant.post("/api/v1/commits", body)
    assert response.status_code == 403
    assert services.list_streams(prefix="tenant-").items == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", stream_url(OTHER)),
        ("get", stream_url(OTHER, "/events")),
        ("get", stream_url(OTHER, "/events/latest")),
        ("get", stream_url(OTHER, "/state")),
        ("get", stream_url(OTHER, "/snapshots")),
        ("get", "/api/v1/events"),
        ("get", "/api/v1/events?category=wallet"),
        ("get", "/api/v1/subscriptions/"),
    ],
)
def test_prefix_key_reads_outside_its_prefix_are_refused(tenant, method, path):
    services.append_to_stream(OTHER, [{"name": "E"}], category="wallet")
    response = getattr(tenant, method)(path)
    assert response.status_code == 403, (path, response.content)


def test_prefix_key_listing_by_category_shows_only_its_streams(tenant):
    services.append_to_stream(OTHER, [{"name": "E"}], category="wallet")
    assert tenant.append(OWN, [{"name": "E"}], category="wallet").status_code == 201
    listed = json.loads(tenant.get("/api/v1/streams/?category=wallet").content)
    assert [s["stream_id"] for s in listed["streams"]] == [OWN]


def test_prefix_key_snapshot_put_outside_its_prefix_is_refused(tenant):
    services.append_to_stream(OTHER, [{"name": "E"}])
    response = tenant.put(stream_url(OTHER, "/snapshots"), {"version": 1, "payload": {}})
    assert response.status_code == 403


def test_prefix_key_subscription_create_is_refused(tenant):
    response = tenant.post("/api/v1/subscriptions/", {"name": "sneaky"})
    assert response.status_code == 403


def test_prefix_key_grpc_append_with_category_outside_its_prefix_is_refused():
    key = ApiKey.issue("tenant", "write", "tenant-a/")[1]
    request = pb.AppendRequest(stream_id=OTHER, category="wallet", events=[pb.NewEvent(name="E")])
    with running_server() as port, event_store_stub(port) as store:
        with pytest.raises(grpc.RpcError) as refused:
            store.Append(request, metadata=bearer(key), timeout=WAIT)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        request.stream_id = OWN
        store.Append(request, metadata=bearer(key), timeout=WAIT)
    assert services.stream_head(OWN).category == "wallet"
