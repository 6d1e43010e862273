"""schemathesis against the served OpenAPI schema: generated requests (valid and invalid) to
every operation, through the WSGI app, never get a 5xx and always get what the schema says."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.rest_helpers import BASE, Api, events, keys  # noqa: F401

EXAMPLES_PER_OPERATION = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "all", "max-examples": EXAMPLES_PER_OPERATION},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
# The schema view needs no database or key, so the schema loads once, at collection.
schema = schemathesis.openapi.from_wsgi(
    f"{BASE}/schema/?format=json", get_wsgi_application(), config=CONFIG
)


@pytest.fixture
def write_key(keys) -> str:
    # Streams to hit (the schema's example id among them): generated ids mostly miss.
    writer = Api(keys["write"])
    for stream_id in ("/unique/path/to/file", "a/b", "x"):
        writer.append(stream_id, events("Opened", "Renamed"), category="fuzz")
    return keys["write"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_rest_api_keeps_its_schema(case, write_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {write_key}"}, checks=CHECKS)
