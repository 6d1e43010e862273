"""System checks of the FLIPBOOK_* settings (registered by the streams app).

Always: dict settings are dicts with known keys, backend settings name a class and options
it takes. For ``serve`` (tag ``flipbook_scale_out``, a deployment check): the signs of a
scale-out deployment (DynamoDB, or the Redis bus) beside per-server state that would
silently split it: a SQLite metadata database, a generated secret key. For ``serve`` too (tag
``flipbook_durability``): an event store on Redis that would lose acknowledged commits (no
append-only file, or an eviction policy that may drop keys)."""

from __future__ import annotations

import difflib
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from streams.conf import BACKEND_SETTINGS, DICT_SETTINGS, backend_class, flipbook_settings

SCALE_OUT_TAG = "flipbook_scale_out"
DURABILITY_TAG = "flipbook_durability"


@checks.register("flipbook")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    problems: list[checks.CheckMessage] = []
    for setting, keys in DICT_SETTINGS.items():
        given = getattr(settings, setting, None)
        if given is None:
            continue
        if not isinstance(given, dict):
            problems.append(
                checks.Error(
                    f"{setting} must be a dict, not {type(given).__name__}.",
                    hint=f"Give only the keys to change, e.g. {setting} = "
                    f"{{{next(iter(keys))!r}: ...}}; the others keep their defaults.",
                    id="flipbook.E001",
                )
            )
            continue
        for key in sorted(set(given) - set(keys)):
            close = difflib.get_close_matches(key, keys, n=1)
            problems.append(
                checks.Error(
                    f"{setting} has an unknown key {key!r}.",
                    hint=(f"Did you mean {close[0]!r}? " if close else "")
                    + f"Known keys: {', '.join(keys)}.",
                    id="flipbook.E002",
                )
            )
        for key, value in given.items():
            default = keys.get(key, (None,))[0]
            if default is None or isinstance(value, type(default)):
                continue
            if isinstance(default, float) and isinstance(value, int):
                continue
            problems.append(
                checks.Error(
                    f"{setting}[{key!r}] must be a {type(default).__name__}, not {value!r}.",
                    hint=f"The default is {default!r}.",
                    id="flipbook.E003",
                )
            )
    for setting in BACKEND_SETTINGS:
        try:
            backend_class(setting, getattr(flipbook_settings, setting.removeprefix("FLIPBOOK_")))
        except ImproperlyConfigured as exc:
            problems.append(checks.Error(str(exc), id="flipbook.E004"))
    return problems


def _per_server_database() -> bool:
    return any(db.get("ENGINE", "").endswith("sqlite3") for db in settings.DATABASES.values())


