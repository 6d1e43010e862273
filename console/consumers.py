"""WebSocket consumers of the event bus: a stream, a category or the all-feed, caught up from
the store and then live, with no gap and no duplicate.

Protocol: after connecting, the client sends ``{"type": "subscribe", "after": P}`` (all-feed,
category; P a position, 0 = from the start) or ``{"type": "subscribe", "after_version": N}``
(stream; 0 = from the start; ``after`` works there too, for version-neutral streams). The
server joins the bus group first, buffers live events, sends the missed ones from the store
(``{"type": "event", "event": {...}}``), then ``{"type": "caught_up", "position": P}``, then
the buffered and live events, skipping those already sent. A connection whose buffer
overflows gets ``{"type": "overflow"}`` and close code 4008: reconnect and subscribe again
with the last position or version held. A socket also compares its position with the store
every FLIPBOOK_BUS_RECHECK_SECONDS, so a bus announcement lost on the way delays an event by
at most that long. Close codes (docs/reference/errors.md): 4400 bad request (a frame that is
not a JSON text of at most 4 KiB nested at most 8 deep, or a bad subscribe), 4401 not
authenticated (also: the key was revoked while the socket was open), 4403 not allowed, 4008
overflow, 4503 the store or the bus is unavailable (reconnect later)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from api import roles
from api.auth import authenticate_key, bearer_token, key_is_active, revocation_check_seconds
from console.feed_tail import FeedTail, read_in_pool
from console.frames import MAX_FRAME_CHARS, MAX_FRAME_DEPTH, frame_depth_exceeds
from streams import bus, services
from streams.conf import flipbook_settings
from streams.exceptions import (
    FlipbookError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationError,
)
from streams.personal_data.masking import mask_event_dict
from streams.validation import validate_category, validate_stream_id

logger = logging.getLogger("flipbook.bus")

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_OVERFLOW = 4008
CLOSE_UNAVAILABLE = 4503

# Group memberships on the Redis layer expire (group_expiry, a day by default): a long-lived
# socket joins again now and then so it never silently leaves its group.
REJOIN_SECONDS = 3600.0
BUS_MESSAGES = frozenset({bus.MESSAGE_TYPE, "bus.joined"})
# On the pub/sub layer a subscription is live once the socket hears its own marker (below).
JOIN_TIMEOUT_SECONDS = 10.0


def recheck_seconds() -> float:
    """How often a live socket compares its position with the store, to catch up on a lost
    bus announcement (settings.FLIPBOOK_BUS_RECHECK_SECONDS)."""
    return float(flipbook_settings.BUS_RECHECK_SECONDS)


class _Overflow(Exception):
    pass


class EventFeedConsumer(AsyncJsonWebsocketConsumer):
    """The all-feed (``/ws/events``); subclasses narrow it to a category or a stream."""

    what = "the all-feed"
    tail: FeedTail | None = None
    mask_personal = False

    async def connect(self) -> None:
        bus.attach_consumer_loop(asyncio.get_running_loop())
        self.pump: asyncio.Task | None = None
        self.rejoin: asyncio.Task | None = None
        self.watch: asyncio.Task | None = None
        self.key_principal = None
        self.subscribed = False
        self.allowed = False
        size = bus.bus_settings()["QUEUE_SIZE"]
        self.live: asyncio.Queue[dict] = asyncio.Queue(maxsize=size)
        await self.accept()  # accepted first, so a refusal can carry its close code
        try:
            self.target = self.parse_target()
            await database_sync_to_async(self.authorize)()
            self.allowed = True
            if self.key_principal is not None:
                self.watch = asyncio.create_task(self.watch_key())
        except Unauthenticated as exc:
            await self.refuse(CLOSE_UNAUTHENTICATED, "unauthenticated", str(exc))
        except PermissionDenied as exc:
            await self.refuse(CLOSE_FORBIDDEN, "permission_denied", str(exc))
        except FlipbookError as exc:
            await self.refuse(CLOSE_BAD_REQUEST, exc.code, str(exc))

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections before every message, in the one thread
        # all sync code shares: a serial hop per socket per commit, which made 50 sockets fall
        # seconds behind. Bus messages touch no connection (store reads go through
        # database_sync_to_async, which closes stale ones itself), so they skip it.
        if message["type"] in BUS_MESSAGES:
            handler = getattr(self, message["type"].replace(".", "_"))
            await handler(message)
            return
        await super().dispatch(message)

    # -- what and who ------------------------------------------------------------------------

    def parse_target(self) -> Any:
        return None

    def group(self) -> str:
        return bus.ALL_GROUP

    def authorize(self) -> None:
        """Raise Unauthenticated or PermissionDenied unless the socket may read the target."""
        user = self.scope.get("user")
        if user is not None and user.is_authenticated and user.is_active:
            # A console user without the permission sees personal fields masked; API keys
            # read events as the API gives them.
            self.mask_personal = not roles.may_see_personal(user)
            return
        principal = self.principal()
        self.require(principal)
        self.key_principal = principal

    async def watch_key(self) -> None:
        """Close the socket (4401) once its key is revoked or deleted."""
        principal = self.key_principal
        if principal is None:
            return
        while True:
            await asyncio.sleep(revocation_check_seconds())
            try:
                active = await database_sync_to_async(key_is_active)(principal)
            except Exception:  # the database is away: the store reads will say so
                logger.warning("could not recheck the key of a socket", exc_info=True)
                continue
            if not active:
                self.allowed = self.subscribed = False
                for task in (self.pump, self.rejoin):
                    if task is not None and not task.done():
                        task.cancel()
                await self.refuse(
                    CLOSE_UNAUTHENTICATED, "unauthenticated", "the API key was revoked"
                )
                return

    def require(self, principal) -> None:
        principal.require_unrestricted("read", self.what)

    def principal(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        keys = query.get("key")
        raw = keys[0] if keys else None
        if raw is None:
            headers = dict(self.scope.get("headers", ()))
            header = headers.get(b"authorization")
            raw = bearer_token(header.decode("latin-1") if header else None)
        return authenticate_key(raw)

    async def send_json(self, content: Any, close: bool = False) -> None:
        if self.mask_personal and content.get("type") == "event":
            content = {**content, "event": mask_event_dict(content["event"])}
        await super().send_json(content, close=close)

    async def refuse(self, code: int, error: str, message: str) -> None:
        await self.send_json({"type": "error", "code": error, "message": message})
        await self.close(code=code)

    # -- protocol ----------------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Parse a client frame with limits: bad frames close the socket with 4400 and a
        reason, never a server error."""
        if not self.allowed:
            return
        if text_data is None:
            await self.refuse(CLOSE_BAD_REQUEST, "bad_request", "send JSON text frames, not binary")
            return
        if len(text_data) > MAX_FRAME_CHARS:
            reason = f"a frame holds at most {MAX_FRAME_CHARS} characters"
            await self.refuse(CLOSE_BAD_REQUEST, "bad_request", reason)
            return
        if frame_depth_exceeds(text_data, MAX_FRAME_DEPTH):
            await self.refuse(
                CLOSE_BAD_REQUEST, "bad_request", f"a frame nests at most {MAX_FRAME_DEPTH} deep"
            )
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.refuse(CLOSE_BAD_REQUEST, "bad_request", "a frame must be one JSON value")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs) -> None:
        if not self.allowed:
            return  # refused at connect; the close is on its way
        if not isinstance(content, dict) or content.get("type") != "subscribe":
            await self.refuse(CLOSE_BAD_REQUEST, "bad_request", 'send {"type": "subscribe", …}')
            return
        if self.subscribed:
            await self.refuse(CLOSE_BAD_REQUEST, "bad_request", "already subscribed")
            return
        try:
            start = self.parse_start(content)
        except ValueError as exc:
            await self.refuse(CLOSE_BAD_REQUEST, "validation_error", str(exc))
            return
        self.subscribed = True
        # Join first: anything committed from now on arrives live (buffered in self.live), and
        # anything committed before is in the store when the catch-up reads it.
        group = self.group()
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)
        self.rejoin = asyncio.create_task(self.keep_joined(group))
        self.pump = asyncio.create_task(self.run(start, group))

    def parse_start(self, content: dict) -> dict[str, int]:
        return {"after": _non_negative(content.get("after", 0), "after")}

    async def keep_joined(self, group: str) -> None:
        while True:
            await asyncio.sleep(REJOIN_SECONDS)
            await self.channel_layer.group_add(group, self.channel_name)

    async def confirm_joined(self, group: str) -> None:
        """On the Redis pub/sub layer, group_add returns before Redis has processed the
        SUBSCRIBE. Hearing our own marker on the group proves it has: a commit the catch-up
        cannot see yet is published after that, so it arrives live."""
        if not bus.join_needs_confirmation(self.channel_layer):
            return
        self.join_token = uuid.uuid4().hex
        self.joined = asyncio.Event()
        await self.channel_layer.group_send(group, {"type": "bus.joined", "token": self.join_token})
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as its inner wait completes, and a cancelled consumer then runs on.
        async with asyncio.timeout(JOIN_TIMEOUT_SECONDS):
            await self.joined.wait()

    async def bus_joined(self, message: dict) -> None:
        if message.get("token") == getattr(self, "join_token", None):
            self.joined.set()

    async def run(self, start: dict[str, int], group: str) -> None:
        try:
            await self.confirm_joined(group)
            high = await self.catch_up(start)
            await self.send_json({"type": "caught_up", "position": high})
            while True:
                try:
                    async with asyncio.timeout(recheck_seconds()):  # see confirm_joined
                        first = await self.live.get()
                except TimeoutError:
                    # Nothing heard for a while: a lost announcement must not stall the feed.
                    high = await self.recheck(high)
                    continue
                batch = [first]
                while not self.live.empty():
                    batch.append(self.live.get_nowait())
                high = await self.forward(batch, high)
        except asyncio.CancelledError:
            raise
        except FlipbookError as exc:
            logger.warning("event bus feed failed: %s", exc)
            await self.refuse(CLOSE_UNAVAILABLE, exc.code, str(exc))
        except TimeoutError:
            logger.warning("the event bus did not confirm a subscription")
            await self.refuse(CLOSE_UNAVAILABLE, "unavailable", "the event bus is unavailable")
        except Exception:
            logger.exception("event bus consumer failed")
            await self.refuse(CLOSE_UNAVAILABLE, "unavailable", "the event feed failed")

    async def recheck(self, high: int) -> int:
        """Send what the store holds after ``high`` that the bus did not announce; return
        the new high-water mark."""
        page = await read_in_pool(services.read_all)(
            after=high, limit=1, categories=self.categories()
        )
        if not page.events:
            return high
        return await self.forward([event.as_dict() for event in page.events], high)

    async def forward(self, batch: list[dict], high: int) -> int:
        """Send the live events of ``batch`` not sent yet; return the new high-water mark.

        Every event at or below ``high`` has been sent (the store settles positions before it
        returns them). Commits made concurrently, in other threads or processes (and on
        PostgreSQL an earlier position may even commit after a later one), can reach the bus
        in any order, so a live event is a wake-up call: the events after ``high`` are read
        from the store, in position order, once per process for all sockets of this feed
        (FeedTail). A client resuming from the last position it holds thus never skips one."""
        target = max(event["position"] for event in batch)
        if target <= high:
            return high
        if self.tail is None:
            self.tail = FeedTail.attach(self.categories())
        served = await self.tail.since(high, target)
        if served is None:
            return await self.catch_up({"after": high})
        events, reached = served
        for event in events:
            await self.send_json({"type": "event", "event": event})
        return reached

    async def catch_up(self, start: dict[str, int]) -> int:
        """Send the events after ``start`` from the store; return the position caught up to."""
        after = start["after"]
        page_size = bus.bus_settings()["CATCH_UP_PAGE"]
        while True:
            page = await read_in_pool(services.read_all)(
                after=after, limit=page_size, categories=self.categories()
            )
            for event in page.events:
                await self.send_json({"type": "event", "event": event.as_dict()})
            moved = page.next_after > after
            after = max(after, page.next_after)
            if len(page.events) < page_size or not moved:
                return after

    def categories(self) -> tuple[str, ...]:
        return ()

    async def bus_events(self, message: dict) -> None:
        """A commit published on the bus (streams.bus): buffer its events for the pump."""
        if not self.subscribed:
            return
        try:
            for event in message["events"]:
                try:
                    self.live.put_nowait(event)
                except asyncio.QueueFull:
                    raise _Overflow() from None
        except _Overflow:
            await self.overflow()

    async def overflow(self) -> None:
        self.subscribed = False
        await self.stop_tasks()
        while not self.live.empty():
            self.live.get_nowait()
        await self.send_json({"type": "overflow"})
        await self.close(code=CLOSE_OVERFLOW)

    async def stop_tasks(self) -> None:
        for task in (self.pump, self.rejoin, getattr(self, "watch", None)):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    # The task's own cancellation is expected; this coroutine's is not ours
                    # to swallow (the socket's disconnect must still be able to end).
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise
                except Exception:  # a task that failed has already said so in the log
                    pass

    async def disconnect(self, code: int) -> None:
        await self.stop_tasks()
        if self.tail is not None:
            self.tail.detach()
            self.tail = None


