"""MkDocs hook: pages dropped into docs/clients/ or docs/operations/ join their nav section.

mkdocs.yml lists the pages it knows in order; a page added to one of these folders later
(a client's page, an operations how-to) appears at the end of its section without editing
mkdocs.yml, titled by its first heading. List it in mkdocs.yml to choose its place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

# nav section title -> the folder under docs/ whose pages it gathers
OPEN_SECTIONS = {"Clients": "clients", "Operations": "operations"}


def listed_pages(nav: Any) -> set[str]:
    """Every page path the nav names, at any depth."""
    found: set[str] = set()
    if isinstance(nav, str):
        found.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            found |= listed_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            found |= listed_pages(value)
    return found


def on_config(config: Any) -> Any:
    nav = config.nav
    docs_dir = Path(config.docs_dir)
    listed = listed_pages(nav)
    for title, folder in OPEN_SECTIONS.items():
        sections = [item[title] for item in nav if isinstance(item, dict) and title in item]
        section = sections[0] if sections else None
        if not isinstance(section, list):
            raise PluginError(f"mkdocs.yml: the nav needs a section {title!r} (a list of pages)")
        for page in sorted((docs_dir / folder).glob("*.md")):
            path = page.relative_to(docs_dir).as_posix()
            if path not in listed:
                section.append(path)
    return config
