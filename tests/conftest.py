"""Shared fixtures: the store service pointed at each database backend in turn."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The contract suites live outside test_*.py files; let pytest rewrite their asserts too.
pytest.register_assert_rewrite("tests.contracts")


def pytest_collection_modifyitems(items) -> None:
    # Backend fixtures need real transactions (racing threads, commit paths) on every alias.
    # A test on the SQLite parameter uses "default" only: flushing PostgreSQL after it too
    # would about double its cost (and its queries to "postgres" are refused, as they should).
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if getattr(getattr(item, "function", None), "needs_snapshots_db", False) and not (
            {"db_backend", "postgres_backend"} & names
        ):
            # tests/contracts/lifecycle.py beside DynamoDB or Redis: snapshots are on "default".
            item.add_marker(pytest.mark.django_db(transaction=True, databases=["default"]))
        if {"db_backend", "postgres_backend"} & names:
            callspec = getattr(item, "callspec", None)
            # On DynamoDB and Redis the Django tables (API keys, snapshots) stay on SQLite's
            # "default".
            on_sqlite = callspec is not None and callspec.params.get("db_backend") in {
                "sqlite",
                "dynamodb",
                "redis",
            }
            databases = ["default"] if on_sqlite and "postgres_backend" not in names else "__all__"
            # A test class may name the only apps it uses (Django's available_apps): then only
            # their tables are flushed after each test, without re-running post_migrate.
            available_apps = getattr(item.cls, "available_apps", None)
            item.add_marker(
                pytest.mark.django_db(
                    transaction=True, databases=databases, available_apps=available_apps
                )
            )


def require_postgres() -> None:
    """Skip (locally) or fail (CI=true) when the PostgreSQL test server is missing."""
    if "postgres" in settings.DATABASES:
        return
    reason = f"NEEDS POSTGRESQL: {settings.POSTGRES_ERROR} (set FLIPBOOK_TEST_DATABASE_URL)"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def use_event_store(django_settings, alias: str) -> None:
    django_settings.FLIPBOOK_EVENT_STORE = {
        "BACKEND": "streams.backends.database.DatabaseEventStore",
        "OPTIONS": {"using": alias},
    }


@pytest.fixture(params=["sqlite", "postgres"])
def db_backend(request, settings):
    """The store service on SQLite, then on PostgreSQL; empty tables for each test."""
    return start_db_backend(request, settings, request.param)


def start_db_backend(request, django_settings, name: str) -> str:
    """Point the store service at ``name`` ("sqlite" or "postgres") on empty tables; return
    the database alias. tests/api/conftest.py adds "dynamodb" to the API suites."""
    alias = "default" if name == "sqlite" else "postgres"
    if alias == "postgres":
        require_postgres()
    request.getfixturevalue("transactional_db")
    use_event_store(django_settings, alias)
    return alias


@pytest.fixture
def postgres_backend(settings, transactional_db):
    """The store service on PostgreSQL only (concurrency tests)."""
    require_postgres()
    use_event_store(settings, "postgres")
    return "postgres"
