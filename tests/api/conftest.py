"""The API suites run on SQLite, PostgreSQL and on the event store on DynamoDB Local and on
Redis."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import start_db_backend
from tests.dynamodb_fixtures import (  # noqa: F401  (fixtures)
    dynamodb_client,
    dynamodb_local,
    use_dynamodb_event_store,
)
from tests.redis_fixtures import use_redis_event_store


@dataclass(frozen=True)
class Capabilities:
    """What a backend legitimately does differently, declared like the contract suite's
    capabilities: a test adapts to it, or skips naming it, never silently.

    * ``max_events_per_commit``: the most events one commit holds, below the configured
      MAX_EVENTS_PER_COMMIT (DynamoDB: one transaction of at most 100 items); None: no limit
      of the backend's own."""

    max_events_per_commit: int | None = None


# By the value of ``db_backend``; the database backends have every capability.
CAPABILITIES = {"dynamodb": Capabilities(max_events_per_commit=48)}


@pytest.fixture(params=["sqlite", "postgres", "dynamodb", "redis"])
def db_backend(request, settings):
    """The store service on SQLite, on PostgreSQL, on DynamoDB Local (a fresh table for each
    test), then on Redis (a fresh key prefix for each test); API keys and snapshots stay in
    the Django database, SQLite's "default". Returns the database alias, or the backend."""
    if request.param in ("sqlite", "postgres"):
        return start_db_backend(request, settings, request.param)
    request.getfixturevalue("transactional_db")
    if request.param == "redis":
        from tests.contracts.snapshot_store import require_redis

        require_redis()
        redis_store = use_redis_event_store(settings)
        request.addfinalizer(redis_store.close)
        request.addfinalizer(redis_store.delete_everything)
        return "redis"
    endpoint = request.getfixturevalue("dynamodb_local")
    client = request.getfixturevalue("dynamodb_client")
    store = use_dynamodb_event_store(settings, endpoint, client)
    request.addfinalizer(store.delete_tables)
    return "dynamodb"


@pytest.fixture
def capabilities(db_backend) -> Capabilities:
    """The capabilities of the backend under test."""
    return CAPABILITIES.get(db_backend, Capabilities())


def django_alias(backend: str) -> str:
    """The Django database alias holding the API keys (and snapshots) for ``backend``."""
    return "default" if backend in ("dynamodb", "redis") else backend
