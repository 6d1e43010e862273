"""Shared fixtures: the store service pointed at each database backend in turn."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items) -> None:
    # Backend fixtures need real transactions (racing threads, commit paths) on every alias.
    for item in items:
        if {"db_backend", "postgres_backend"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.django_db(transaction=True, databases="__all__"))


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
    alias = "default" if request.param == "sqlite" else "postgres"
    if alias == "postgres":
        require_postgres()
    request.getfixturevalue("transactional_db")
    use_event_store(settings, alias)
    return alias


@pytest.fixture
def postgres_backend(settings, transactional_db):
    """The store service on PostgreSQL only (concurrency tests)."""
    require_postgres()
    use_event_store(settings, "postgres")
    return "postgres"
