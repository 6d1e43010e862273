"""Item 7: an `id_conflict` on an event stored where the caller cannot read says only that
the id is taken. Event ids are unique store-wide, so "taken" cannot be hidden without
breaking the contract; everything else (stream, version, position, name, content, even
whether the stored event is the caller's own) must be.

The probes below send the same request with ids stored in three places: in another tenant's
stream, in a third tenant's stream with other content and kind, and in the caller's own
stream with other content. With the id itself replaced, the three answers must be equal
byte for byte (REST body; gRPC code, message and error metadata), on every backend."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest

from api.models import ApiKey
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from streams import services
from streams.backends import get_event_store
from tests.api.conftest import db_backend  # noqa: F401  (SQLite, PostgreSQL, DynamoDB, Redis)
from tests.api.grpc_helpers import WAIT, bearer, event_store_stub, running_server
from tests.api.rest_helpers import Api
from tests.dynamodb_fixtures import dynamodb_client, dynamodb_local  # noqa: F401  (fixtures)

PROBE = "tenant-a/probe"
SECRET_NAME, SECRET_VALUE, SECRET_META = "SalaryPaid", 987654321, "payroll-robot"


@pytest.fixture
def taken(db_backend) -> dict[str, str]:  # noqa: F811
    """Ids stored in two foreign streams and in one of the tenant's own, by kind of place."""
    foreign, third, own = (str(uuid.uuid4()) for _ in range(3))
    services.append_to_stream(
        "tenant-b/payroll",
        [
            {"name": "Opened"},
            {
                "name": SECRET_NAME,
                "payload": {"amount": SECRET_VALUE},
                "metadata": {"actor": SECRET_META},
                "timestamp": "2024-05-01T10:00:00Z",
                "id": foreign,
            },
        ],
        category="payroll",
    )
    services.append_to_stream(
        "tenant-c/log", [{"name": "Other", "payload": [1, 2, 3], "id": third}], kind="neutral"
    )
    services.append_to_stream("tenant-a/own", [{"name": "Mine", "payload": 1, "id": own}])
    services.append_to_stream(PROBE, [{"name": "Start"}])
    return {"foreign": foreign, "third": third, "own": own}


@pytest.fixture
def tenant_key(db_backend) -> str:  # noqa: F811
    return ApiKey.issue("tenant", "write", "tenant-a/")[1]


def without(text: str, event_id: str) -> str:
    assert event_id in text, text  # the caller's own id may be named: it sent it
    return text.replace(event_id, "<id>")


def assert_nothing_of_the_stored_event(text: str) -> None:
    for secret in ("tenant-b", "tenant-c", "payroll", SECRET_NAME, str(SECRET_VALUE), SECRET_META):
        assert secret not in text, (secret, text)
    for word in ("position", "version", "stream", "recorded", "2024-05-01"):
        assert word not in text.lower(), (word, text)


def rest_probe(key: str, event_id: str, *, with_unnamed: bool = False) -> str:
    events = [{"name": "Probe", "payload": {"x": 1}, "id": event_id}]
    if with_unnamed:
        events.append({"name": "Unnamed"})
    response = Api(key).append(PROBE, events)
    assert response.status_code == 409, response.content
    body = json.loads(response.content)
    assert body["error"]["code"] == "id_conflict"
    assert body["error"]["details"] == {"event_ids": [event_id]}
    assert_nothing_of_the_stored_event(response.content.decode())
    return without(response.content.decode(), event_id)


def test_rest_id_conflict_outside_the_callers_scope_says_only_that_the_id_is_taken(
    taken, tenant_key
):
    answers = {place: rest_probe(tenant_key, event_id) for place, event_id in taken.items()}
    assert answers["foreign"] == answers["third"] == answers["own"], answers
    # The same holds for a commit that cannot be a re-send (events without ids too).
    mixed = {
        place: rest_probe(tenant_key, event_id, with_unnamed=True)
        for place, event_id in taken.items()
    }
    assert mixed["foreign"] == mixed["third"] == mixed["own"], mixed
    # Nothing was stored by the probes.
    assert services.stream_head(PROBE).version == 1


