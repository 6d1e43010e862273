"""Test settings: the embedded SQLite default, plus a "postgres" alias when the server at
FLIPBOOK_TEST_DATABASE_URL answers (tests needing it skip locally and fail in CI otherwise)."""

import os

import psycopg

from flipbook_site.dburl import database_from_url
from flipbook_site.settings import *  # noqa: F403
from flipbook_site.settings import BASE_DIR, DATABASES, VAR_DIR

POSTGRES_URL = os.environ.get(
    "FLIPBOOK_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
POSTGRES_ERROR = ""
try:
    psycopg.connect(
        POSTGRES_URL.replace("postgres://", "postgresql://", 1), connect_timeout=3
    ).close()
except psycopg.Error as exc:
    POSTGRES_ERROR = f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}".strip()
else:
    DATABASES["postgres"] = database_from_url(POSTGRES_URL, base_dir=BASE_DIR)
    DATABASES["postgres"]["CONN_MAX_AGE"] = 0
    # Per-process names, so concurrent test runs on one machine never share a database.
    DATABASES["postgres"]["TEST"] = {"NAME": f"test_flipbook_{os.getpid()}"}

DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_flipbook_{os.getpid()}.sqlite3")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests run their webhook and gRPC handlers on this machine: push delivery may reach loopback
# (tests/security/test_outbound_policy.py clears this to test the policy itself).
FLIPBOOK_PUSH_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
