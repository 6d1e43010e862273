# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)
"""Operational endpoints: /healthz, /readyz (database and Redis), /metrics."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from tests.api.rest_helpers import (  # noqa: F401
    BASE,
    api,
    keys,
    unreachable_store,
)
from tests.conftest import IN_CI
from tests.contracts.snapshot_store import REDIS_URL


def test_healthz_answers_without_a_key(db_backend):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_backend(db_backend, settings):
    settings.FLIPBOOK_REDIS_URL = ""
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"event_store": "ok"}


def test_readyz_checks_redis_when_configured(db_backend, settings):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        reason = f"NEEDS REDIS at {REDIS_URL} (set FLIPBOOK_TEST_REDIS_URL)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    settings.FLIPBOOK_REDIS_URL = REDIS_URL
    assert Client().get("/readyz").json()["checks"]["redis"] == "ok"
    settings.FLIPBOOK_REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("unreachable")


def test_readyz_is_503_when_the_database_is_unreachable(unreachable_store, settings):
    settings.FLIPBOOK_REDIS_URL = ""
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["event_store"] != "ok"
    assert "Traceback" not in str(body) and "SELECT" not in str(body)


def test_metrics_count_rest_appends_errors_and_latency(api):
    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    appends = value("flipbook_appends_total", transport="rest")
    conflicts = value("flipbook_version_conflicts_total", transport="rest")
    api.post(f"{BASE}/streams/m/events", {"expected_version": 0, "events": [{"name": "A"}]})
    api.post(f"{BASE}/streams/m/events", {"expected_version": 0, "events": [{"name": "B"}]})
    assert value("flipbook_appends_total", transport="rest") == appends + 1
    assert value("flipbook_version_conflicts_total", transport="rest") == conflicts + 1
    text = Client().get("/metrics").content.decode()
    assert 'flipbook_errors_total{code="version_conflict",transport="rest"}' in text
    assert "flipbook_request_seconds_bucket" in text
