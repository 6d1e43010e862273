"""`flipbook scavenge`: apply retention and remove for good what deletes and truncations hid,
on the local store or a server."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandParser

from api.audit import record_action
from flipbook_site.clitools.base import StoreCommand, cli_actor
from streams import lifecycle

# Events per request against a server by default: well within a client timeout on any
# backend, and progress shows between requests.
SERVER_LIMIT = 10_000


class Command(StoreCommand):
    help = (
        "Apply retention (each stream's own policy, else FLIPBOOK_RETENTION of its category), "
        "then remove for good the events of deleted streams and below truncation points, in "
        "small batches (appends keep running); see docs/concepts/lifecycle.md. With --server, "
        "through POST /api/v1/scavenges (an admin key valid for every stream), request after "
        "request until the server answers complete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", type=int, default=None, help="events per write (FLIPBOOK_SCAVENGE_BATCH)"
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            help="stop after removing this many events (with --server: per request, the "
            f"command repeating them; default: all locally, {SERVER_LIMIT} per request)",
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        text = options["output"] != "json"
        tty = text and sys.stdout.isatty()

        def show(stream_id: str | None, removed: int) -> None:
            if not text:
                return
            line = f"removed {removed} events" + (f"; now {stream_id!r}" if stream_id else "")
            self.stdout.write(("\r" + line + "\033[K") if tty else line, ending="")
            if not tty:
                self.stdout.write("")

        if options["server"]:
            report = self._on_server(options, show)
        else:
            report = lifecycle.scavenge(
                batch=options["batch"],
                limit=options["limit"],
                progress=lambda stream_id, so_far: show(stream_id, so_far.removed_events),
            )
            record_action(
                actor=cli_actor(),
                interface="cli",
                action="store.scavenge",
                details=report.as_dict(),
            )
        if not text:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        if tty:
            self.stdout.write("")
        self.stdout.write(
            f"scavenged: {report.removed_events} events removed from "
            f"{report.scavenged_streams} streams; retention truncated "
            f"{report.truncated_streams} streams"
        )

    def _on_server(self, options: dict[str, Any], show: Any) -> lifecycle.ScavengeReport:
        # Each request is bounded by the server: repeat until one says nothing is left.
        total = lifecycle.ScavengeReport()
        with self.client(options) as client:
            while True:
                answer = client.scavenge(
                    batch=options["batch"], limit=options["limit"] or SERVER_LIMIT
                )
                total.removed_events += answer.removed_events
                total.scavenged_streams += answer.scavenged_streams
                total.truncated_streams += answer.truncated_streams
                if answer.complete:
                    return total
                show(None, total.removed_events)
