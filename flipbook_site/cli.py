"""The `flipbook` command: `flipbook serve`, or any manage.py command by name."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flipbook_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["flipbook", *sys.argv[1:]])
