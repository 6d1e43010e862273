"""The three systems under test, behind one small interface (base.py): Flipbook's store
service, a plain psycopg table, and the eventsourcing library's PostgreSQL recorder."""

from __future__ import annotations

from bench.database import ServerUrl
from bench.systems.base import BenchSystem

SYSTEM_NAMES = ("flipbook", "psycopg", "eventsourcing")


def open_system(name: str, url: ServerUrl, *, writers: int) -> BenchSystem:
    """Return the system called ``name`` on the benchmark database (imported lazily:
    Flipbook's needs Django set up first)."""
    if name == "flipbook":
        from bench.systems.flipbook import FlipbookSystem

        return FlipbookSystem(url)
    if name == "psycopg":
        from bench.systems.psycopg_table import PsycopgSystem

        return PsycopgSystem(url)
    if name == "eventsourcing":
        from bench.systems.eventsourcing_recorder import EventsourcingSystem

        return EventsourcingSystem(url, writers=writers)
    raise ValueError(f"unknown system {name!r}; choose one of {', '.join(SYSTEM_NAMES)}")
