"""`flipbook delete STREAM [--hard]`: delete a stream, on the local store or a server."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from flipbook_site.clitools.base import StoreCommand
from streams import lifecycle

COLUMNS = ["stream_id", "deleted", "version", "event_count"]


class Command(StoreCommand):
    help = (
        "Delete a stream: soft (reads answer 404 until an append starts it again, versions "
        "continuing) or --hard (a tombstone: reads and appends answer 410 for ever); see "
        "docs/concepts/lifecycle.md. Exit code 2 for a missing stream."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream", help="the stream id")
        parser.add_argument("--hard", action="store_true", help="leave a tombstone")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        # The head as it was before the delete, from the server or the local store.
        if options["server"]:
            with self.client(options) as client:
                head = client.delete_stream(options["stream"], hard=options["hard"])
        else:
            head = lifecycle.delete_stream(options["stream"], hard=options["hard"])
        before = {"stream_id": head.stream_id, "version": head.version}
        before["event_count"] = head.event_count
        self.emit(options, [{**before, "deleted": "hard" if options["hard"] else "soft"}], COLUMNS)
