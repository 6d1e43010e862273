"""Flipbook settings, read from FLIPBOOK_* environment variables (see README)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from flipbook_site.dburl import database_from_url, sqlite_database

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FLIPBOOK_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from exc


DEBUG = env_bool("FLIPBOOK_DEBUG", False)
SECRET_KEY = os.environ.get("FLIPBOOK_SECRET_KEY", "")
FLIPBOOK_SECRET_KEY_GENERATED = not SECRET_KEY
if not SECRET_KEY:
    # A per-checkout key so the embedded default works out of the box; production sets one.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        # Readable by its owner only: whoever reads it can forge sessions.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(get_random_secret_key())
    elif key_file.stat().st_mode & 0o077:
        key_file.chmod(0o600)  # written 0644 by earlier versions
    SECRET_KEY = key_file.read_text().strip()

# The names this server answers to (HTTP Host and WebSocket handshakes); anything else gets
# 400. The default serves this machine only; a deployment lists its public names. The host
# `serve` binds (FLIPBOOK_HOST) is added when it is one address, not a wildcard.
_default_hosts = ["localhost", "127.0.0.1", "[::1]"]
_bind_host = os.environ.get("FLIPBOOK_HOST", "127.0.0.1")
if _bind_host not in ("", "0.0.0.0", "::", "[::]"):
    _default_hosts.append(f"[{_bind_host}]" if ":" in _bind_host else _bind_host)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("FLIPBOOK_ALLOWED_HOSTS", ",".join(_default_hosts)).split(",")
    if h.strip()
]
# Browser origins besides the server's own that may open WebSockets (flipbook_site/origins.py),
# e.g. "https://console.example.com"; comma-separated. Same-origin sockets need no entry.
FLIPBOOK_ALLOWED_ORIGINS = [
    o.strip() for o in os.environ.get("FLIPBOOK_ALLOWED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "flipbook_site",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "streams",
    "streams.personal_data",
    "snapshots",
    "subscriptions",
    "api",
    "console",
    "channels",
]

# -- Transport security (docs/operations/security.md) ------------------------------------------
# Behind TLS (directly or at a proxy): FLIPBOOK_SECURE_COOKIES=true sends session and CSRF
# cookies over HTTPS only; FLIPBOOK_HSTS_SECONDS > 0 tells browsers to use HTTPS only;
# FLIPBOOK_TRUST_X_FORWARDED_PROTO=true believes a proxy's X-Forwarded-Proto: https.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("FLIPBOOK_SECURE_COOKIES", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("FLIPBOOK_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("FLIPBOOK_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("FLIPBOOK_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The Content Security Policy of every HTML page (flipbook_site/security.py). The console
# runs no inline script; the API's Swagger and Redoc pages (vendor pages) are exempt.
FLIPBOOK_CSP = os.environ.get(
    "FLIPBOOK_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
FLIPBOOK_CSP_EXEMPT_PATHS = ["/api/v1/docs/", "/api/v1/redoc/"]
# /metrics: "loopback" (default: clients on this machine, or any client with the bearer
# FLIPBOOK_METRICS_TOKEN), "open" (anyone), "off" (404 for all).
FLIPBOOK_METRICS = os.environ.get("FLIPBOOK_METRICS", "loopback").strip().lower()
FLIPBOOK_METRICS_TOKEN = os.environ.get("FLIPBOOK_METRICS_TOKEN", "")
# The console's feed export (JSON Lines, CSV); "false" hides it and refuses /feed/export.
FLIPBOOK_CONSOLE_EXPORT = env_bool("FLIPBOOK_CONSOLE_EXPORT", True)
if FLIPBOOK_METRICS not in ("loopback", "open", "off"):
    raise ImproperlyConfigured(
        f"FLIPBOOK_METRICS={FLIPBOOK_METRICS!r} is not known: choose loopback, open or off."
    )

# Login throttling (console/throttle.py): this many failed logins per user name (4x per
# address) lock logins for FLIPBOOK_LOGIN_LOCKOUT_SECONDS; 0 turns throttling off.
FLIPBOOK_LOGIN_MAX_FAILURES = env_int("FLIPBOOK_LOGIN_MAX_FAILURES", 5)
FLIPBOOK_LOGIN_LOCKOUT_SECONDS = env_int("FLIPBOOK_LOGIN_LOCKOUT_SECONDS", 900)
# A console that shows everything and changes nothing, whoever is logged in (api/roles.py).
FLIPBOOK_CONSOLE_READ_ONLY = env_bool("FLIPBOOK_CONSOLE_READ_ONLY", False)

MIDDLEWARE = [
    # First: health probes address servers by IP, which no Host check should refuse (api/ops.py).
    "api.ops.HealthChecksMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "flipbook_site.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last on purpose: this sync-only middleware makes the whole chain above it run in sync
    # mode under ASGI, one thread hop per request instead of one per middleware method
    # (5.8 -> 2.5 ms for a trivial request).
    "api.rest.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "flipbook_site.urls"
# Console messages live in the session: the cookie storage builds a signer on every request,
# API calls included, which cost more than the rest of the middleware together.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
WSGI_APPLICATION = "flipbook_site.wsgi.application"
ASGI_APPLICATION = "flipbook_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database_url = os.environ.get("FLIPBOOK_DATABASE_URL", "")
DATABASES = {
    "default": database_from_url(_database_url, base_dir=BASE_DIR)
    if _database_url
    else sqlite_database(VAR_DIR / "flipbook.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The event store backend, shaped like CACHES. FLIPBOOK_EVENT_STORE picks a named preset.
# DynamoDB (FLIPBOOK_EVENT_STORE=dynamodb): the endpoint is empty for AWS itself, or a local
# one (DynamoDB Local; dummy credentials are used there); the table is <prefix>events, made
# by `manage.py flipbook_dynamodb create-tables`.
FLIPBOOK_DYNAMODB_ENDPOINT = os.environ.get("FLIPBOOK_DYNAMODB_ENDPOINT", "")
FLIPBOOK_DYNAMODB_TABLE_PREFIX = os.environ.get("FLIPBOOK_DYNAMODB_TABLE_PREFIX", "flipbook_")
FLIPBOOK_DYNAMODB_REGION = os.environ.get("FLIPBOOK_DYNAMODB_REGION", "us-east-1")
# Redis (FLIPBOOK_EVENT_STORE=redis): a URL of its own, because the event store needs a Redis
# with persistence (AOF) and no eviction, which the bus and snapshots do not; FLIPBOOK_REDIS_URL
# serves when it is unset. PERSISTENCE is what `serve` checks: aof, managed or none (development).
FLIPBOOK_REDIS_EVENT_STORE_URL = os.environ.get("FLIPBOOK_REDIS_EVENT_STORE_URL", "") or (
    os.environ.get("FLIPBOOK_REDIS_URL", "")
)
EVENT_STORE_PRESETS: dict[str, dict[str, Any]] = {
    "db": {"BACKEND": "streams.backends.database.DatabaseEventStore", "OPTIONS": {}},
    "dynamodb": {
        "BACKEND": "streams.backends.dynamodb.DynamoDBEventStore",
        "OPTIONS": {
            "endpoint_url": FLIPBOOK_DYNAMODB_ENDPOINT or None,
            "table_prefix": FLIPBOOK_DYNAMODB_TABLE_PREFIX,
            "region_name": FLIPBOOK_DYNAMODB_REGION,
        },
    },
    "redis": {
        "BACKEND": "streams.backends.redis.RedisEventStore",
        "OPTIONS": {
            "url": FLIPBOOK_REDIS_EVENT_STORE_URL,
            "key_prefix": os.environ.get("FLIPBOOK_REDIS_EVENT_STORE_PREFIX", "flipbook:events"),
            "persistence": os.environ.get("FLIPBOOK_REDIS_EVENT_STORE_PERSISTENCE", "aof"),
        },
    },
}
_event_store = os.environ.get("FLIPBOOK_EVENT_STORE", "db")
if _event_store not in EVENT_STORE_PRESETS:
    raise ImproperlyConfigured(
        f"FLIPBOOK_EVENT_STORE={_event_store!r} is not known: choose one of "
        f"{', '.join(sorted(EVENT_STORE_PRESETS))}."
    )
if _event_store == "redis" and not FLIPBOOK_REDIS_EVENT_STORE_URL:
    raise ImproperlyConfigured(
        "FLIPBOOK_EVENT_STORE=redis needs FLIPBOOK_REDIS_EVENT_STORE_URL (or FLIPBOOK_REDIS_URL), "
        "e.g. redis://127.0.0.1:6379/0 (add ?cluster=true for a Redis Cluster)."
    )
FLIPBOOK_EVENT_STORE = EVENT_STORE_PRESETS[_event_store]

# Limits every interface enforces through the store service.
FLIPBOOK_LIMITS = {
    "MAX_PAYLOAD_BYTES": env_int("FLIPBOOK_MAX_PAYLOAD_BYTES", 1024 * 1024),
    "MAX_METADATA_BYTES": env_int("FLIPBOOK_MAX_METADATA_BYTES", 64 * 1024),
    "MAX_EVENTS_PER_COMMIT": env_int("FLIPBOOK_MAX_EVENTS_PER_COMMIT", 1000),
    "MAX_STREAMS_PER_COMMIT": env_int("FLIPBOOK_MAX_STREAMS_PER_COMMIT", 100),
    "MAX_READ_LIMIT": env_int("FLIPBOOK_MAX_READ_LIMIT", 10_000),
}

FLIPBOOK_REDIS_URL = os.environ.get("FLIPBOOK_REDIS_URL", "")

FLIPBOOK_HOST = os.environ.get("FLIPBOOK_HOST", "127.0.0.1")
FLIPBOOK_HTTP_PORT = env_int("FLIPBOOK_HTTP_PORT", 8000)
FLIPBOOK_WORKERS = env_int("FLIPBOOK_WORKERS", 0)
FLIPBOOK_HTTP_THREADS = env_int("FLIPBOOK_HTTP_THREADS", 8)
FLIPBOOK_ASYNC_CONNECTIONS = env_int("FLIPBOOK_ASYNC_CONNECTIONS", 8)
FLIPBOOK_GRPC_PORT = env_int("FLIPBOOK_GRPC_PORT", 50051)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "api.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FLIPBOOK_LOG_LEVEL", "INFO")},
}

# gRPC TLS: PEM certificate (chain) and private key files; both unset = plaintext.
FLIPBOOK_GRPC_TLS_CERT = os.environ.get("FLIPBOOK_GRPC_TLS_CERT") or None
FLIPBOOK_GRPC_TLS_KEY = os.environ.get("FLIPBOOK_GRPC_TLS_KEY") or None

# -- REST API (api/rest/) ----------------------------------------------------------------------
# The largest request body the REST API reads (413 too_large above it); Django's own limit agrees.
FLIPBOOK_LIMITS["MAX_REQUEST_BYTES"] = env_int("FLIPBOOK_MAX_REQUEST_BYTES", 32 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = FLIPBOOK_LIMITS["MAX_REQUEST_BYTES"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.rest.authentication.BearerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.rest.authentication.HasApiKey"],
    "DEFAULT_PARSER_CLASSES": ["api.rest.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.rest.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.rest.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Flipbook REST API",
    "DESCRIPTION": (
        "The event store over HTTP. Send an API key as `Authorization: Bearer <key>`. Stream "
        "ids are percent-encoded as one path segment (`/` as `%2F`). Errors are "
        '`{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],  # the schema and docs are public; a stray header cannot 401 them
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The docs work offline: Swagger UI and Redoc are served from drf-spectacular-sidecar.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The console's look and contrast (axe, WCAG AA): no deep-link anchors nested in Swagger's
    # operation buttons; Redoc in the console's font and darker greys.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_UI_SETTINGS": {
        "theme": {
            "colors": {
                "primary": {"main": "#2f4bb8"},
                "text": {"primary": "#1d1c1a", "secondary": "#4f4b44"},
                "success": {"main": "#176b2e"},
                "warning": {"main": "#8a4a00"},
                "error": {"main": "#b42318"},
                "http": {
                    "get": "#1f5fa8",
                    "post": "#176b2e",
                    "put": "#8a4a00",
                    "delete": "#b42318",
                    "patch": "#0f766e",
                },
            },
            "typography": {"fontFamily": "system-ui, sans-serif", "code": {"color": "#8a2a1a"}},
            "sidebar": {"textColor": "#1d1c1a", "backgroundColor": "#f5f3ee"},
            "rightPanel": {"backgroundColor": "#1e2024", "textColor": "#ecebe8"},
        }
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.rest.schema.close_request_objects",
    ],
}

# -- Reducers and snapshots -----------------------------------------------------------------
# Python reducers per category: {"wallet": "snapshots.demo_reducers.wallet"}. A category's row
# in the admin (Categories) takes precedence; streams without either use the merge reducer.
FLIPBOOK_REDUCERS: dict[str, str] = {}

# The snapshot store backend, shaped like CACHES. FLIPBOOK_SNAPSHOT_STORE picks a preset;
# FLIPBOOK_SNAPSHOT_TTL (seconds, 0 = forever) is how long a snapshot lives.
_snapshot_ttl = env_int("FLIPBOOK_SNAPSHOT_TTL", 0) or None
SNAPSHOT_STORE_PRESETS = {
    "db": {
        "BACKEND": "snapshots.backends.database.DatabaseSnapshotStore",
        "OPTIONS": {"ttl": _snapshot_ttl},
    },
    "redis": {
        "BACKEND": "snapshots.backends.redis.RedisSnapshotStore",
        "OPTIONS": {"url": FLIPBOOK_REDIS_URL, "ttl": _snapshot_ttl},
    },
}
_snapshot_store = os.environ.get("FLIPBOOK_SNAPSHOT_STORE", "db")
if _snapshot_store not in SNAPSHOT_STORE_PRESETS:
    raise ImproperlyConfigured(
        f"FLIPBOOK_SNAPSHOT_STORE={_snapshot_store!r} is not known: choose one of "
        f"{', '.join(sorted(SNAPSHOT_STORE_PRESETS))}."
    )
if _snapshot_store == "redis" and not FLIPBOOK_REDIS_URL:
    raise ImproperlyConfigured(
        "FLIPBOOK_SNAPSHOT_STORE=redis needs FLIPBOOK_REDIS_URL (e.g. redis://127.0.0.1:6379/0; "
        "add ?cluster=true for a Redis Cluster)."
    )
FLIPBOOK_SNAPSHOT_STORE = SNAPSHOT_STORE_PRESETS[_snapshot_store]

# Snapshots of categories with a policy ("every N events", in the admin) are made after each
# commit by a background thread; a full queue drops work instead of slowing appends down.
FLIPBOOK_SNAPSHOT_POLICY = {
    "ENABLED": env_bool("FLIPBOOK_SNAPSHOT_POLICY", True),
    "QUEUE_SIZE": env_int("FLIPBOOK_SNAPSHOT_QUEUE_SIZE", 10_000),
}
FLIPBOOK_LIMITS["MAX_SNAPSHOT_BYTES"] = env_int("FLIPBOOK_MAX_SNAPSHOT_BYTES", 16 * 1024 * 1024)

# -- Event bus (streams/bus.py, console/consumers.py) ---------------------------------------
# Channels groups per stream, per category and for the all-feed. In-memory (one process) by
# default; with FLIPBOOK_REDIS_URL, the Redis pub/sub layer, so a commit in any process (REST,
# gRPC, a management command, another server) reaches every socket. Pub/sub sends a commit to
# each server process once per group and fans out locally; the core layer stores one message
# per socket in Redis, which fell behind at 50 sockets (bench/bus.py). Pub/sub keeps nothing
# for a process that is away: consumers prove their subscription before catching up from the
# store and treat live messages as wake-up calls, so the store stays the truth.
FLIPBOOK_BUS_PREFIX = os.environ.get("FLIPBOOK_BUS_PREFIX", "")
if FLIPBOOK_REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [FLIPBOOK_REDIS_URL],
                "prefix": FLIPBOOK_BUS_PREFIX or "flipbook",
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 1000, "expiry": 60},
        }
    }
# A quiet live socket compares its position with the store this often (console/consumers.py),
# so a lost bus announcement delays an event by at most this long.
FLIPBOOK_BUS_RECHECK_SECONDS = float(os.environ.get("FLIPBOOK_BUS_RECHECK_SECONDS", "5"))
# Open WebSockets and gRPC streams recheck their API key this often (api/auth.py): a revoked
# key's streams end within it.
FLIPBOOK_REVOCATION_CHECK_SECONDS = float(os.environ.get("FLIPBOOK_REVOCATION_CHECK_SECONDS", "5"))
FLIPBOOK_BUS = {
    "QUEUE_SIZE": env_int("FLIPBOOK_BUS_QUEUE_SIZE", 1000),  # live events buffered per socket
    "CATCH_UP_PAGE": env_int("FLIPBOOK_BUS_CATCH_UP_PAGE", 500),  # store page during catch-up
    "PUBLISH_TIMEOUT": float(os.environ.get("FLIPBOOK_BUS_PUBLISH_TIMEOUT", "2")),
}

# -- Durable subscriptions (subscriptions/, defaults in streams/conf.py) ---------------------
# Missing keys take the defaults of subscriptions.services.DEFAULTS. The push worker runs inside
# `serve` on the embedded default (SQLite); elsewhere run `flipbook subscriptions` beside it
# (FLIPBOOK_PUSH_IN_SERVE=true/false overrides).
FLIPBOOK_SUBSCRIPTIONS = {
    "STALL_SECONDS": float(os.environ.get("FLIPBOOK_SUBSCRIPTION_STALL_SECONDS", "60")),
    "LAG_CAP": env_int("FLIPBOOK_SUBSCRIPTION_LAG_CAP", 1000),
    "PUSH_TIMEOUT_SECONDS": float(os.environ.get("FLIPBOOK_PUSH_TIMEOUT_SECONDS", "10")),
    "PUSH_BACKOFF_MAX_SECONDS": float(os.environ.get("FLIPBOOK_PUSH_BACKOFF_MAX_SECONDS", "60")),
}
FLIPBOOK_PUSH_IN_SERVE = os.environ.get("FLIPBOOK_PUSH_IN_SERVE", "auto").strip().lower()

# -- Stream lifecycle (docs/concepts/lifecycle.md) ------------------------------------------
# `serve` scavenges every FLIPBOOK_SCAVENGE_INTERVAL seconds when set (0: only `flipbook
# scavenge`); FLIPBOOK_RETENTION is JSON: {"category": {"max_age": seconds, "max_count": n}}.
FLIPBOOK_SCAVENGE_INTERVAL = float(os.environ.get("FLIPBOOK_SCAVENGE_INTERVAL", "0"))
FLIPBOOK_SCAVENGE_BATCH = env_int("FLIPBOOK_SCAVENGE_BATCH", 500)
FLIPBOOK_RETENTION = json.loads(os.environ.get("FLIPBOOK_RETENTION", "") or "{}")

# `serve` refuses a scale-out deployment (DynamoDB, or the Redis bus) that keeps state per
# server (a SQLite metadata database, a generated secret key) unless this says it is the only
# server (streams/checks.py).
FLIPBOOK_SINGLE_SERVER = env_bool("FLIPBOOK_SINGLE_SERVER", False)

# Outbound request policy of push delivery (subscriptions/outbound.py): webhooks and gRPC
# targets must resolve to public addresses; these networks (CIDRs, comma-separated) are
# allowed besides, e.g. "127.0.0.0/8,::1" for a handler on this machine. Empty by default.
FLIPBOOK_PUSH_ALLOWED_NETWORKS = [
    n.strip() for n in os.environ.get("FLIPBOOK_PUSH_ALLOWED_NETWORKS", "").split(",") if n.strip()
]
