"""`flipbook erase SUBJECT`: erase a subject's personal data by destroying its keys, on the
local store or a server."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from flipbook_site.clitools.base import EXIT_REFUSED, StoreCommand, cli_actor
from streams import services

COLUMNS = ["subject", "keys_destroyed", "streams", "snapshots_dropped", "audit_id"]


class Command(StoreCommand):
    help = (
        "Erase a subject's personal data (crypto-shredding): destroy its data keys so that "
        "its encrypted fields read as erased everywhere, drop the snapshots of the streams "
        "that held them, and keep an audit record. Cannot be undone. With --server, through "
        "POST /api/v1/erasures (an admin key valid for every stream)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subject", help="The subject id the personal fields were stored for.")
        parser.add_argument(
            "--by",
            default=None,
            help="Who asks for the erasure (default: the OS user; with --server the API key "
            "is recorded, so --by is refused there).",
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["server"]:
            if options["by"]:
                raise CommandError(
                    "--by is for the local store: a server records the API key",
                    returncode=EXIT_REFUSED,
                )
            with self.client(options) as client:
                erasure = client.erase(options["subject"])
            row = {
                "subject": erasure.subject,
                "keys_destroyed": erasure.keys_destroyed,
                "streams": erasure.streams,
                "snapshots_dropped": erasure.snapshots_dropped,
                "erased_at": erasure.erased_at.isoformat() if erasure.erased_at else None,
                "erased_by": erasure.erased_by,
                "audit_id": erasure.audit_id,
            }
        else:
            who = options["by"] or cli_actor()
            row = services.erase_personal_data(
                options["subject"], erased_by=who, via="command"
            ).as_dict()
        if options["output"] == "json":
            self.emit(options, [row], COLUMNS)
            return
        self.stdout.write(
            f"Erased {row['subject']}: {row['keys_destroyed']} key(s) destroyed, "
            f"{row['snapshots_dropped']} snapshot(s) of {row['streams']} stream(s) dropped "
            f"(audit record {row['audit_id']})."
        )
