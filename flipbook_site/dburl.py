"""Turn a FLIPBOOK_DATABASE_URL into a Django DATABASES entry."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def database_from_url(url: str, *, base_dir: Path) -> dict:
    """Return a DATABASES entry for a ``sqlite:///path`` or ``postgres://`` URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in {"sqlite", "sqlite3"}:
        raw = unquote(parts.path)
        # sqlite:///var/x.sqlite3 is relative to the project; sqlite:////abs/x is absolute.
        path = Path(raw[1:]) if raw.startswith("//") else base_dir / raw.lstrip("/")
        return sqlite_database(path)
    if scheme in {"postgres", "postgresql", "pgsql"}:
        options = dict(parse_qsl(parts.query))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # A pool, not persistent connections: WebSocket consumers run their database
            # calls on short-lived threads, where a per-thread connection would mean a new
            # PostgreSQL backend per call. Bounded per process (serve's HTTP and gRPC threads
            # plus consumers), and shrunk back after a load (max_idle seconds).
            "OPTIONS": {
                "pool": {"min_size": 2, "max_size": 40, "timeout": 10, "max_idle": 60},
                **options,
            },
            "CONN_MAX_AGE": 0,
        }
    raise ImproperlyConfigured(
        f"FLIPBOOK_DATABASE_URL has an unknown scheme {scheme!r}: "
        "use sqlite:///var/flipbook.sqlite3 or postgres://user@host:5432/dbname."
    )


def sqlite_database(path: Path) -> dict:
    """Return a DATABASES entry for a SQLite file, tuned for one writer and many readers."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on the
            # busy timeout instead of failing with "database is locked" on lock upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        "TEST": {"NAME": str(path.with_name("test_" + path.name))},
    }
