"""Flipbook settings, read from FLIPBOOK_* environment variables (see README)."""

from __future__ import annotations

import os
from pathlib import Path

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
if not SECRET_KEY:
    # A per-checkout key so the embedded default works out of the box; production sets one.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = [h for h in os.environ.get("FLIPBOOK_ALLOWED_HOSTS", "*").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "flipbook_site",
    "streams",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "flipbook_site.urls"
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
EVENT_STORE_PRESETS = {
    "db": {"BACKEND": "streams.backends.database.DatabaseEventStore", "OPTIONS": {}},
}
_event_store = os.environ.get("FLIPBOOK_EVENT_STORE", "db")
if _event_store not in EVENT_STORE_PRESETS:
    raise ImproperlyConfigured(
        f"FLIPBOOK_EVENT_STORE={_event_store!r} is not known: choose one of "
        f"{', '.join(sorted(EVENT_STORE_PRESETS))}."
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
FLIPBOOK_GRPC_PORT = env_int("FLIPBOOK_GRPC_PORT", 50051)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

LOGIN_URL = "/admin/login/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "api.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FLIPBOOK_LOG_LEVEL", "INFO")},
}
