"""`flipbook retention STREAM [--max-age S] [--max-count N] [--clear]`: show, set or clear a
stream's own retention policy, on the local store or a server."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from api.audit import record_action
from flipbook_site.clitools.base import EXIT_REFUSED, StoreCommand, cli_actor
from streams import lifecycle

COLUMNS = ["stream_id", "source", "max_age", "max_count", "category"]


class Command(StoreCommand):
    help = (
        "Show the retention policy of a stream (its own, else its category's in "
        "FLIPBOOK_RETENTION), set its own with --max-age and/or --max-count (replacing the "
        "category's; the next scavenge applies it), or --clear it; see "
        "docs/concepts/lifecycle.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream", help="the stream id")
        parser.add_argument(
            "--max-age", type=int, help="keep events at most this many seconds after recording"
        )
        parser.add_argument("--max-count", type=int, help="keep only the newest this many events")
        parser.add_argument("--clear", action="store_true", help="remove the stream's own policy")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        stream_id, max_age, max_count = options["stream"], options["max_age"], options["max_count"]
        setting = max_age is not None or max_count is not None
        if options["clear"] and setting:
            raise CommandError(
                "give --clear or --max-age/--max-count, not both", returncode=EXIT_REFUSED
            )
        if options["server"]:
            with self.client(options) as client:
                if options["clear"]:
                    policy: Any = client.clear_stream_retention(stream_id)
                elif setting:
                    policy = client.set_stream_retention(
                        stream_id, max_age=max_age, max_count=max_count
                    )
                else:
                    policy = client.stream_retention(stream_id)
            row = {c: getattr(policy, c) for c in COLUMNS}
        else:
            if options["clear"]:
                found = lifecycle.clear_stream_retention(stream_id)
                self._audit("stream.retention_clear", found.stream_id)
            elif setting:
                found = lifecycle.set_stream_retention(
                    stream_id, max_age=max_age, max_count=max_count
                )
                self._audit(
                    "stream.retention_set", found.stream_id, max_age=max_age, max_count=max_count
                )
            else:
                found = lifecycle.stream_retention(stream_id)
            row = {c: found.as_dict()[c] for c in COLUMNS}
        self.emit(options, [row], COLUMNS)

    def _audit(self, action: str, stream_id: str, **details: Any) -> None:
        record_action(
            actor=cli_actor(), interface="cli", action=action, target=stream_id, details=details
        )
