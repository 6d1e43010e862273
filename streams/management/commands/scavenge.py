"""`flipbook scavenge`: apply retention and remove for good what deletes and truncations hid."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from streams import lifecycle
from streams.exceptions import FlipbookError


class Command(BaseCommand):
    help = (
        "Apply FLIPBOOK_RETENTION, then remove for good the events of deleted streams and "
        "below truncation points, in small batches (appends keep running); see "
        "docs/concepts/lifecycle.md."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch", type=int, default=None, help="events per write (FLIPBOOK_SCAVENGE_BATCH)"
        )
        parser.add_argument("--output", choices=["text", "json"], default="text")

    def handle(self, *args, **options) -> None:
        text = options["output"] == "text"
        tty = text and sys.stdout.isatty()

        def progress(stream_id: str, report: lifecycle.ScavengeReport) -> None:
            if text:
                line = f"removed {report.removed_events} events; now {stream_id!r}"
                self.stdout.write(("\r" + line + "\033[K") if tty else line, ending="")
                if not tty:
                    self.stdout.write("")

        try:
            report = lifecycle.scavenge(batch=options["batch"], progress=progress)
        except FlipbookError as exc:
            raise CommandError(exc.message) from exc
        if options["output"] == "json":
            self.stdout.write(json.dumps(report.as_dict()))
            return
        if tty:
            self.stdout.write("")
        self.stdout.write(
            f"scavenged: {report.removed_events} events removed from "
            f"{report.scavenged_streams} streams; retention truncated "
            f"{report.truncated_streams} streams"
        )
