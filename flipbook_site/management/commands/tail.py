"""`flipbook tail`: follow new events of a stream, a category or the whole store, live."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

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
        "(--from-start: at the beginning). With --server it follows the server's WebSocket "
        "event bus live, and after a lost connection resumes from the last event printed, "
        "with no gap and no duplicate (several --category: polls the REST API); on the "
        "local store it polls the all-feed or stream every --interval seconds."
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
                    if len(options["category"] or ()) > 1:
                        source = self._server_source(client, options)
                    else:
                        source = self._socket_source(client, options)
                    self._follow(options, source)
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

    def _socket_source(self, client: Any, options: dict[str, Any]) -> Iterator[RecordedEvent]:
        """The events of the server's WebSocket feed (console/consumers.py) from the start
        point on, reconnecting after a lost connection from the last event yielded."""
        base = options["server"].rstrip("/")
        base = "ws" + base.removeprefix("http") if base.startswith("http") else base
        sid = options["stream"]
        if sid:
            head = _server_head(client, sid)
            path = "/ws/streams/" + quote(sid, safe="")
            # A versioned stream (or one not created yet) resumes after a version, a
            # version-neutral one after a position; an event without a version switches.
            cursor = SocketCursor(by_version=head is None or head.kind != NEUTRAL)
            if not options["from_start"] and head is not None:
                cursor.last = (head.version or 0) if cursor.by_version else head.last_position
        else:
            categories = options["category"] or ()
            path = "/ws/categories/" + quote(categories[0], safe="") if categories else "/ws/events"
            cursor = SocketCursor(by_version=False)
            if not options["from_start"]:
                cursor.last = _server_feed_end(client, categories)
        return follow_socket(base + path, options["key"], cursor, self.stopping, self.stderr.write)

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

        start = 0 if options["from_start"] else _server_feed_end(client, categories)
        return _poll(read_feed, start, options["interval"], self.stopping)


def _server_feed_end(client: Any, categories: Sequence[str]) -> int:
    """The server's all-feed position to follow from: its current end (read to it)."""
    start = 0
    while True:
        page = client.read_all(after=start, limit=500, categories=categories)
        if page.next_after == start or not page.events:
            return int(page.next_after)
        start = page.next_after


# Close codes after which reconnecting cannot help (console/consumers.py).
FINAL_CLOSE_CODES = {4400: "bad request", 4401: "not authenticated", 4403: "not allowed"}
RECONNECT_PAUSE = (0.1, 2.0)  # the first pause after a lost connection, and the longest


@dataclass
class SocketCursor:
    """Where a socket tail stands: the last version (``by_version``) or position printed."""

    by_version: bool
    last: int = 0

    def subscription(self) -> dict[str, Any]:
        key = "after_version" if self.by_version else "after"
        return {"type": "subscribe", key: self.last}

    def take(self, event: RecordedEvent) -> bool:
        """Whether ``event`` is new (then it becomes the last one)."""
        if self.by_version and event.version is None:
            self.by_version, self.last = False, 0  # a version-neutral stream after all
        mark = event.version if self.by_version else event.position
        assert mark is not None
        if mark <= self.last:
            return False  # sent again after a reconnect
        self.last = mark
        return True


def follow_socket(
    url: str,
    key: str | None,
    cursor: SocketCursor,
    stopping: threading.Event,
    warn: Callable[[str], object],
) -> Iterator[RecordedEvent]:
    """Yield the events a Flipbook WebSocket feed sends after ``cursor``, until ``stopping``;
    after a lost connection (a restarted server, an overflow), connect again and subscribe
    after the last event yielded, pausing longer each failed attempt. The server catches a
    subscription up from its store before it goes live, and the cursor drops what it sent
    before, so nothing is missed or printed twice."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
    from websockets.sync.client import connect

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    pause = RECONNECT_PAUSE[0]
    refusal: dict[str, Any] = {}  # the error frame a refusing server sends before closing
    while not stopping.is_set():
        try:
            with connect(url, additional_headers=headers, open_timeout=10) as socket:
                socket.send(json.dumps(cursor.subscription()))
                while not stopping.is_set():
                    try:
                        frame = json.loads(socket.recv(timeout=0.5))
                    except TimeoutError:
                        continue
                    if frame.get("type") == "event":
                        pause = RECONNECT_PAUSE[0]
                        event = _frame_event(frame["event"])
                        if cursor.take(event):
                            yield event
                    elif frame.get("type") == "caught_up" and not cursor.by_version:
                        cursor.last = max(cursor.last, int(frame["position"]))
                    elif frame.get("type") == "error":
                        refusal = frame
                return
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            if code in FINAL_CLOSE_CODES:
                raise CommandError(
                    f"{FINAL_CLOSE_CODES[code]}: {refusal.get('message', '')}".rstrip(": "),
                    returncode=EXIT_REFUSED,
                ) from exc
            warn(f"the event feed closed ({code or 'no code'}); resuming\n")
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403, 404):
                raise CommandError(
                    f"the server refused the event feed (HTTP {status})", returncode=EXIT_REFUSED
                ) from exc
            warn(f"the event feed answered HTTP {status}; retrying\n")
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            warn(f"cannot reach the event feed ({exc.__class__.__name__}); retrying\n")
        stopping.wait(pause)
        pause = min(pause * 2, RECONNECT_PAUSE[1])


def _frame_event(data: dict[str, Any]) -> RecordedEvent:
    timestamp = data.get("timestamp")
    return RecordedEvent(
        data["stream_id"],
        data.get("version"),
        datetime.fromisoformat(timestamp) if timestamp else None,
        data["name"],
        data.get("payload"),
        data.get("metadata") or {},
        UUID(data["id"]),
        int(data["position"]),
        datetime.fromisoformat(data["recorded_at"]),
    )


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
