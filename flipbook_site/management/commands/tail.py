"""`flipbook tail`: follow new events of a stream, a category or the whole store, live."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from django.core.management.base import CommandError, CommandParser

from flipbook_site.clitools.base import EXIT_REFUSED, StoreCommand, table
from flipbook_site.clitools.server import recorded
from streams import services
from streams.exceptions import NotFound
from streams.records import NEUTRAL, RecordedEvent

COLUMNS = ["position", "stream_id", "version", "name", "timestamp", "payload"]


class Command(StoreCommand):
    help = (
        "Print new events as they are committed, until Ctrl-C: of one stream (STREAM), of a "
        "category (--category) or of the whole store (--all). It starts at the current end "
        "(--from-start: at the beginning) and polls the store's all-feed or stream (the "
        "server's REST API with --server) every --interval seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream", nargs="?", help="the stream id to follow")
        parser.add_argument("--all", action="store_true", help="follow every stream")
        parser.add_argument("--category", action="append", help="follow a category (repeatable)")
        parser.add_argument(
            "--from-start", action="store_true", help="print the existing events first"
        )
        parser.add_argument(
            "--interval", type=float, default=0.5, help="seconds between polls (default 0.5)"
        )
        parser.add_argument(
            "--count", type=int, help="stop after printing this many events (scripts, tests)"
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = threading.Event()
        chosen = [bool(options["stream"]), options["all"], bool(options["category"])]
        if sum(chosen) != 1:
            raise CommandError(
                "validation_error: give one of STREAM, --all or --category",
                returncode=EXIT_REFUSED,
            )
        # Ctrl-C (or SIGTERM) ends the tail between two reads, not inside a database call,
        # so it exits with 0 rather than as a failed query.
        previous = {
            sig: signal.signal(sig, lambda *_: self.stopping.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            if options["server"]:
                with self.client(options) as client:
                    self._follow(options, self._server_source(client, options))
            else:
                self._follow(options, self._local_source(options))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _follow(self, options: dict[str, Any], source: Iterator[RecordedEvent]) -> None:
        limit = options["count"]
        if options["output"] == "table":
            self.stdout.write(table([], COLUMNS))
        for printed, event in enumerate(source, start=1):
            row = event.as_dict()
            if options["output"] == "json":
                self.emit(options, [row], COLUMNS)
            else:
                self.stdout.write(table([row], COLUMNS).split("\n", 1)[1])
            self.stdout.flush()
            if limit is not None and printed >= limit:
                return

    def _local_source(self, options: dict[str, Any]) -> Iterator[RecordedEvent]:
        if options["stream"] and _local_kind(options["stream"]) != NEUTRAL:
            sid = options["stream"]

            def read_stream(after: int) -> tuple[list[RecordedEvent], int]:
                page = services.read_stream(sid, from_version=after + 1, limit=500)
                events = page.items
                return events, _last_ordinal(events, after)

            start = 0 if options["from_start"] else _stream_end(sid)
            return _poll(read_stream, start, options["interval"], self.stopping)
        categories = options["category"] or ()

        def read_feed(after: int) -> tuple[list[RecordedEvent], int]:
            page = services.read_all(after=after, limit=500, categories=categories)
            return _only(page.events, options["stream"]), page.next_after

        start = 0 if options["from_start"] else services.store_totals()["last_position"]
        return _poll(read_feed, start, options["interval"], self.stopping)

    def _server_source(self, client: Any, options: dict[str, Any]) -> Iterator[RecordedEvent]:
        head = _server_head(client, options["stream"]) if options["stream"] else None
        if options["stream"] and (head is None or head.kind != NEUTRAL):
            sid = options["stream"]

            def read_stream(after: int) -> tuple[list[RecordedEvent], int]:
                page = client.read_page(sid, from_version=after + 1, limit=500)
                events = [recorded(e) for e in page.items]
                return events, _last_ordinal(events, after)

            start = 0 if options["from_start"] or head is None else head.version or 0
            return _poll(read_stream, start, options["interval"], self.stopping)
        categories = options["category"] or ()

        def read_feed(after: int) -> tuple[list[RecordedEvent], int]:
            page = client.read_all(after=after, limit=500, categories=categories)
            return _only([recorded(e) for e in page.events], options["stream"]), page.next_after

        start = 0
        if not options["from_start"]:
            while True:  # skip to the feed's current end
                events, next_after = read_feed(start)
                if next_after == start or not events:
                    start = next_after
                    break
                start = next_after
        return _poll(read_feed, start, options["interval"], self.stopping)


def _poll(
    read: Callable[[int], tuple[list[RecordedEvent], int]],
    after: int,
    interval: float,
    stopping: threading.Event,
) -> Iterator[RecordedEvent]:
    """Yield what ``read(after)`` returns, page after page, forever; pause when caught up
    (``read`` returns the events and where to continue)."""
    while not stopping.is_set():
        events, next_after = read(after)
        yield from events
        if next_after == after:  # caught up
            sys.stdout.flush()
            stopping.wait(interval)
        after = next_after


def _only(events: list[RecordedEvent], stream_id: str | None) -> list[RecordedEvent]:
    # A version-neutral stream is followed on the all-feed: its events have no versions.
    return events if stream_id is None else [e for e in events if e.stream_id == stream_id]


def _local_kind(stream_id: str) -> str | None:
    try:
        return services.stream_head(stream_id).kind
    except NotFound:
        return None


def _server_head(client: Any, stream_id: str) -> Any:
    from flipbook_client.errors import NotFound as ServerNotFound

    try:
        return client.stream(stream_id)
    except ServerNotFound:
        return None


def _stream_end(stream_id: str) -> int:
    try:
        head = services.stream_head(stream_id)
    except NotFound:
        return 0
    return head.version or 0


def _last_ordinal(events: list[RecordedEvent], after: int) -> int:
    return events[-1].version or after if events else after
