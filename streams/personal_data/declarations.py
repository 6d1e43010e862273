"""Which payload fields are personal: FLIPBOOK_PERSONAL_DATA["CATEGORIES"], compiled once per
value of the setting (an append asks on every call, so the answer is one identity check)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from streams.conf import flipbook_settings
from streams.personal_data.paths import PathError, Step, parse_path

SETTING = 'FLIPBOOK_PERSONAL_DATA["CATEGORIES"]'


@dataclass(frozen=True, slots=True)
class CompiledPath:
    text: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Declaration:
    """A category's personal fields, and where its payloads name the subject (None: the
    stream id is the subject)."""

    fields: tuple[CompiledPath, ...]
    subject: CompiledPath | None


@dataclass(frozen=True, slots=True)
class Declarations:
    categories: dict[str, Declaration]
    metadata_key: str


def compile_categories(config: Any) -> dict[str, Declaration]:
    """Compile the CATEGORIES setting. Raises ImproperlyConfigured naming the bad entry."""
    if not isinstance(config, dict):
        raise ImproperlyConfigured(f"{SETTING} must be a dict of category: declaration.")
    compiled: dict[str, Declaration] = {}
    for category, entry in config.items():
        where = f"{SETTING}[{category!r}]"
        if not isinstance(category, str) or not category:
            raise ImproperlyConfigured(f"{SETTING} keys must be category names (strings).")
        if not isinstance(entry, dict):
            raise ImproperlyConfigured(
                f"{where} must be a dict like {{'fields': ['$.email'], 'subject': '$.id'}}."
            )
        unknown = set(entry) - {"fields", "subject"}
        if unknown:
            raise ImproperlyConfigured(
                f"{where} has unknown keys {sorted(unknown)}: only 'fields' and 'subject'."
            )
        fields = entry.get("fields")
        if not isinstance(fields, (list, tuple)) or not fields:
            raise ImproperlyConfigured(f"{where}['fields'] must be a non-empty list of JSON paths.")
        paths = tuple(_compile(f, f"{where}['fields'][{i}]") for i, f in enumerate(fields))
        subject = entry.get("subject")
        subject_path = None if subject is None else _compile(subject, f"{where}['subject']")
        if subject_path is not None and any(
            subject_path.steps[: len(p.steps)] == p.steps for p in paths
        ):
            raise ImproperlyConfigured(
                f"{where}['subject'] {subject!r} lies inside a personal field: the subject id "
                "must stay readable to find its key; name it outside the fields."
            )
        compiled[category] = Declaration(tuple(sorted(paths, key=_depth)), subject_path)
    return compiled


def _depth(path: CompiledPath) -> int:
    return len(path.steps)


def _compile(text: Any, where: str) -> CompiledPath:
    try:
        return CompiledPath(text, parse_path(text))
    except PathError as exc:
        raise ImproperlyConfigured(f"{where}: {exc}") from exc


_cache: tuple[object, Declarations] | None = None
_lock = threading.Lock()


def current() -> Declarations:
    """The compiled declarations of the current settings."""
    global _cache
    config = flipbook_settings.PERSONAL_DATA
    cached = _cache
    if cached is not None and cached[0] is config:
        return cached[1]
    with _lock:
        declarations = Declarations(
            compile_categories(config["CATEGORIES"]), str(config["METADATA_KEY"])
        )
        _cache = (config, declarations)
    return declarations
