"""`flipbook migrate`: Django's schema migrations, and with --from/--to a copy of an event store
into another (export, import, and a checksum of both sides)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands.migrate import Command as DjangoMigrate

from flipbook_site.clitools.base import EXIT_FAILED, EXIT_MISMATCH, EXIT_REFUSED, ProgressBar
from flipbook_site.storeurl import open_store
from streams.exceptions import FlipbookError, Unavailable
from streams.transfer import export_checksum, export_store, import_store


class Command(DjangoMigrate):
    help = (
        "Without --from/--to: Django's migrate (update the database schema). With "
        "--from URL --to URL: copy every event of one event store into another, empty one "
        "(sqlite:///path, postgres://user@host/db, dynamodb://host:port?prefix=P, "
        "redis://host:port/0?prefix=P, or default: the configured store), then export "
        "the target and compare SHA-256 checksums of both sides; exit code 3 when they differ."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--from", dest="from_url", help="the event store to copy from (URL)")
        parser.add_argument("--to", dest="to_url", help="the empty event store to copy into (URL)")
        parser.add_argument(
            "--merge", action="store_true", help="with --to: allow a target holding events"
        )
        parser.add_argument("--quiet", action="store_true", help="with --to: no progress")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_url"] is None and options["to_url"] is None:
            super().handle(*args, **options)
            return
        if not (options["from_url"] and options["to_url"]):
            raise CommandError("give both --from URL and --to URL", returncode=EXIT_REFUSED)
        if options["app_label"]:
            raise CommandError(
                "--from/--to copy an event store: give no app label", returncode=EXIT_REFUSED
            )
        try:
            self._copy(options)
        except FlipbookError as exc:
            code = EXIT_FAILED if isinstance(exc, Unavailable) else EXIT_REFUSED
            raise CommandError(f"{exc.code}: {exc.message}", returncode=code) from None

    def _copy(self, options: dict[str, Any]) -> None:
        source = open_store(options["from_url"])
        target = open_store(options["to_url"])
        try:
            target.prepare()
            bar = ProgressBar("migrate", quiet=options["quiet"])
            report = import_store(
                export_store(store=source.store),
                store=target.store,
                merge=options["merge"],
                progress=bar,
            )
            bar.finish()
            copied = export_checksum(store=target.store)
        finally:
            source.close()
            target.close()
        self.stdout.write(f"source {source.describe()}: checksum {report.checksum}")
        self.stdout.write(f"target {target.describe()}: checksum {copied['checksum']}")
        if copied["checksum"] != report.checksum:
            sys.stderr.write("checksums differ: the target does not hold what the source held\n")
            raise CommandError("checksum mismatch", returncode=EXIT_MISMATCH)
        exact = copied["exact_checksum"] == report.exact_checksum
        self.stdout.write(
            f"copied {report.events} events of {report.streams} streams "
            f"({report.skipped} skipped); the checksums match; positions and recorded times "
            + ("identical" if exact else "renumbered (same order)")
        )
