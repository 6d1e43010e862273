"""Print the server's OpenAPI schema and its management commands' help as one JSON object.

Run by docs/hooks/server_reference.py in a subprocess (Django is set up once, apart from
MkDocs): ``python docs/hooks/server_facts.py``. It reads the code as it is, so the REST and
CLI reference pages cannot drift from it."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The commands Flipbook adds, in the order the CLI page lists them.
COMMANDS = (
    "serve",
    "read",
    "append",
    "tail",
    "export",
    "import",
    "migrate",
    "delete",
    "retention",
    "scavenge",
    "erase",
    "flipbook_welcome",
    "flipbook_demo",
    "flipbook_key",
    "subscriptions",
    "flipbook_snapshots",
    "flipbook_dynamodb",
)
# Options every Django command has; the CLI page lists them once instead of per command.
DJANGO_OPTIONS = {
    "-h",
    "--version",
    "--verbosity",
    "--settings",
    "--pythonpath",
    "--traceback",
    "--no-color",
    "--force-color",
    "--skip-checks",
}


def openapi_schema() -> dict:
    """The schema exactly as `manage.py spectacular` writes it (validated)."""
    from django.core.management import call_command

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "openapi.json"
        call_command("spectacular", "--format", "openapi-json", "--validate", "--file", str(path))
        return json.loads(path.read_text())


def command_help(name: str) -> dict:
    """The help of one command and of each of its sub-commands, as argparse prints it."""
    from django.core.management import get_commands, load_command_class

    app = get_commands()[name]
    command = load_command_class(app, name)
    parser = command.create_parser("flipbook", name)
    for action in parser._actions:
        if set(action.option_strings) & DJANGO_OPTIONS:
            action.help = argparse.SUPPRESS  # the same on every command: listed once
    subcommands = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub_parser in action.choices.items():
                subcommands[sub_name] = sub_parser.format_help()
    return {
        "app": app,
        "module": type(command).__module__,
        "summary": (command.help or "").strip(),
        "help": parser.format_help(),
        "subcommands": subcommands,
    }


def flipbook_settings_table() -> dict:
    """Every FLIPBOOK_* Django setting with its default and description (streams/conf.py)."""
    from streams.conf import BACKEND_SETTINGS, DICT_SETTINGS, PLAIN_SETTINGS

    return {
        "dicts": {
            name: [[key, repr(default), text] for key, (default, text) in keys.items()]
            for name, keys in DICT_SETTINGS.items()
        },
        "backends": {name: repr(default) for name, default in BACKEND_SETTINGS.items()},
        "plain": [[name, repr(default), text] for name, (default, text) in PLAIN_SETTINGS.items()],
    }


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["DJANGO_SETTINGS_MODULE"] = "flipbook_site.settings"
    import django

    django.setup()
    quiet = io.StringIO()  # spectacular's warnings go to stderr; keep stdout pure JSON
    sys.stdout, real_stdout = quiet, sys.stdout
    try:
        facts = {
            "openapi": openapi_schema(),
            "commands": {name: command_help(name) for name in COMMANDS},
            "settings": flipbook_settings_table(),
        }
    finally:
        sys.stdout = real_stdout
    json.dump(facts, sys.stdout)


if __name__ == "__main__":
    main()
