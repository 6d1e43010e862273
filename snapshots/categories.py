"""A category's reducer: its row in the admin (``Category``), else a registered Python
reducer, else the built-in merge (see snapshots/reducers.py for the reducers themselves).
Apart from the reducers so that the Category model, which validates its reducer with them,
and the lookup of its rows do not import each other."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from snapshots.reducers import MERGE, Reducer, build_reducer, registered_reducer
from streams.exceptions import ReducerError, Unavailable, ValidationError


def reducer_for_category(category: str | None) -> Reducer:
    """The reducer of a category (see the module docstring for the order). Raises
    ReducerError when the category's configuration is broken (bad rules, missing function),
    Unavailable when the database holding the categories cannot be read."""
    if not category:
        return MERGE
    row = category_settings(category)
    try:
        if row is not None:
            kind, rules, python_path, _ = row
            return build_reducer(kind, rules=rules, python_path=python_path, category=category)
        found = registered_reducer(category)
    except (ValidationError, ImproperlyConfigured) as exc:
        message = exc.message if isinstance(exc, ValidationError) else str(exc)
        raise ReducerError(
            f"the reducer of category {category!r} is misconfigured: {message}; fix it in "
            "the admin (Categories) or in FLIPBOOK_REDUCERS",
            category=category,
        ) from exc
    if found is None:
        return replace(MERGE, source=f"{MERGE.source} (default for category {category!r})")
    return replace(found, source=f"{found.source} of category {category!r}")


def category_settings(category: str) -> tuple[str, Any, str, int | None] | None:
    """The admin's settings of a category: (reducer kind, rules, python path, snapshot
    every), or None when it has none. One indexed query, read fresh on every call so an
    edit in the admin applies at once in every process."""
    from django.db import DatabaseError, connections, router

    from snapshots.models import Category  # the app registry is ready by the time this runs

    connection = connections[router.db_for_read(Category)]
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reducer, CAST(rules AS text), python_path, snapshot_every "
                f"FROM {Category._meta.db_table} WHERE name = %s",
                [category],
            )
            row = cursor.fetchone()
    except DatabaseError as exc:
        raise Unavailable(
            f"the {connection.vendor} database holding the categories is unavailable; retry later"
        ) from exc
    if row is None:
        return None
    kind, rules, python_path, every = row
    return kind, json.loads(rules) if rules is not None else {}, python_path or "", every