@checks.register(SCALE_OUT_TAG, deploy=True)
def check_scale_out(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A deployment that several servers share needs its shared state shared."""
    signs = []
    if flipbook_settings.EVENT_STORE["BACKEND"].endswith("DynamoDBEventStore"):
        signs.append("the DynamoDB event store (FLIPBOOK_EVENT_STORE=dynamodb)")
    if flipbook_settings.EVENT_STORE["BACKEND"].endswith("RedisEventStore"):
        signs.append("the Redis event store (FLIPBOOK_EVENT_STORE=redis)")
    if flipbook_settings.REDIS_URL:
        signs.append("the Redis bus (FLIPBOOK_REDIS_URL)")
    if not signs or flipbook_settings.SINGLE_SERVER:
        return []
    where = " and ".join(signs)
    where = where[0].upper() + where[1:]
    problems: list[checks.CheckMessage] = []
    if _per_server_database():
        problems.append(
            checks.Error(
                f"{where} says several servers may run, but the metadata database (API "
                "keys, subscriptions, users) is a SQLite file of this server: each server "
                "would keep its own.",
                hint="Set FLIPBOOK_DATABASE_URL to a PostgreSQL database all servers share, "
                "or FLIPBOOK_SINGLE_SERVER=true if this is the only server.",
                id="flipbook.E010",
            )
        )
    if flipbook_settings.SECRET_KEY_GENERATED:
        problems.append(
            checks.Error(
                f"{where} says several servers may run, but the secret key is generated per "
                "server: sessions and CSRF tokens of one server fail on the others.",
                hint="Set FLIPBOOK_SECRET_KEY to one secret for every server (e.g. from your "
                "secrets manager), or FLIPBOOK_SINGLE_SERVER=true if this is the only server.",
                id="flipbook.E011",
            )
        )
    if flipbook_settings.REDIS_URL and not flipbook_settings.BUS_PREFIX:
        problems.append(
            checks.Warning(
                "The Redis bus uses the default prefix 'flipbook': two deployments sharing "
                "one Redis would deliver each other's events.",
                hint="Set FLIPBOOK_BUS_PREFIX to a name unique to this deployment.",
                id="flipbook.W012",
            )
        )
    return problems


DEVELOPMENT_HINT = (
    "Set FLIPBOOK_REDIS_EVENT_STORE_PERSISTENCE=none only for a development Redis whose "
    "events may be lost."
)


@checks.register(DURABILITY_TAG, deploy=True)
def check_event_store_durability(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """An event store on Redis keeps what it acknowledged only with its append-only file on
    and no eviction; ``persistence`` (OPTIONS) says what to require."""
    from streams.backends import create_event_store
    from streams.backends.redis import RedisEventStore
    from streams.exceptions import FlipbookError

    config = flipbook_settings.EVENT_STORE
    if not config["BACKEND"].endswith("RedisEventStore"):
        return []
    try:
        store = create_event_store(config)
    except ImproperlyConfigured:
        return []  # check_settings reports it
    if not isinstance(store, RedisEventStore):
        return []
    if store.persistence == "managed":
        return []  # the service persists writes itself (MemoryDB): nothing to ask Redis
    if store.persistence == "none":
        return [
            checks.Warning(
                "The Redis event store is declared a development store (persistence 'none'): "
                "a restart of Redis may lose every event.",
                hint="Use FLIPBOOK_REDIS_EVENT_STORE_PERSISTENCE=aof (the default) in "
                "production, with appendonly yes on the Redis server.",
                id="flipbook.W021",
            )
        ]
    try:
        report = store.persistence_report()
    except FlipbookError as exc:
        return [
            checks.Error(
                f"Cannot tell whether the Redis event store persists its writes: {exc.message}",
                hint="Start Redis (FLIPBOOK_REDIS_EVENT_STORE_URL) before serve, or set "
                "FLIPBOOK_REDIS_EVENT_STORE_PERSISTENCE=managed if the service persists writes "
                "itself. " + DEVELOPMENT_HINT,
                id="flipbook.E022",
            )
        ]
    finally:
        store.close()
    problems: list[checks.CheckMessage] = []
    if not report["aof_enabled"]:
        problems.append(
            checks.Error(
                "The Redis event store runs on a Redis without its append-only file "
                "(appendonly no): a restart loses every commit since the last RDB snapshot, "
                "or all of them.",
                hint="Turn on appendonly yes with appendfsync always (nothing acknowledged is "
                "lost) or everysec (up to about a second on a crash of the machine). "
                + DEVELOPMENT_HINT,
                id="flipbook.E020",
            )
        )
    elif report["appendfsync"] in ("everysec", "no"):
        lost = "about a second" if report["appendfsync"] == "everysec" else "up to 30 seconds"
        problems.append(
            checks.Warning(
                f"The Redis event store's append-only file is synced with appendfsync "
                f"{report['appendfsync']}: a crash of the machine (not of Redis alone) may lose "
                f"{lost} of acknowledged commits.",
                hint="Use appendfsync always if no acknowledged commit may be lost.",
                id="flipbook.W020",
            )
        )
    policy = report["maxmemory_policy"] or ""
    if policy.startswith("allkeys-"):
        problems.append(
            checks.Error(
                f"The Redis of the event store evicts keys when full (maxmemory-policy "
                f"{policy}): it would drop events.",
                hint="Set maxmemory-policy noeviction: a full Redis then refuses commits "
                "(unavailable) instead of losing events.",
                id="flipbook.E021",
            )
        )
    return problems
