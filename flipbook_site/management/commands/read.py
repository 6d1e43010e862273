"""`flipbook read STREAM`: print a stream's events."""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.core.management.base import CommandParser

from flipbook_site.clitools.base import StoreCommand
from flipbook_site.clitools.server import recorded
from streams import services

COLUMNS = ["version", "position", "name", "timestamp", "recorded_at", "payload"]


class Command(StoreCommand):
    help = (
        "Print a stream's events, oldest first: a table, or one JSON object per line "
        "with --output json. Exit code 2 when the stream has no events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream", help="the stream id")
        parser.add_argument("--from-version", type=int, help="first version to print")
        parser.add_argument("--to-version", type=int, help="last version to print")
        parser.add_argument("--backwards", action="store_true", help="newest first")
        parser.add_argument("--limit", type=int, help="print at most this many events")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        query = {
            "from_version": options["from_version"],
            "to_version": options["to_version"],
            "direction": "backwards" if options["backwards"] else "forwards",
        }
        if options["server"]:
            with self.client(options) as client:
                client.stream(options["stream"])  # NotFound for a stream without events
                events = [
                    recorded(e)
                    for e in islice(client.read(options["stream"], **query), options["limit"])
                ]
        else:
            services.stream_head(options["stream"])
            events = list(
                islice(services.iter_stream(options["stream"], **query), options["limit"])
            )
        self.emit(options, [e.as_dict() for e in events], COLUMNS)
