"""One settings object for everything ``FLIPBOOK_*`` (the way DRF's ``api_settings`` works).

``flipbook_settings.LIMITS`` is ``settings.FLIPBOOK_LIMITS`` merged key by key over the
defaults below, so a partial dict keeps the other defaults; unknown keys are reported by the
system checks (streams/checks.py) rather than ignored. Values are read once and again after
a change of the setting (tests, ``override_settings``): reading through Django's LazySettings
is measurable on a one-event append."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.signals import setting_changed

_Backend = TypeVar("_Backend")

# Every dict-valued FLIPBOOK_* setting and its defaults. The docs' settings reference is
# generated from this table (docs/gen_settings.py), so each key carries its description.
DICT_SETTINGS: dict[str, dict[str, tuple[Any, str]]] = {
    "FLIPBOOK_LIMITS": {
        "MAX_PAYLOAD_BYTES": (1024 * 1024, "Largest payload of one event, as JSON."),
        "MAX_METADATA_BYTES": (64 * 1024, "Largest metadata object of one event, as JSON."),
        "MAX_EVENTS_PER_COMMIT": (1000, "Most events one append or commit may carry."),
        "MAX_STREAMS_PER_COMMIT": (100, "Most streams one commit may write."),
        "MAX_READ_LIMIT": (10_000, "Largest page a read may ask for."),
        "MAX_REQUEST_BYTES": (32 * 1024 * 1024, "Largest request body (REST and gRPC)."),
        "MAX_SNAPSHOT_BYTES": (16 * 1024 * 1024, "Largest snapshot payload, as JSON."),
    },
    "FLIPBOOK_SUBSCRIPTIONS": {
        "LAG_CAP": (1000, "Lag is counted exactly up to this many events."),
        "ACK_LAG_CAP": (100, "... in the answers of ack and nack, which consumers call often."),
        "STALL_SECONDS": (60.0, "Lag and no heartbeat for this long: the status is stalled."),
        "HEARTBEAT_SECONDS": (1.0, "At most one heartbeat write per subscription per this."),
        "POLL_MAX_SECONDS": (1.0, "Long-poll fallback for commits made by other processes."),
        "SCAN_BUDGET": (10_000, "Feed events one call scans for a stream filter."),
        "PUSH_BATCH": (100, "Events per push delivery."),
        "PUSH_TIMEOUT_SECONDS": (10.0, "How long a push endpoint may take to answer."),
        "PUSH_BACKOFF_SECONDS": (1.0, "First backoff after a failed push; doubles per failure."),
        "PUSH_BACKOFF_MAX_SECONDS": (60.0, "Longest backoff between push attempts."),
        "PUSH_POLL_SECONDS": (1.0, "How often the push worker looks for due subscriptions."),
        "PUSH_LEASE_SECONDS": (30.0, "How long a push worker's lease on a subscription lasts."),
    },
    "FLIPBOOK_BUS": {
        "QUEUE_SIZE": (1000, "Live events buffered per WebSocket before it must catch up."),
        "CATCH_UP_PAGE": (500, "Store page size while a socket catches up."),
        "PUBLISH_TIMEOUT": (2.0, "Seconds a commit's announcement may take to publish."),
    },
    "FLIPBOOK_PERSONAL_DATA": {
        "CATEGORIES": (
            {},
            "Personal fields per category, stored encrypted with a key per subject: "
            "{category: {'fields': ['$.email', ...], 'subject': '$.customer_id'}} ('subject': "
            "where the payload names the subject; default: the stream id). See "
            "docs/concepts/erasure.md.",
        ),
        "METADATA_KEY": (
            "personal_data",
            "Event metadata key by which a client marks personal fields itself: "
            "{'subject': ..., 'fields': [JSON paths]}.",
        ),
        "KEY_WRAPPER": (
            {"BACKEND": "streams.personal_data.keys.LocalKeyWrapper", "OPTIONS": {}},
            "What encrypts the stored data keys: the local wrapper (a key derived from "
            "FLIPBOOK_SECRET_KEY) or streams.backends.kms.KmsKeyWrapper (AWS KMS).",
        ),
    },
    "FLIPBOOK_SNAPSHOT_POLICY": {
        "ENABLED": (True, "Make the snapshots of categories with a policy after commits."),
        "QUEUE_SIZE": (10_000, "Streams waiting for a policy snapshot; more are dropped."),
    },
}

# Backend settings shaped like CACHES: {"BACKEND": dotted path, "OPTIONS": {...}}.
BACKEND_SETTINGS = {
    "FLIPBOOK_EVENT_STORE": {
        "BACKEND": "streams.backends.database.DatabaseEventStore",
        "OPTIONS": {},
    },
    "FLIPBOOK_SNAPSHOT_STORE": {
        "BACKEND": "snapshots.backends.database.DatabaseSnapshotStore",
        "OPTIONS": {},
    },
}

# Plain FLIPBOOK_* settings, their defaults and what they do.
PLAIN_SETTINGS: dict[str, tuple[Any, str]] = {
    "FLIPBOOK_REDIS_URL": ("", "Redis for the bus (and Redis snapshots); empty: in-process bus."),
    "FLIPBOOK_REDUCERS": ({}, "Python reducers per category: {category: dotted path}."),
    "FLIPBOOK_HOST": ("127.0.0.1", "Address `serve` listens on (HTTP and gRPC)."),
    "FLIPBOOK_HTTP_PORT": (8000, "HTTP and WebSocket port of `serve`."),
    "FLIPBOOK_GRPC_PORT": (50051, "gRPC port of `serve`."),
    "FLIPBOOK_WORKERS": (
        0,
        "Worker processes of `serve` (0: one per CPU on PostgreSQL or DynamoDB with the Redis "
        "bus, else one).",
    ),
    "FLIPBOOK_HTTP_THREADS": (
        8,
        "Threads per `serve` worker that run sync HTTP views (more: more slow requests at "
        "once; fewer: less handing the GIL around).",
    ),
    "FLIPBOOK_ASYNC_CONNECTIONS": (
        8,
        "PostgreSQL connections of a `serve` worker's event loop (HTTP's and gRPC's) for the "
        "one-stream appends answered there, beside the threads' pool.",
    ),
    "FLIPBOOK_GRPC_TLS_CERT": (None, "PEM certificate file: gRPC serves TLS when set."),
    "FLIPBOOK_GRPC_TLS_KEY": (None, "PEM private key file of that certificate."),
    "FLIPBOOK_PUSH_IN_SERVE": ("auto", "Run the push worker inside `serve`: auto/true/false."),
    "FLIPBOOK_BUS_PREFIX": ("", "Prefix of the Redis bus's channels, unique per deployment."),
    "FLIPBOOK_SECRET_KEY_GENERATED": (
        False,
        "Set by the settings module when FLIPBOOK_SECRET_KEY is unset and a per-checkout key "
        "file (var/secret_key) serves instead.",
    ),
    "FLIPBOOK_ALLOWED_ORIGINS": (
        (),
        "Browser origins allowed to open WebSockets besides the server's own.",
    ),
    "FLIPBOOK_PUSH_ALLOWED_NETWORKS": (
        (),
        "Networks push delivery may reach besides public addresses (CIDRs), e.g. 127.0.0.0/8.",
    ),
    "FLIPBOOK_REVOCATION_CHECK_SECONDS": (
        5.0,
        "How often open WebSockets and gRPC streams recheck their key (a revoked key's end).",
    ),
    "FLIPBOOK_BUS_RECHECK_SECONDS": (
        5.0,
        "How often a quiet live socket compares its position with the store.",
    ),
    "FLIPBOOK_LOGIN_MAX_FAILURES": (5, "Failed console logins per user name before a lockout."),
    "FLIPBOOK_LOGIN_LOCKOUT_SECONDS": (900, "How long a console login lockout lasts."),
    "FLIPBOOK_CONSOLE_READ_ONLY": (
        False,
        "Read-only console: every write action of the console (subscriptions, parked events, "
        "snapshot rebuilds) is refused, whoever asks. The API keeps its key scopes.",
    ),
    "FLIPBOOK_CSP": ("", "The Content-Security-Policy header of HTML pages."),
    "FLIPBOOK_CSP_EXEMPT_PATHS": ((), "Path prefixes served without it (the API docs)."),
    "FLIPBOOK_METRICS": ("loopback", "Who may read /metrics: loopback, open or off."),
    "FLIPBOOK_METRICS_TOKEN": ("", "A bearer token that may read /metrics from anywhere."),
    "FLIPBOOK_CONSOLE_EXPORT": (
        True,
        "Let console users export the feed browser's results (JSON Lines, CSV); False hides "
        "the export buttons and refuses the export URL (403).",
    ),
    "FLIPBOOK_SINGLE_SERVER": (
        False,
        "Declare a one-server deployment: `serve` then accepts per-server state (a SQLite "
        "metadata database, a generated secret key) beside DynamoDB or the Redis bus.",
    ),
    # Stream lifecycle (docs/concepts/lifecycle.md).
    "FLIPBOOK_RETENTION": (
        {},
        'Retention per category, applied by `scavenge`: {category: {"max_age": seconds, '
        '"max_count": events}}; either key may be left out. A stream\'s own policy (set through '
        "the API, the CLI or the admin) replaces its category's.",
    ),
    "FLIPBOOK_SCAVENGE_INTERVAL": (
        0,
        "Seconds between the scavenges `serve` runs itself (0: never; run `flipbook scavenge`).",
    ),
    "FLIPBOOK_SCAVENGE_BATCH": (500, "Events one scavenging write removes at most."),
}


class FlipbookSettings:
    """Attribute access to the FLIPBOOK_* settings without their prefix: ``LIMITS``,
    ``SUBSCRIPTIONS``, ``BUS``, ``SNAPSHOT_POLICY`` (dicts merged over their defaults),
    ``EVENT_STORE``, ``SNAPSHOT_STORE`` and the plain ones (``REDIS_URL``, ...)."""

    # For the type checker only: the values are read on first access (``__getattr__``).
    LIMITS: dict[str, int]
    SUBSCRIPTIONS: dict[str, Any]
    BUS: dict[str, Any]
    SNAPSHOT_POLICY: dict[str, Any]
    PERSONAL_DATA: dict[str, Any]
    EVENT_STORE: dict[str, Any]
    SNAPSHOT_STORE: dict[str, Any]
    REDIS_URL: str
    REDUCERS: dict[str, str]
    HOST: str
    HTTP_PORT: int
    GRPC_PORT: int
    WORKERS: int
    HTTP_THREADS: int
    ASYNC_CONNECTIONS: int
    GRPC_TLS_CERT: str | None
    GRPC_TLS_KEY: str | None
    PUSH_IN_SERVE: str
    BUS_PREFIX: str
    SECRET_KEY_GENERATED: bool
    SINGLE_SERVER: bool
    CONSOLE_EXPORT: bool
    ALLOWED_ORIGINS: Sequence[str]
    PUSH_ALLOWED_NETWORKS: Sequence[str]
    REVOCATION_CHECK_SECONDS: float
    CONSOLE_READ_ONLY: bool
    BUS_RECHECK_SECONDS: float
    LOGIN_MAX_FAILURES: int
    LOGIN_LOCKOUT_SECONDS: int
    CSP: str
    CSP_EXEMPT_PATHS: Sequence[str]
    METRICS: str
    METRICS_TOKEN: str

    def __getattr__(self, name: str) -> Any:
        # Only called for what is not read yet: the value is then kept as an attribute of
        # the instance, so later reads are plain attribute reads (hot paths ask per append).
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._read("FLIPBOOK_" + name)
        setattr(self, name, value)
        return value

    def _read(self, setting: str) -> Any:
        if setting in DICT_SETTINGS:
            given = getattr(settings, setting, None) or {}
            merged = {key: default for key, (default, _) in DICT_SETTINGS[setting].items()}
            merged.update(given)
            return merged
        if setting in BACKEND_SETTINGS:
            return getattr(settings, setting, None) or BACKEND_SETTINGS[setting]
        if setting in PLAIN_SETTINGS:
            return getattr(settings, setting, PLAIN_SETTINGS[setting][0])
        raise AttributeError(f"{setting} is not a Flipbook setting")

    def reload(self, setting: str | None = None) -> None:
        """Forget what was read (all, or one ``FLIPBOOK_*`` setting)."""
        if setting is None:
            self.__dict__.clear()
        else:
            self.__dict__.pop(setting.removeprefix("FLIPBOOK_"), None)


flipbook_settings = FlipbookSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("FLIPBOOK_"):
        flipbook_settings.reload(setting)


setting_changed.connect(_reload, dispatch_uid="flipbook.conf")


def backend_options(backend_class: type) -> set[str]:
    """The keyword options a backend class accepts: the keyword parameters of every
    ``__init__`` along its MRO (a backend passes the rest on to its base with **options)."""
    names: set[str] = set()
    for klass in backend_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                names.add(parameter.name)
    names.discard("self")
    return names


def backend_class(
    setting: str, config: Any, base: type | None = None
) -> tuple[type, dict[str, Any]]:
    """The class and options a CACHES-shaped setting names, refusing what would otherwise be
    swallowed silently: a malformed dict, a class that cannot be imported, an option it does
    not take. Raises ImproperlyConfigured naming the setting and the fix."""
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.module_loading import import_string

    example = BACKEND_SETTINGS[setting]
    if not isinstance(config, dict) or not isinstance(config.get("BACKEND"), str):
        raise ImproperlyConfigured(
            f"{setting} must be a dict with a 'BACKEND' dotted path, like {example!r}."
        )
    extra = set(config) - {"BACKEND", "OPTIONS"}
    if extra:
        raise ImproperlyConfigured(
            f"{setting} has unknown keys {sorted(extra)}: only 'BACKEND' and 'OPTIONS'."
        )
    path = config["BACKEND"]
    try:
        klass = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{setting} BACKEND {path!r} cannot be imported: {exc}") from exc
    if base is not None and not (isinstance(klass, type) and issubclass(klass, base)):
        raise ImproperlyConfigured(
            f"{setting} BACKEND {path!r} is not a {base.__name__}: name a backend class."
        )
    options = config.get("OPTIONS") or {}
    if not isinstance(options, dict):
        raise ImproperlyConfigured(f"{setting} OPTIONS must be a dict of keyword options.")
    known = backend_options(klass) - {"options"}
    unknown = set(options) - known
    if unknown:
        raise ImproperlyConfigured(
            f"{setting} OPTIONS {sorted(unknown)} are not options of {path}; it takes "
            f"{sorted(known)}."
        )
    return klass, options


def load_backend(setting: str, config: Any, base: type[_Backend]) -> _Backend:
    """Build the backend a CACHES-shaped setting names, a ``base`` (see ``backend_class``)."""
    klass, options = backend_class(setting, config, base)
    backend: _Backend = klass(**options)
    return backend
