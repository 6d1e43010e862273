"""`flipbook append STREAM`: append one event, or JSON Lines of events from stdin."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from django.core.management.base import CommandError, CommandParser

from flipbook_site.clitools.base import EXIT_REFUSED, StoreCommand
from streams import services

COLUMNS = ["version", "position", "name", "id"]
BATCH = 100  # events per append when reading stdin


class Command(StoreCommand):
    help = (
        "Append an event to a stream (--name, --payload), or, without --name, every event "
        "read from stdin as JSON Lines (objects with name, payload, metadata, timestamp, id, "
        f"version), appended {BATCH} at a time. Prints what was stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream", help="the stream id")
        parser.add_argument("--name", help="the event's name (without it: events from stdin)")
        parser.add_argument("--payload", default="null", help="the payload, as JSON")
        parser.add_argument("--metadata", help="the metadata, as a JSON object")
        parser.add_argument("--timestamp", help="the event's natural time (ISO 8601)")
        parser.add_argument("--id", help="the event's id (a UUID), for an idempotent append")
        parser.add_argument(
            "--expected-version",
            default="any",
            help="an integer N (the stream is at N; 0: new), 'any' (default) or 'exists'",
        )
        parser.add_argument("--category", help="the stream's category (on its first append)")
        parser.add_argument(
            "--kind", choices=("versioned", "neutral"), help="the stream's kind (first append)"
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        expected: Any = options["expected_version"]
        if isinstance(expected, str) and expected.isdigit():
            expected = int(expected)
        rows: list[dict[str, Any]] = []
        for chunk in self._chunks(options):
            if options["server"]:
                with self.client(options) as client:
                    result = client.append(
                        options["stream"],
                        chunk,
                        expected_version=expected,
                        category=options["category"],
                        kind=options["kind"],
                    )
                    # A server answers where each event went, not the event (slim results).
                    rows += [
                        {
                            "version": a.version,
                            "position": a.position,
                            "name": e["name"],
                            "id": a.id,
                        }
                        for e, a in zip(chunk, result.events, strict=True)
                    ]
            else:
                local = services.append_to_stream(
                    options["stream"],
                    chunk,
                    expected_version=expected,
                    category=options["category"],
                    kind=options["kind"],
                )
                rows += [e.as_dict() for e in local.events]
            if isinstance(expected, int):  # the next chunk continues this one
                expected = rows[-1]["version"] or "any"
        self.emit(options, rows, COLUMNS)

    def _chunks(self, options: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        if options["name"] is not None:
            event = {
                "name": options["name"],
                "payload": _json(options["payload"], "--payload"),
                "metadata": _json(options["metadata"], "--metadata")
                if options["metadata"]
                else None,
                "timestamp": options["timestamp"],
                "id": options["id"],
            }
            yield [{k: v for k, v in event.items() if v is not None or k == "payload"}]
            return
        chunk: list[dict[str, Any]] = []
        seen = 0
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            event = _json(line, f"stdin line {number}")
            if not isinstance(event, dict):
                raise CommandError(
                    f"validation_error: stdin line {number}: must be a JSON object with a name",
                    returncode=EXIT_REFUSED,
                )
            chunk.append(event)
            seen += 1
            if len(chunk) == BATCH:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        if not seen:
            raise CommandError(
                "validation_error: no events: give --name (and --payload), or JSON Lines on stdin",
                returncode=EXIT_REFUSED,
            )


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CommandError(
            f"validation_error: {where}: is not JSON ({exc})", returncode=EXIT_REFUSED
        ) from None
