"""System checks of the FLIPBOOK_* settings (registered by the streams app).

Always: dict settings are dicts with known keys, backend settings name a class and options
it takes. For ``serve`` (tag ``flipbook_scale_out``, a deployment check): the signs of a
scale-out deployment (DynamoDB, or the Redis bus) beside per-server state that would
silently split it: a SQLite metadata database, a generated secret key."""

from __future__ import annotations

import difflib
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from streams.conf import BACKEND_SETTINGS, DICT_SETTINGS, backend_class, flipbook_settings

SCALE_OUT_TAG = "flipbook_scale_out"


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
