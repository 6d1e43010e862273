"""REST: a stream's retention policy (GET/PUT/DELETE streams/{id}/retention) and POST
scavenges, with their errors, who may call them and their audit records."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

import json

from api.models import AuditRecord
from tests.api.rest_helpers import (  # noqa: F401
    KEY_PREFIX_STREAMS,
    Api,
    api,
    error_of,
    events,
    keys,
    stream_url,
)


def body_of(response) -> dict:
    return json.loads(response.content)


def test_set_read_and_clear_a_stream_policy(api, settings):
    settings.FLIPBOOK_RETENTION = {"orders": {"max_count": 10}}
    api.append("orders/1", events("A", "B", "C"), category="orders")
    url = stream_url("orders/1", "/retention")
    before = body_of(api.get(url))
    assert (before["source"], before["max_count"], before["category"]) == ("category", 10, "orders")
    response = api.put(url, {"max_count": 1, "max_age": 86400})
    assert response.status_code == 200
    policy = body_of(response)
    assert (policy["source"], policy["max_count"], policy["max_age"]) == ("stream", 1, 86400)
    assert policy["updated_at"]
    assert body_of(api.get(url)) == policy
    # A PUT replaces the whole policy: a key left out is unset.
    assert body_of(api.put(url, {"max_count": 2}))["max_age"] is None
    cleared = api.client.delete(url, headers=api.headers({}))
    assert cleared.status_code == 200
    assert (body_of(cleared)["source"], body_of(cleared)["max_count"]) == ("category", 10)
    again = api.client.delete(url, headers=api.headers({}))
    assert again.status_code == 404 and error_of(again)["code"] == "not_found"
    assert body_of(api.get(stream_url("nothing/here", "/retention")))["source"] == "none"
    actions = list(
        AuditRecord.objects.filter(target="orders/1")
        .order_by("id")
        .values_list("action", "details")
    )
    assert [a for a, _ in actions] == [
        "stream.retention_set",
        "stream.retention_set",
        "stream.retention_clear",
    ]
    assert actions[0][1] == {"max_age": 86400, "max_count": 1}


def test_policy_validation_answers_400(api):
    url = stream_url("v/1", "/retention")
    for body in (
        {},
        {"max_count": 0},
        {"max_age": -5},
        {"max_count": "3"},
        {"max_count": True},
        {"max_count": 1.5},
        {"max_count": None, "max_age": None},
        {"max_count": 1, "keep": 2},
        [1],
    ):
        response = api.put(url, body)
        assert response.status_code == 400, body
        assert error_of(response)["code"] == "validation_error", body
    assert api.put(url, "{not json").status_code == 400
    assert api.put(url, "x", content_type="text/plain").status_code == 415
    assert body_of(api.get(url))["source"] == "none"  # nothing was stored
    api.append("v/gone", events("A"))
    api.client.delete(stream_url("v/gone") + "?hard=true", headers=api.headers({}))
    gone = api.put(stream_url("v/gone", "/retention"), {"max_count": 1})
    assert gone.status_code == 410 and error_of(gone)["code"] == "stream_deleted"


def test_a_policy_through_the_api_is_what_a_scavenge_applies(keys):
    admin = Api(keys["admin"])
    admin.append("s/1", events(*"ABCDE"))
    admin.put(stream_url("s/1", "/retention"), {"max_count": 2})
    response = admin.post("/api/v1/scavenges", {"batch": 1})
    assert response.status_code == 200
    assert body_of(response) == {
        "truncated_streams": 1,
        "scavenged_streams": 1,
        "removed_events": 3,
        "complete": True,
    }
    read = body_of(admin.get(stream_url("s/1", "/events")))
    assert [e["version"] for e in read["events"]] == [4, 5]
    record = AuditRecord.objects.get(action="store.scavenge")
    assert record.details["removed_events"] == 3 and record.actor.startswith("key:")


def test_a_scavenge_request_is_bounded_by_its_limit(keys):
    admin = Api(keys["admin"])
    for n in range(3):
        admin.append(f"lim/{n}", events(*"ABCD"))
        admin.client.delete(stream_url(f"lim/{n}") + "?hard=true", headers=admin.headers({}))
    first = body_of(admin.post("/api/v1/scavenges", {"limit": 5}))
    assert (first["removed_events"], first["complete"]) == (5, False)
    second = body_of(admin.post("/api/v1/scavenges", {}))
    assert (second["removed_events"], second["complete"]) == (7, True)
    for body in ({"limit": 0}, {"limit": 100_001}, {"batch": 0}, {"batch": "x"}, {"all": 1}):
        response = admin.post("/api/v1/scavenges", body)
        assert response.status_code == 400, body
        assert error_of(response)["code"] == "validation_error"


def test_who_may_set_read_clear_and_scavenge(keys):
    admin = Api(keys["admin"])
    mine, other = KEY_PREFIX_STREAMS + "doc", "tenant-b/doc"
    expected = {
        None: (401, 401, 401),
        "read": (403, 403, 200),
        "prefix_read": (403, 403, 200),
        "prefix": (200, 403, 200),
        "write": (200, 200, 200),
    }
    for key, (on_mine, on_other, read_mine) in expected.items():
        caller = Api(keys[key] if key else None)
        assert caller.get(stream_url(mine, "/retention")).status_code == read_mine, key
        for sid, status in ((mine, on_mine), (other, on_other)):
            url = stream_url(sid, "/retention")
            assert caller.put(url, {"max_age": 60}).status_code == status, (key, sid)
            if status == 200:
                cleared = caller.client.delete(url, headers=caller.headers({}))
                assert cleared.status_code == 200
            else:
                admin.put(url, {"max_age": 60})
                refused = caller.client.delete(url, headers=caller.headers({}))
                assert refused.status_code == status, (key, sid)
                error_of(refused)
                admin.client.delete(url, headers=admin.headers({}))
    # Scavenging touches every stream: admin keys only.
    for key in (None, "read", "write", "prefix"):
        response = Api(keys[key] if key else None).post("/api/v1/scavenges", {})
        assert response.status_code == (401 if key is None else 403), key
        error_of(response)
    assert admin.post("/api/v1/scavenges", b"").status_code == 200  # no body at all
    assert admin.post("/api/v1/scavenges", "null").status_code == 400
