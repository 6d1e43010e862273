"""The benchmark database: dropped, recreated and migrated on every run, on the server whose
durability settings (synchronous_commit, fsync) every system then shares unchanged."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class ServerUrl:
    """The parts of a postgres:// URL that the three systems each need in their own form."""

    url: str

    @property
    def _parts(self):
        return urlsplit(self.url)

    @property
    def dbname(self) -> str:
        return unquote(self._parts.path.lstrip("/"))

    @property
    def host(self) -> str:
        return self._parts.hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return self._parts.port or 5432

    @property
    def user(self) -> str:
        return unquote(self._parts.username or "postgres")

    @property
    def password(self) -> str:
        return unquote(self._parts.password or "")

    @property
    def conninfo(self) -> str:
        """The URL as libpq accepts it (postgresql:// scheme)."""
        return urlunsplit(("postgresql", *self._parts[1:]))

    def with_dbname(self, dbname: str) -> ServerUrl:
        parts = self._parts
        return ServerUrl(urlunsplit((parts.scheme, parts.netloc, "/" + dbname, *parts[3:])))


def connect(url: ServerUrl, *, autocommit: bool = True) -> psycopg.Connection:
    return psycopg.connect(url.conninfo, autocommit=autocommit, connect_timeout=10)


def recreate_database(url: ServerUrl) -> None:
    """Drop and create the benchmark database. Refuses names without "bench" in them, so a
    mistyped FLIPBOOK_BENCH_DATABASE_URL cannot drop a real database."""
    name = url.dbname
    if "bench" not in name:
        raise SystemExit(
            f"The benchmark database URL names the database {name!r}, which this benchmark "
            "would drop; use a database name containing 'bench', e.g. flipbook_bench."
        )
    with connect(url.with_dbname("postgres")) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))


def drop_database(url: ServerUrl) -> None:
    """Drop a benchmark database (names without "bench" are refused, as above)."""
    if "bench" not in url.dbname:
        raise SystemExit(f"refusing to drop {url.dbname!r}: not a benchmark database")
    with connect(url.with_dbname("postgres")) as conn:
        ident = sql.Identifier(url.dbname)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


def configure_django(url: ServerUrl) -> None:
    """Point Flipbook's own settings at the benchmark database and set Django up."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "flipbook_site.settings"
    os.environ["FLIPBOOK_DATABASE_URL"] = url.url
    os.environ["FLIPBOOK_EVENT_STORE"] = "db"
    # DEBUG would make Django keep every query in memory.
    os.environ["FLIPBOOK_DEBUG"] = "0"
    import django

    django.setup()


def migrate_flipbook() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def server_settings(url: ServerUrl) -> dict[str, str]:
    """The server settings that decide what a commit costs, for the report header."""
    names = ("server_version", "synchronous_commit", "fsync", "wal_sync_method", "full_page_writes")
    with connect(url) as conn:
        return {
            n: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(n))).fetchone()[0]
            for n in names
        }


def checkpoint(url: ServerUrl) -> None:
    """Flush dirty pages so one system's writes do not cost the next one a checkpoint."""
    with connect(url) as conn:
        conn.execute("CHECKPOINT")


def vacuum_analyze(url: ServerUrl, tables: list[str]) -> None:
    """Set hint bits and statistics after a bulk load, so the first timed read does not."""
    with connect(url) as conn:
        for table in tables:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))


def other_activity(url: ServerUrl) -> int:
    """How many sessions of other databases are running a statement on the server now: a
    sign that the figures of this run share the machine with other work."""
    with connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND backend_type = 'client backend' AND datname IS DISTINCT FROM current_database()"
        ).fetchone()[0]
