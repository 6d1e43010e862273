"""REST: DELETE streams/{id} (soft, ?hard=true) and DELETE streams/{id}/events?before=N, with
their errors and who may call them."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

import json

from tests.api.rest_helpers import (  # noqa: F401
    KEY_PREFIX_STREAMS,
    Api,
    api,
    error_of,
    events,
    keys,
    stream_url,
)


def delete(api: Api, path: str):
    return api.client.delete(path, headers=api.headers({}))


def test_soft_delete_answers_404_until_an_append_starts_the_stream_again(api):
    assert api.append("doc/1", events("A", "B")).status_code == 201
    response = delete(api, stream_url("doc/1"))
    assert response.status_code == 200
    assert json.loads(response.content)["version"] == 2
    for path in (stream_url("doc/1"), stream_url("doc/1", "/events")):
        assert error_of(api.get(path))["code"] == "not_found"
    assert api.get(stream_url("doc/1", "/events/latest")).status_code == 404
    assert error_of(delete(api, stream_url("doc/1")))["code"] == "not_found"
    again = api.append("doc/1", events("C"), expected_version=2)
    assert again.status_code == 201
    read = json.loads(api.get(stream_url("doc/1", "/events")).content)
    assert [e["version"] for e in read["events"]] == [3]


def test_hard_delete_answers_410_stream_deleted_for_ever(api):
    api.append("grave", events("A"))
    assert delete(api, stream_url("grave") + "?hard=true").status_code == 200
    for response in (
        api.get(stream_url("grave")),
        api.get(stream_url("grave", "/events")),
        api.append("grave", events("B")),
        delete(api, stream_url("grave")),
    ):
        assert response.status_code == 410
        assert error_of(response)["code"] == "stream_deleted"


def test_delete_errors(api):
    assert error_of(delete(api, stream_url("missing")))["code"] == "not_found"
    api.append("x", events("A"))
    for query in ("?hard=maybe", "?force=true", "?before=1"):
        response = delete(api, stream_url("x") + query)
        assert response.status_code == 400, query
        assert error_of(response)["code"] == "validation_error"
    # ?hard belongs to DELETE only.
    assert api.get(stream_url("x") + "?hard=true").status_code == 400


def test_truncate_before_a_version(api):
    api.append("t", events("A", "B", "C", "D"))
    response = delete(api, stream_url("t", "/events") + "?before=3")
    assert response.status_code == 200
    head = json.loads(response.content)
    assert (head["version"], head["event_count"], head["truncate_before"]) == (4, 2, 3)
    read = json.loads(api.get(stream_url("t", "/events") + "?from_version=1").content)
    assert [e["version"] for e in read["events"]] == [3, 4]
    for query in ("", "?before=0", "?before=x", "?before=9", "?hard=true"):
        response = delete(api, stream_url("t", "/events") + query)
        assert response.status_code == 400, query
    assert delete(api, stream_url("nope", "/events") + "?before=1").status_code == 404


def test_who_may_delete_and_truncate(keys):
    admin = Api(keys["admin"])
    mine, other = KEY_PREFIX_STREAMS + "doc", "tenant-b/doc"
    for sid in (mine, other):
        admin.append(sid, events("A", "B"))
    expected = {
        None: (401, 401),
        "read": (403, 403),
        "prefix_read": (403, 403),
        "prefix": (200, 403),
        "write": (200, 200),
    }
    for key, (on_mine, on_other) in expected.items():
        caller = Api(keys[key] if key else None)
        for sid, status in ((mine, on_mine), (other, on_other)):
            truncated = delete(caller, stream_url(sid, "/events") + "?before=2")
            assert truncated.status_code == status, (key, sid, "truncate")
            if status >= 400:
                error_of(truncated)
    for key, (on_mine, on_other) in expected.items():
        caller = Api(keys[key] if key else None)
        for sid, status in ((mine, on_mine), (other, on_other)):
            if status == 200:
                admin.append(sid, events("again"))  # a soft-deleted stream starts again
            response = delete(caller, stream_url(sid))
            assert response.status_code == status, (key, sid, "delete")
