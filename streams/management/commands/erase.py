"""flipbook erase SUBJECT: erase a subject's personal data by destroying its keys."""

from __future__ import annotations

import getpass
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from streams import services
from streams.exceptions import FlipbookError


class Command(BaseCommand):
    help = (
        "Erase a subject's personal data (crypto-shredding): destroy its data keys so that "
        "its encrypted fields read as erased everywhere, drop the snapshots of the streams "
        "that held them, and keep an audit record. Cannot be undone."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("subject", help="The subject id the personal fields were stored for.")
        parser.add_argument(
            "--by", default=None, help="Who asks for the erasure (default: the OS user)."
        )
        parser.add_argument("--output", choices=["text", "json"], default="text")

    def handle(self, *args: Any, subject: str, by: str | None, output: str, **options: Any) -> None:
        who = by or f"command:{_user()}"
        try:
            result = services.erase_personal_data(subject, erased_by=who, via="command")
        except FlipbookError as exc:
            raise CommandError(exc.message) from exc
        if output == "json":
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(
            f"Erased {result.subject}: {result.keys_destroyed} key(s) destroyed, "
            f"{result.snapshots_dropped} snapshot(s) of {result.streams} stream(s) dropped "
            f"(audit record {result.audit_id})."
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
