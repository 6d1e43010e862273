"""`flipbook export`: write the store (or a category or id prefix of it) as JSON Lines."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from typing import Any

from django.core.management.base import CommandParser

from flipbook_site.clitools.base import ProgressBar, StoreCommand, target_store
from streams.transfer import export_store


class Command(StoreCommand):
    help = (
        "Export events as JSON Lines (docs/operations/export-import.md): a header, one line "
        "per stream head, one line per event in position order (ids, versions, positions, "
        "timestamps, recorded_at, payload, metadata) and a trailer with the counts and a "
        "SHA-256 checksum, printed on stderr at the end. Progress goes to stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--category", help="export only the streams of this category")
        parser.add_argument("--prefix", help="export only the streams whose ids start so")
        parser.add_argument(
            "-f", "--file", default="-", help="where to write (default -: standard output)"
        )
        parser.add_argument(
            "--store",
            default=None,
            help="a store URL to export instead of the configured one (see flipbook migrate)",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        bar = ProgressBar("export", quiet=options["quiet"])
        last = ""
        with ExitStack() as stack:
            out = sys.stdout
            if options["file"] != "-":
                out = stack.enter_context(open(options["file"], "w", encoding="utf-8"))
            store = stack.enter_context(target_store(self, options))
            for last in export_store(
                category=options["category"], prefix=options["prefix"], store=store, progress=bar
            ):
                out.write(last)
            out.flush()
        bar.finish()
        trailer = json.loads(last)
        summary = {k: trailer[k] for k in ("streams", "events", "checksum")}
        if options["output"] == "json":
            sys.stderr.write(json.dumps(summary) + "\n")
        else:
            sys.stderr.write(
                f"exported {summary['events']} events of {summary['streams']} streams, "
                f"checksum {summary['checksum']}\n"
            )
