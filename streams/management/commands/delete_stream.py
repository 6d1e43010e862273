"""`flipbook delete_stream <id> [--hard]`: delete a stream on the local store."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from streams import lifecycle
from streams.exceptions import FlipbookError


class Command(BaseCommand):
    help = (
        "Delete a stream of the local store: soft (reads answer 404 until an append starts "
        "it again) or --hard (a tombstone, for ever); see docs/concepts/lifecycle.md."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("stream_id")
        parser.add_argument("--hard", action="store_true", help="leave a tombstone")
        parser.add_argument("--output", choices=["text", "json"], default="text")

    def handle(self, *args, **options) -> None:
        try:
            head = lifecycle.delete_stream(options["stream_id"], hard=options["hard"])
        except FlipbookError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        mode = "hard" if options["hard"] else "soft"
        if options["output"] == "json":
            self.stdout.write(json.dumps({"deleted": mode, **head.as_dict()}))
        else:
            self.stdout.write(f"{mode}-deleted {head.stream_id!r} at version {head.version}")
