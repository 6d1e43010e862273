"""The health summary the strip on every page and the dashboard show: backend and bus state,
events per second, each subscription's lag and state, the push worker's last delivery, and
the problems with a link to each.

Served by a polling endpoint, not the WebSocket bus: most of what it reports (a stall, a
backend that stopped answering) is the absence of events, which no push would announce, so
someone must look on a timer anyway. One answer is kept HEALTH_CACHE_SECONDS per process,
so any number of open tabs costs the store one summary per period."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from streams import services
from streams.conf import flipbook_settings
from streams.exceptions import FlipbookError
from subscriptions import services as subscriptions

HEALTH_CACHE_SECONDS = 2.0
HEALTH_SUBSCRIPTIONS = 100  # subscriptions summarised (by name); the page lists them all
RATE_WINDOW_SECONDS = 60

# A store that is not a Django database answers events_per_minute by walking every stream
# head: its rate is kept a minute rather than recounted every few seconds.
SCANNED_RATE_SECONDS = 60.0

_cache: tuple[float, dict[str, Any]] | None = None
_rate: tuple[float, float] | None = None
_lock = threading.Lock()


def health_summary() -> dict[str, Any]:
    """The summary (cached briefly, see the module docstring); never raises: a failing part
    is reported as a problem."""
    global _cache
    with _lock:
        if _cache is not None and time.monotonic() - _cache[0] < HEALTH_CACHE_SECONDS:
            return _cache[1]
    summary = _summarise()
    with _lock:
        _cache = (time.monotonic(), summary)
    return summary


def forget_cached_summary() -> None:
    """Drop the cached summary (after a console action, so the next look is fresh)."""
    global _cache, _rate
    with _lock:
        _cache = _rate = None


def _summarise() -> dict[str, Any]:
    now = datetime.now(UTC)
    problems: list[dict[str, str]] = []
    checks = services.check_ready()
    store_state = checks.get("event_store", "unknown")
    backend = {
        "kind": flipbook_settings.EVENT_STORE["BACKEND"].rsplit(".", 1)[-1],
        "state": store_state,
    }
    if store_state != "ok":
        problems.append(_problem("bad", f"event store: {store_state}", "/"))
    if flipbook_settings.REDIS_URL:
        bus = {"kind": "redis", "state": checks.get("redis", "unknown")}
        if bus["state"] != "ok":
            problems.append(_problem("bad", f"bus (Redis): {bus['state']}", "/"))
    else:
        bus = {"kind": "in-process", "state": "ok"}
    rate: float | None = None
    if store_state == "ok":
        try:
            rate = _events_per_second(now)
        except FlipbookError as exc:
            problems.append(_problem("warn", f"events per second: {exc.message}", "/"))
    subs: list[dict[str, Any]] = []
    last_push: datetime | None = None
    more = False
    try:
        page = subscriptions.list_subscriptions(limit=HEALTH_SUBSCRIPTIONS)
        more = page.next_cursor is not None
        for info in page.items:
            subs.append(
                {
                    "name": info.name,
                    "status": info.status,
                    "lag": info.lag,
                    "lag_capped": info.lag_capped,
                    "parked": info.parked,
                    "href": "/subscriptions/#sub-" + quote(info.name),
                }
            )
            if info.push and info.last_heartbeat:
                last_push = max(last_push or info.last_heartbeat, info.last_heartbeat)
            if info.status == "stalled":
                lag = f"{info.lag}{'+' if info.lag_capped else ''}"
                problems.append(
                    _problem("bad", f"{info.name} is stalled ({lag} behind)", subs[-1]["href"])
                )
            if info.parked:
                problems.append(
                    _problem(
                        "warn",
                        f"{info.name} has {info.parked} parked event"
                        f"{'s' if info.parked != 1 else ''}",
                        subs[-1]["href"],
                    )
                )
    except FlipbookError as exc:
        problems.append(_problem("bad", f"subscriptions: {exc.message}", "/subscriptions/"))
    levels = {p["level"] for p in problems}
    return {
        "status": "bad" if "bad" in levels else "warn" if levels else "ok",
        "checked_at": now.isoformat(),
        "backend": backend,
        "bus": bus,
        "events_per_second": rate,
        "subscriptions": subs,
        "subscriptions_more": more,
        "counts": {
            status: sum(1 for s in subs if s["status"] == status)
            for status in ("live", "behind", "stalled", "idle", "paused")
        },
        "parked": sum(s["parked"] for s in subs),
        "push_last_delivery": last_push.isoformat() if last_push else None,
        "problems": problems,
    }


def _events_per_second(now: datetime) -> float:
    global _rate
    scanned = not flipbook_settings.EVENT_STORE["BACKEND"].endswith(".DatabaseEventStore")
    if scanned and _rate is not None and time.monotonic() - _rate[0] < SCANNED_RATE_SECONDS:
        return _rate[1]
    rate = _count_rate(now)
    _rate = (time.monotonic(), rate)
    return rate


def _count_rate(now: datetime) -> float:
    since = now - timedelta(seconds=RATE_WINDOW_SECONDS)
    series = services.events_per_minute(since, now)
    # The buckets cover whole minutes from since's minute on: divide by the time they span.
    start = series[0][0] if series else since
    seconds = max((now - start).total_seconds(), 1.0)
    return round(sum(count for _, count in series) / seconds, 2)


def _problem(level: str, text: str, href: str) -> dict[str, str]:
    return {"level": level, "text": text, "href": href}