class CategoryConsumer(EventFeedConsumer):
    """The events of one category (``/ws/categories/<name>``)."""

    what = "a category feed"

    def parse_target(self) -> str:
        name = unquote(self.scope["url_route"]["kwargs"]["category"])
        return validate_category(name, "category")

    def group(self) -> str:
        return bus.category_group(self.target)

    def categories(self) -> tuple[str, ...]:
        return (self.target,)


class StreamConsumer(EventFeedConsumer):
    """The events of one stream (``/ws/streams/<percent-encoded id>`` or ``?stream_id=``)."""

    what = "a stream"
    last_version = 0  # the highest version sent on this socket
    caught_up_to: int | None = None  # the position the first catch-up reached

    def parse_target(self) -> str:
        self.neutral_sent: set[int] = set()  # version-neutral live events sent
        stream_id = self.scope["url_route"]["kwargs"].get("stream_id")
        raw_path = self.scope.get("raw_path")
        if stream_id and raw_path:
            # The raw path keeps %2F apart from "/"; the id is the rest after the prefix.
            raw = raw_path.decode("latin-1").split("/ws/streams/", 1)[-1]
            try:
                stream_id = unquote(raw.split("?", 1)[0], errors="strict")
            except UnicodeDecodeError:
                raise ValidationError("stream_id", "must be percent-encoded UTF-8") from None
        if not stream_id:
            query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
            stream_id = (query.get("stream_id") or [""])[0]
        return validate_stream_id(stream_id)

    def group(self) -> str:
        return bus.stream_group(self.target)

    def require(self, principal) -> None:
        principal.require("read", [self.target])

    async def recheck(self, high: int) -> int:
        try:
            head = await read_in_pool(services.stream_head)(self.target)
        except NotFound:
            return high
        behind = (
            head.version > self.last_version
            if head.version is not None
            else head.last_position > high
        )
        if not behind:
            return high
        return await self.catch_up({"after_version": self.last_version, "after": high})

    def parse_start(self, content: dict) -> dict[str, int]:
        if "after_version" in content:
            return {"after_version": _non_negative(content["after_version"], "after_version")}
        return {"after": _non_negative(content.get("after", 0), "after")}

    async def forward(self, batch: list[dict], high: int) -> int:
        """Send the live events in version order. Versions are gap-free and commit in order,
        so a live event past the next version means the ones between (committed already,
        published late) are read from the store first."""
        if self.caught_up_to is None:
            self.caught_up_to = high
        for event in sorted(batch, key=lambda e: e["position"]):
            if event.get("stream_id") != self.target:
                continue  # another stream on a colliding group name
            version = event.get("version")
            if version is None:
                # Version-neutral: no version to find a gap by, so events go out as they come
                # (concurrent commits may arrive out of position order), each once.
                position = event["position"]
                if position > self.caught_up_to and position not in self.neutral_sent:
                    self.neutral_sent.add(position)
                    await self.send_json({"type": "event", "event": event})
                    high = max(high, position)
                continue
            if version <= self.last_version:
                continue
            if version > self.last_version + 1:
                high = await self.catch_up({"after_version": self.last_version, "after": high})
                continue
            await self.send_json({"type": "event", "event": event})
            self.last_version = version
            high = event["position"]
        return high

    async def catch_up(self, start: dict[str, int]) -> int:
        after_version = start.get("after_version") or 0
        after = start.get("after", 0)
        self.last_version = max(self.last_version, after_version)
        page_size = bus.bus_settings()["CATCH_UP_PAGE"]
        high = after
        cursor = None
        while True:
            page = await read_in_pool(services.read_stream)(
                self.target,
                from_version=after_version + 1 if after_version else None,
                limit=page_size,
                cursor=cursor,
            )
            for event in page.items:
                if event.position <= after:
                    continue  # sent already, or a resume by position (version-neutral)
                await self.send_json({"type": "event", "event": event.as_dict()})
                high = event.position
                self.last_version = max(self.last_version, event.version or 0)
            if page.next_cursor is None:
                return high
            cursor = page.next_cursor


def _non_negative(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field} must be an integer >= 0")
    return value
