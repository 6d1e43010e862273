"""Every REST error comes out as DESIGN.md's table says, in the one body shape."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

import logging
import uuid

from django.test import Client, RequestFactory
from prometheus_client import REGISTRY
from rest_framework.exceptions import Throttled

from api.logs import JsonFormatter
from api.rest.exceptions import exception_handler, server_error
from streams import services
from tests.api.rest_helpers import (  # noqa: F401
    BASE,
    Api,
    api,
    error_of,
    events,
    keys,
    stream_url,
    unreachable_store,
)


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"transport": "rest", **labels}) or 0.0


BAD_APPENDS = [
    ('{"events": [', "body"),
    ("[1, 2]", "body"),
    ('{"events": [{"name": "A"}], "colour": "red"}', "colour"),
    ('{"events": []}', "events"),
    ('{"events": [{"payload": 1}]}', "events[0].name"),
    ('{"events": [{"name": "A"}], "expected_version": -1}', "expected_version"),
    ('{"events": [{"name": "A"}], "expected_version": "²"}', "expected_version"),
    ('{"events": [{"name": "A"}], "kind": "sideways"}', "kind"),
    ('{"events": [{"name": "A", "payload": NaN}]}', "body"),
    ('{"events": [{"name": "A", "version": 1}, {"name": "B"}]}', "events"),
    ('{"events": [{"name": "A", "timestamp": "yesterday"}]}', "events[0].timestamp"),
    ('{"events": [{"name": "A", "id": "not-a-uuid"}]}', "events[0].id"),
    ('{"events": [{"name": "A", "payload": "\\u0000"}]}', "events[0].payload"),
    ("[" * 100_000 + "]" * 100_000, "body"),
]

BAD_READS = [
    ({"from_version": "x"}, "from_version"),
    ({"from_version": "0"}, "from_version"),
    ({"from_version": "5", "to_version": "2"}, "to_version"),
    ({"direction": "sideways"}, "direction"),
    ({"limit": "0"}, "limit"),
    ({"limit": "99999999"}, "limit"),
    ({"limit": "²"}, "limit"),
    ({"since": "not a time"}, "since"),
    ({"cursor": "garbage!"}, "cursor"),
    ({"stream_id": "a"}, "stream_id"),
]


def test_validation_errors_are_400_naming_the_field(api, settings):
    for body, field in BAD_APPENDS:
        response = api.post(stream_url("s", "/events"), body)
        assert response.status_code == 400, (body[:80], response.content)
        error = error_of(response)
        assert error["code"] == "validation_error"
        assert error["details"]["field"] == field, body[:80]
    bad_commit = api.post(f"{BASE}/commits", {"streams": [{"stream_id": "a", "events": "A"}]})
    assert error_of(bad_commit)["details"]["field"] == "streams[0].events"
    assert error_of(api.post(f"{BASE}/commits", {"streams": [], "x": 1}))["details"]["field"] == "x"
    assert api.append("neutral", events("A"), kind="neutral").status_code == 201
    mixed = api.append("neutral", events("A"), kind="versioned")
    assert error_of(mixed)["details"]["field"] == "kind"

    for params, field in BAD_READS:
        response = api.get(stream_url("s", "/events"), params)
        assert response.status_code == 400, params
        assert error_of(response)["details"]["field"] == field, params
    api.append("s", events("A", "B", "C"))
    cursor = api.get(stream_url("s", "/events"), {"limit": 1}).json()["next_cursor"]
    other_query = {"limit": 1, "direction": "backwards", "cursor": cursor}
    other = api.get(stream_url("s", "/events"), other_query)
    assert error_of(other)["details"]["field"] == "cursor"
    assert error_of(api.get(f"{BASE}/streams/", {"cursor": "nope"}))["details"]["field"] == "cursor"
    assert error_of(api.get(f"{BASE}/events", {"after": "-1"}))["details"]["field"] == "after"
    long_name = api.get(f"{BASE}/events", {"name": "x" * 200})
    assert error_of(long_name)["details"]["field"] == "names[0]"
    bad_format = api.get(f"{BASE}/streams/", {"format": "xml"})
    assert error_of(bad_format)["details"]["field"] == "format"

    settings.FLIPBOOK_LIMITS = {**settings.FLIPBOOK_LIMITS, "MAX_EVENTS_PER_COMMIT": 3}
    too_many = api.append("s", events("A", "B", "C", "D"))
    assert too_many.status_code == 400
    assert error_of(too_many)["details"]["field"] == "events"


def test_missing_or_bad_keys_are_401_and_scope_is_403(keys):
    for key in (None, "fbk_nope", "fbk_0000000000000000_wrong", keys["write"] + "x"):
        response = Api(key).get(stream_url("s"))
        assert response.status_code == 401, key
        assert error_of(response)["code"] == "unauthenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")
    basic = Api(None).get(stream_url("s"), headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    read_only = Api(keys["read"]).append("s", events("A"))
    assert read_only.status_code == 403
    assert error_of(read_only)["code"] == "permission_denied"
    assert error_of(read_only)["details"]["needed_scope"] == "write"


def test_not_found_and_http_level_errors(api):
    for path in (stream_url("missing"), stream_url("missing", "/events/latest")):
        response = api.get(path)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    unknown = api.get(f"{BASE}/no-such-thing")
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "not_found"
    page = api.get("/no-such-page")  # outside /api/: Django's own page
    assert page.status_code == 404
    assert not page["Content-Type"].startswith("application/json")

    for method, path in (("DELETE", stream_url("s", "/state")), ("PUT", f"{BASE}/commits")):
        response = api.request(method, path)
        assert response.status_code == 405
        assert error_of(response)["code"] == "method_not_allowed"
    assert error_of(api.get(f"{BASE}/commits"))["code"] == "method_not_allowed"

    html = api.get(stream_url("s"), headers={"Accept": "text/html"})
    assert html.status_code == 406
    assert error_of(html)["code"] == "not_acceptable"

    form = api.post(
        stream_url("s", "/events"), "name=A", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 415
    assert error_of(form)["code"] == "unsupported_media_type"


def test_throttling_maps_to_429_with_retry_after():
    response = exception_handler(Throttled(wait=7), {"request": None})
    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert error_of(response)["code"] == "throttled"


def test_conflicts_are_409_naming_the_current_version_or_the_ids(api):
    api.append("s", events("A", "B"))
    response = api.append("s", events("C"), expected_version=1)
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "version_conflict"
    assert error["details"]["current_version"] == 2
    assert error["details"]["expected_version"] == 1
    new = api.append("fresh", events("A"), expected_version="exists")
    assert error_of(new)["details"]["current_version"] == 0

    event_id = str(uuid.uuid4())
    assert api.append("t", [{"id": event_id, "name": "A"}]).status_code == 201
    same_id = api.append("t", [{"id": event_id, "name": "B"}])
    assert same_id.status_code == 409
    error = error_of(same_id)
    assert error["code"] == "id_conflict"
    assert error["details"]["event_ids"] == [event_id]


def test_large_payload_and_large_request_are_413(api, settings):
    settings.FLIPBOOK_LIMITS = {
        **settings.FLIPBOOK_LIMITS,
        "MAX_PAYLOAD_BYTES": 1000,
        "MAX_REQUEST_BYTES": 5000,
    }
    payload = api.append("s", [{"name": "A", "payload": "x" * 2000}])
    assert payload.status_code == 413
    assert error_of(payload)["details"]["field"] == "events[0].payload"
    request = api.append("s", [{"name": "A", "payload": "x" * 900}] * 10)
    assert request.status_code == 413
    error = error_of(request)
    assert error["code"] == "too_large"
    assert error["details"]["field"] == "request"
    assert error["details"]["limit"] == 5000


def test_unreachable_backend_is_503(api, unreachable_store):
    for response in (
        api.append("s", events("A")),
        api.get(stream_url("s", "/events")),
        api.get(f"{BASE}/streams/"),
    ):
        assert response.status_code == 503
        error = error_of(response)
        assert error["code"] == "unavailable"
        assert response["Retry-After"] == "1"


def test_unexpected_errors_are_500_without_internals_and_logged_with_the_request_id(
    api, monkeypatch, caplog
):
    def explode(stream_id):
        raise RuntimeError("SELECT secret FROM /srv/flipbook/internal.py")

    monkeypatch.setattr(services, "stream_head", explode)
    with caplog.at_level(logging.ERROR, logger="flipbook.api.rest"):
        response = api.get(stream_url("s"), headers={"X-Request-ID": "req-123"})
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
    assert b"secret" not in response.content and b"Traceback" not in response.content
    assert response["X-Request-ID"] == "req-123"
    records = [r for r in caplog.records if r.name == "flipbook.api.rest"]
    assert records and records[0].exc_info is not None
    assert '"request_id": "req-123"' in JsonFormatter().format(records[0])


def test_django_level_500_under_api_is_json():
    response = server_error(RequestFactory().get(f"{BASE}/streams/"))
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
    page = server_error(RequestFactory().get("/"))
    assert not page["Content-Type"].startswith("application/json")


def test_request_ids_and_metrics(api):
    assert api.get(f"{BASE}/streams/", headers={"X-Request-ID": "abc"})["X-Request-ID"] == "abc"
    assert len(api.get(f"{BASE}/streams/")["X-Request-ID"]) == 32
    assert Client().get("/healthz")["X-Request-ID"]

    appends = counter("flipbook_appends_total")
    stored = counter("flipbook_events_appended_total")
    conflicts = counter("flipbook_version_conflicts_total")
    not_found = counter("flipbook_errors_total", code="not_found")
    latency = counter("flipbook_request_seconds_count", method="append_to_stream")
    api.append("m", events("A", "B"))
    api.append("m", events("C"), expected_version=0)
    api.get(stream_url("nope"))
    assert counter("flipbook_appends_total") == appends + 1
    assert counter("flipbook_events_appended_total") == stored + 2
    assert counter("flipbook_version_conflicts_total") == conflicts + 1
    assert counter("flipbook_errors_total", code="not_found") == not_found + 1
    assert counter("flipbook_request_seconds_count", method="append_to_stream") == latency + 2
