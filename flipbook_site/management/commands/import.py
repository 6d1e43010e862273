"""`flipbook import`: load an export (JSON Lines) into an empty store."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from typing import Any

from django.core.management.base import CommandParser

from flipbook_site.clitools.base import ProgressBar, StoreCommand, target_store
from streams.transfer import import_store


class Command(StoreCommand):
    help = (
        "Import an export made by flipbook export into an empty store, keeping event ids, "
        "versions, natural times and order (and positions and recorded_at on the database "
        "backends). A store holding events is refused (exit code 2) unless --merge: then "
        "events whose ids are stored with the same content are skipped, and an id stored "
        "with other content is refused. Progress goes to stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-f", "--file", default="-", help="the export to read (default -: standard input)"
        )
        parser.add_argument(
            "--merge", action="store_true", help="import into a store that holds events"
        )
        parser.add_argument("--batch", type=int, default=500, help="events per write (default 500)")
        parser.add_argument(
            "--store", default=None, help="a store URL to import into (see flipbook migrate)"
        )
        parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        bar = ProgressBar("import", quiet=options["quiet"])
        with ExitStack() as stack:
            lines = sys.stdin
            if options["file"] != "-":
                lines = stack.enter_context(open(options["file"], encoding="utf-8"))
            store = stack.enter_context(target_store(self, options, prepare=True))
            report = import_store(
                lines, store=store, merge=options["merge"], batch=options["batch"], progress=bar
            )
        bar.finish()
        summary = {
            "streams": report.streams,
            "events": report.events,
            "skipped": report.skipped,
            "checksum": report.checksum,
            "kept": sorted(report.keeps),
        }
        if options["output"] == "json":
            self.stdout.write(json.dumps(summary))
        else:
            kept = ", ".join(sorted(report.keeps)) or "none (renumbered in the same order)"
            self.stdout.write(
                f"imported {report.events} events of {report.streams} streams "
                f"({report.skipped} skipped as stored already), checksum {report.checksum}; "
                f"positions and recorded times kept: {kept}"
            )