def test_rest_commit_id_conflict_is_the_same_for_foreign_and_own_ids(taken, tenant_key):
    def probe(event_id: str) -> str:
        free = str(uuid.uuid4())
        body = {
            "streams": [
                {"stream_id": "tenant-a/x", "events": [{"name": "A", "id": free}]},
                {"stream_id": PROBE, "events": [{"name": "B", "payload": 2, "id": event_id}]},
            ]
        }
        response = Api(tenant_key).post("/api/v1/commits", body)
        assert response.status_code == 409, response.content
        text = response.content.decode()
        assert_nothing_of_the_stored_event(text)
        assert json.loads(text)["error"]["code"] == "id_conflict"
        # A commit that is not the stored one names its ids alike, free or taken.
        return without(text, event_id).replace(free, "<free>")

    answers = {place: probe(event_id) for place, event_id in taken.items()}
    assert answers["foreign"] == answers["third"] == answers["own"], answers
    with pytest.raises(Exception):  # noqa: B017 (NotFound: the commit stored nothing)
        services.stream_head("tenant-a/x")


def test_a_key_cannot_confirm_a_foreign_events_content_by_resending_it(taken, tenant_key):
    """A re-send that matches the stored event exactly would answer `duplicate`: the key
    may not write there at all, so it gets the same 403 as for any other foreign stream."""
    exact = [
        {"name": "Opened"},
        {
            "name": SECRET_NAME,
            "payload": {"amount": SECRET_VALUE},
            "metadata": {"actor": SECRET_META},
            "timestamp": "2024-05-01T10:00:00Z",
            "id": taken["foreign"],
        },
    ]
    stored = Api(tenant_key).append("tenant-b/payroll", exact)
    guessed = Api(tenant_key).append("tenant-b/nothing-here", exact)
    assert stored.status_code == guessed.status_code == 403
    strip = lambda r: json.loads(r.content)["error"]["code"]  # noqa: E731
    assert strip(stored) == strip(guessed) == "permission_denied"


def grpc_probe(store, key: str, event_id: str) -> tuple[grpc.StatusCode, str, str]:
    request = pb.AppendRequest(
        stream_id=PROBE, events=[pb.NewEvent(name="Probe", payload=b'{"x":1}', id=event_id)]
    )
    with pytest.raises(grpc.RpcError) as refused:
        store.Append(request, metadata=bearer(key), timeout=WAIT)
    error = refused.value
    trailing = [
        (k, v.decode() if isinstance(v, bytes) else v)
        for k, v in error.trailing_metadata() or ()
        if k == "flipbook-error-bin"
    ]
    assert len(trailing) == 1, error.trailing_metadata()
    detail = trailing[0][1]
    assert json.loads(detail)["details"] == {"event_ids": [event_id]}
    assert_nothing_of_the_stored_event(error.details() + detail)
    return error.code(), without(error.details(), event_id), without(detail, event_id)


def test_grpc_id_conflict_outside_the_callers_scope_says_only_that_the_id_is_taken(
    taken, tenant_key
):
    with running_server() as port, event_store_stub(port) as store:
        answers = {
            place: grpc_probe(store, tenant_key, event_id) for place, event_id in taken.items()
        }
    assert answers["foreign"][0] == grpc.StatusCode.ALREADY_EXISTS
    assert answers["foreign"] == answers["third"] == answers["own"], answers


def test_rest_and_grpc_say_the_same(taken, tenant_key):
    rest = json.loads(rest_probe(tenant_key, taken["foreign"]))["error"]
    with running_server() as port, event_store_stub(port) as store:
        _code, message, detail = grpc_probe(store, tenant_key, taken["foreign"])
    assert json.loads(detail) == rest
    assert message == rest["message"]


def test_the_conflict_never_reads_an_event_stored_in_another_stream(taken, tenant_key, monkeypatch):
    """The answer's time must not grow with the size of an event the caller cannot read:
    the store looks up where the ids are stored (no payload) and reads only the events
    stored in the streams the commit names (an exact re-send still is a duplicate)."""
    store = get_event_store()
    assert store.find_event_streams([uuid.UUID(taken["foreign"]), uuid.uuid4()]) == {
        uuid.UUID(taken["foreign"]): "tenant-b/payroll"
    }
    read: list[uuid.UUID] = []
    real = store.find_events

    def recording(ids):
        read.extend(ids)
        return real(ids)

    monkeypatch.setattr(store, "find_events", recording)
    for event_id in (taken["foreign"], taken["third"]):
        rest_probe(tenant_key, event_id)
    assert read == []
    # The caller's own event, re-sent exactly to its own stream: read, matched, a duplicate.
    again = Api(tenant_key).append(
        "tenant-a/own", [{"name": "Mine", "payload": 1, "id": taken["own"]}]
    )
    assert again.status_code == 200 and json.loads(again.content)["duplicate"] is True
    assert read == [uuid.UUID(taken["own"])]
