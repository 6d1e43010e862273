"""The SQL both dialects share: the columns the store reads and the conditional write of a
stream's head row that checks an append's expectation (the version check of every append)."""

from __future__ import annotations

from functools import cache
from typing import Any, final

from streams.records import DeletedState, PreparedAppend
from streams.speedups import json_loader

# JSON columns are read as text on every database, so decoding is one json.loads everywhere.
EVENT_COLUMNS = (
    "e.position, e.version, e.timestamp, e.name, CAST(e.payload AS text), "
    "CAST(e.metadata AS text), e.event_id, e.recorded_at"
)
STREAM_COLUMNS = (
    "s.stream_id, s.kind, s.category, s.version, s.event_count, s.created_at, s.updated_at, "
    "CAST(s.metadata AS text), "
    "CASE WHEN s.kind = 'neutral' THEN (SELECT max(x.position) FROM flipbook_event x "
    "WHERE x.stream_pk = s.id AND x.version IS NULL) ELSE (SELECT x.position FROM "
    "flipbook_event x WHERE x.stream_pk = s.id AND x.version IS NOT NULL "
    "ORDER BY x.version DESC LIMIT 1) END, s.deleted, s.truncate_before"
)
# flipbook_stream.deleted: 0 live, 1 soft-deleted, 2 hard-deleted (a tombstone).
DELETED_STATES: dict[int, DeletedState | None] = {0: None, 1: "soft", 2: "hard"}


def head_shape(a: PreparedAppend) -> tuple[str, bool, bool, bool]:
    """What decides the text of a head statement: the kind of expectation ("new", "any",
    "exists" or "at" a version), whether a kind and a category are given, and whether the
    append holds one event. What the shape fixes is written into the statement as literals:
    every parameter psycopg adapts costs client time."""
    expected = a.expected_version
    if expected == 0:
        check = "new"
    elif isinstance(expected, int):
        check = "at"
    else:
        check = expected
    return check, a.kind is not None, a.category is not None, len(a.events) == 1


@cache
def head_sql(check: str, kind_given: bool, category_given: bool, one: bool) -> str:
    """The head statement of a shape (see ``head_shape``), with named parameters among sid,
    n, new_kind, new_version, cat, now, kind, expected (see ``DatabaseEventStore.head_params``)."""
    n = "1" if one else "%(n)s"
    conditions = []
    if kind_given:
        conditions.append("flipbook_stream.kind = %(kind)s")
    elif check == "at":
        conditions.append("flipbook_stream.kind = 'versioned'")
    if category_given:
        conditions.append(
            "(flipbook_stream.category IS NULL OR flipbook_stream.category = %(cat)s)"
        )
    if check == "at":
        conditions.append("flipbook_stream.version = %(expected)s")
    # A tombstone refuses every append; an append to a soft-deleted stream starts it again.
    conditions.append("flipbook_stream.deleted < 2")
    update = (
        "version = CASE WHEN flipbook_stream.kind = 'neutral' THEN 0 "
        f"ELSE flipbook_stream.version + {n} END, "
        f"event_count = flipbook_stream.event_count + {n}, updated_at = %(now)s, deleted = 0"
    )
    if category_given:
        update += ", category = COALESCE(flipbook_stream.category, %(cat)s)"
    if kind_given:
        new_kind, new_version = "%(new_kind)s", "%(new_version)s"
    else:
        new_kind, new_version = "'versioned'", n
    insert = (
        "INSERT INTO flipbook_stream (stream_id, kind, category, version, event_count, "
        f"created_at, updated_at, metadata) VALUES (%(sid)s, {new_kind}, "
        f"{'%(cat)s' if category_given else 'NULL'}, {new_version}, {n}, %(now)s, %(now)s, '{{}}')"
    )
    returning = " RETURNING id, kind, version, category"
    where = " AND ".join(conditions)
    if check == "new":
        return insert + " ON CONFLICT (stream_id) DO NOTHING" + returning
    if check == "any":
        return (
            insert + " ON CONFLICT (stream_id) DO UPDATE SET " + update
            + (" WHERE " + where if where else "") + returning
        )  # fmt: skip
    return (
        "UPDATE flipbook_stream SET " + update + " WHERE flipbook_stream.stream_id = %(sid)s"
        + (" AND " + where if where else "") + returning
    )  # fmt: skip


_loads = json_loader()


def load_json(value: Any) -> Any:
    """A JSON column read as text (or already decoded by the driver)."""
    if value is None or not isinstance(value, (str, bytes, bytearray)):
        return value
    return _loads(value)


# (version, kind, category) of a stream's head row.
HeadRow = tuple[int, str, str | None]


@final  # so that `type(result) is Refused` narrows both ways (it is the hot path's test)
class Refused(Exception):
    """A stream's head check failed, and nothing of the commit was stored. ``head`` is
    (version, kind, category) of the stream as the statement saw it, when it could."""

    def __init__(self, index: int, head: HeadRow | None = None) -> None:
        self.index = index
        self.head = head
