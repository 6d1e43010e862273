"""The OpenAPI schema is served and valid; the docs pages load with local assets only."""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from drf_spectacular.validation import validate_schema

BASE = "/api/v1"
OPERATIONS = {
    ("/api/v1/streams/", "get"): "list_streams",
    ("/api/v1/streams/{stream_id}", "get"): "retrieve_stream",
    ("/api/v1/streams/{stream_id}", "delete"): "delete_stream",
    ("/api/v1/streams/{stream_id}/events", "delete"): "truncate_stream",
    ("/api/v1/streams/{stream_id}/events", "get"): "read_stream",
    ("/api/v1/streams/{stream_id}/events", "post"): "append_to_stream",
    ("/api/v1/streams/{stream_id}/events/latest", "get"): "latest_event",
    ("/api/v1/streams/{stream_id}/state", "get"): "stream_state",
    ("/api/v1/streams/{stream_id}/snapshots", "get"): "list_snapshots",
    ("/api/v1/streams/{stream_id}/snapshots", "put"): "set_snapshot",
    ("/api/v1/streams/{stream_id}/snapshots/latest", "get"): "latest_snapshot",
    ("/api/v1/streams/{stream_id}/retention", "get"): "stream_retention",
    ("/api/v1/streams/{stream_id}/retention", "put"): "set_stream_retention",
    ("/api/v1/streams/{stream_id}/retention", "delete"): "clear_stream_retention",
    ("/api/v1/commits", "post"): "commit",
    ("/api/v1/events", "get"): "read_all",
    ("/api/v1/erasures", "post"): "erase_subject",
    ("/api/v1/scavenges", "post"): "scavenge",
    ("/api/v1/subscriptions/", "get"): "list_subscriptions",
    ("/api/v1/subscriptions/", "post"): "create_subscription",
    ("/api/v1/subscriptions/{name}", "get"): "retrieve_subscription",
    ("/api/v1/subscriptions/{name}", "delete"): "delete_subscription",
    ("/api/v1/subscriptions/{name}/next", "post"): "next_batch",
    ("/api/v1/subscriptions/{name}/ack", "post"): "ack",
    ("/api/v1/subscriptions/{name}/nack", "post"): "nack",
    ("/api/v1/subscriptions/{name}/reset", "post"): "reset_subscription",
    ("/api/v1/subscriptions/{name}/pause", "post"): "pause_subscription",
    ("/api/v1/subscriptions/{name}/resume", "post"): "resume_subscription",
    ("/api/v1/subscriptions/{name}/parked", "get"): "list_parked",
    ("/api/v1/subscriptions/{name}/parked/{position}/retry", "post"): "retry_parked",
    ("/api/v1/subscriptions/{name}/parked/{position}/skip", "post"): "skip_parked",
    ("/api/v1/subscriptions/{name}/parked/{position}/replay", "post"): "replay_parked",
}


def served_schema() -> dict:
    response = Client().get(f"{BASE}/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return json.loads(response.content)


def test_schema_is_served_valid_and_documents_every_operation():
    schema = served_schema()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    found = {
        (path, method): operation["operationId"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert found == OPERATIONS
    scheme = schema["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    append = schema["paths"]["/api/v1/streams/{stream_id}/events"]["post"]
    assert set(append["responses"]) == {
        "200",
        "201",
        "400",
        "401",
        "403",
        "409",
        "413",
        "415",
        "503",
    }
    error = append["responses"]["409"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    assert append["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Append"
    }
    read = schema["paths"]["/api/v1/streams/{stream_id}/events"]["get"]["responses"]["200"]
    assert set(read["content"]) == {"application/json", "application/x-ndjson"}
    state = schema["paths"]["/api/v1/streams/{stream_id}/state"]["get"]
    assert set(state["responses"]) == {"200", "400", "401", "403", "404", "422", "503"}
    assert {p["name"] for p in state["parameters"]} == {"stream_id", "version", "at", "known_at"}
    put = schema["paths"]["/api/v1/streams/{stream_id}/snapshots"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SetSnapshot"
    }
    assert schema["components"]["schemas"]["SetSnapshot"]["additionalProperties"] is False
    assert set(schema["components"]["schemas"]["SetSnapshot"]["required"]) == {
        "version",
        "payload",
    }
    yaml = Client().get(f"{BASE}/schema/", headers={"Authorization": "Bearer not-a-key"})
    assert yaml.status_code == 200 and yaml.content.startswith(b"openapi: 3.")


def test_docs_pages_load_with_local_assets():
    for page in ("docs/", "redoc/"):
        response = Client().get(f"{BASE}/{page}")
        assert response.status_code == 200
        html = response.content.decode()
        urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
        urls += re.findall(r"""["'](/static/[^"']+)["']""", html)
        assert not [u for u in urls if re.match(r"(https?:)?//", u)], urls
        assets = {u.split("?")[0] for u in urls if u.startswith(settings.STATIC_URL)}
        assert assets, page
        for asset in assets:
            assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset
        assert f"{BASE}/schema/" in html
