"""The event store on Django's database: SQLite (the embedded default) or PostgreSQL.

``store.py`` holds the store and the SQL both dialects share; each dialect declares what it
can do in a ``DatabaseFeatures`` (``features.py``) and implements the few statements that
differ in its own module (``sqlite.py``, ``postgresql.py``)."""

from streams.backends.database.store import DatabaseEventStore

__all__ = ["DatabaseEventStore"]
