"""The dashboard: totals, events per minute over the last hour, live activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.health import health_summary
from console.views.common import console_data, console_page
from streams import services
from streams.conf import flipbook_settings

WINDOW_MINUTES = 60


def store_is_database() -> bool:
    """True on the database backend, whose console reads are one indexed SQL each; other
    backends answer them by walking every stream head (slower on a big store)."""
    return flipbook_settings.EVENT_STORE["BACKEND"].endswith(".DatabaseEventStore")


@console_page
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/dashboard.html",
        {"nav": "dashboard", "window": WINDOW_MINUTES, "scanning": not store_is_database()},
    )


@console_data
def dashboard_data(request: HttpRequest) -> dict[str, Any]:
    """Totals and the events recorded per minute over the last hour (oldest minute first)."""
    now = datetime.now(UTC)
    series = services.events_per_minute(now - timedelta(minutes=WINDOW_MINUTES - 1), now)
    return {
        "totals": services.store_totals(),
        "per_minute": [{"minute": m.isoformat(), "count": n} for m, n in series],
        "now": now.isoformat(),
    }


@console_data
def health_data(request: HttpRequest) -> dict[str, Any]:
    """The health summary the strip and the dashboard poll (console/health.py)."""
    return health_summary()
