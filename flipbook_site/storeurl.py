"""Event stores named by URL, for `flipbook migrate --from URL --to URL` and `--store URL`.

* ``default``: the project's configured store (FLIPBOOK_EVENT_STORE);
* ``sqlite:///path`` (relative to the project; ``sqlite:////abs/path`` absolute) and
  ``postgres://user:password@host:5432/dbname``: the database event store, parsed as
  FLIPBOOK_DATABASE_URL is (flipbook_site/dburl.py);
* ``dynamodb://host:port?prefix=flipbook_&region=us-east-1`` (``tls=true`` for https;
  ``dynamodb://`` with no host: AWS's endpoint of the region, credentials from the usual
  AWS chain);
* ``redis://host:port/db?prefix=flipbook:events`` (also ``rediss://``, ``cluster=true``):
  the Redis event store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connections

from flipbook_site.dburl import database_from_url
from streams.backends import create_event_store, get_event_store
from streams.backends.base import BaseEventStore
from streams.exceptions import ValidationError

SCHEMES = ("default", "sqlite", "postgres", "postgresql", "dynamodb", "redis", "rediss")


@dataclass
class StoreLocation:
    """A store opened from a URL; ``prepare()`` creates its tables when they are missing."""

    url: str
    store: BaseEventStore
    kind: str
    alias: str | None = None  # the Django database alias of a database store
    owned: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    def prepare(self) -> None:
        """Create what the store needs to accept writes (tables), idempotently."""
        if self.alias is not None:
            call_command("migrate", database=self.alias, verbosity=0, interactive=False)
        elif self.kind == "dynamodb":
            self.store.create_tables()  # type: ignore[attr-defined]

    def close(self) -> None:
        if self.owned:
            self.store.close()
        if self.alias is not None:
            connections[self.alias].close()

    def describe(self) -> str:
        """The URL without its password."""
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
        return self.url


def open_store(url: str) -> StoreLocation:
    """Return the store a URL names (see the module's docstring). Raises ValidationError
    for an unknown scheme or a malformed URL."""
    scheme = urlsplit(url).scheme.lower() if "://" in url else url.lower()
    if scheme == "default":
        return StoreLocation(url, get_event_store(), "default", owned=False)
    if scheme in {"sqlite", "sqlite3", "postgres", "postgresql", "pgsql"}:
        try:
            database = database_from_url(url, base_dir=settings.BASE_DIR)
        except ImproperlyConfigured as exc:
            raise ValidationError("url", str(exc)) from exc
        if scheme.startswith("postgres") or scheme == "pgsql":
            database["OPTIONS"].pop("pool", None)  # one connection is all a transfer uses
        alias = "flipbook_url_" + hashlib.sha256(url.encode()).hexdigest()[:12]
        if alias not in connections.settings:
            # configure_settings fills in Django's defaults; it insists on a "default" entry.
            filled = connections.configure_settings({"default": {}, alias: database})
            connections.settings[alias] = filled[alias]
        store = create_event_store(
            {"BACKEND": "streams.backends.database.DatabaseEventStore", "OPTIONS": {"using": alias}}
        )
        return StoreLocation(url, store, "database", alias=alias)
    if scheme == "dynamodb":
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        endpoint = None
        if parts.hostname:
            tls = query.get("tls", "").lower() in {"1", "true", "yes", "on"}
            endpoint = f"{'https' if tls else 'http'}://{parts.netloc}"
        options = {
            "endpoint_url": endpoint,
            "table_prefix": query.get("prefix", "flipbook_"),
            "region_name": query.get("region", "us-east-1"),
        }
        store = create_event_store(
            {"BACKEND": "streams.backends.dynamodb.DynamoDBEventStore", "OPTIONS": options}
        )
        return StoreLocation(url, store, "dynamodb")
    if scheme in {"redis", "rediss"}:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query)
        prefix = dict(pairs).get("prefix", "flipbook:events")
        kept = urlencode([(k, v) for k, v in pairs if k != "prefix"])
        rest = urlunsplit((parts.scheme, parts.netloc, parts.path, kept, parts.fragment))
        store = create_event_store(
            {
                "BACKEND": "streams.backends.redis.RedisEventStore",
                "OPTIONS": {"url": rest, "key_prefix": prefix},
            }
        )
        return StoreLocation(url, store, "redis")
    raise ValidationError(
        "url",
        f"{url!r} names no event store: use default, sqlite:///path, "
        "postgres://user@host:5432/db, dynamodb://host:port?prefix=P or redis://host:port/0",
    )
