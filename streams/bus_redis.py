"""PUBLISH to Redis from an event loop with the least work per commit.

channels_redis sends a group message through redis-py: a commit's three messages in one
redis-py pipeline still cost about 0.2 ms of CPU (command packing, the connection pool,
retries, the reply parser), a fifth of a served append. Publishing needs none of that:
:class:`Publisher` writes the PUBLISH commands of a batch in one write on one connection and
counts the integer replies (RESP2: a PUBLISH answers ``:N``, an error ``-ERR ...``).

Only plain addresses are published to here (``redis://`` or ``rediss://`` URLs with at most a
user, a password and a database, or a ``unix://`` path); anything else (Sentinel, connection
options) goes through the layer's own client (streams/speedups.py decides).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit


def plain_address(host: Any) -> str | None:
    """The URL of a channels_redis host this module can publish to, else None."""
    if not isinstance(host, dict) or set(host) != {"address"}:
        return None
    address = host["address"]
    if not isinstance(address, str):
        return None
    parts = urlsplit(address)
    if parts.scheme not in ("redis", "rediss", "unix") or parts.query or parts.fragment:
        return None
    if parts.scheme != "unix" and not parts.hostname:
        return None
    return address


def command(*parts: bytes) -> bytes:
    """One command in RESP's request encoding."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class PublishError(ConnectionError):
    """Redis refused a command, or the connection to it failed."""


class _Protocol(asyncio.Protocol):
    """Replies are single lines here (integers, +OK, errors): each batch waits for as many
    as it sent, in order."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        # [replies still expected, future, first error]
        self.waiting: deque[list[Any]] = deque()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        start = 0
        while True:
            end = buffer.find(b"\r\n", start)
            if end < 0:
                break
            self._reply(buffer[start:end])
            start = end + 2
        self.buffer = buffer[start:]

    def _reply(self, line: bytes) -> None:
        if not self.waiting or line[:1] not in (b":", b"+", b"-"):
            self.abort(PublishError(f"unexpected reply from Redis: {line[:40]!r}"))
            return
        entry = self.waiting[0]
        if line[:1] == b"-" and entry[2] is None:
            entry[2] = PublishError(line[1:].decode("utf-8", "replace"))
        entry[0] -= 1
        if entry[0] == 0:
            self.waiting.popleft()
            future = entry[1]
            if not future.done():
                if entry[2] is None:
                    future.set_result(None)
                else:
                    future.set_exception(entry[2])

    def send(self, data: bytes, replies: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.closed or self.transport is None:  # lost since the caller looked
            future.set_exception(PublishError("the connection to Redis was lost"))
            return future
        self.waiting.append([replies, future, None])
        self.transport.write(data)
        return future

    def abort(self, error: Exception) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        self._fail(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(PublishError(f"the connection to Redis was lost ({exc or 'closed'})"))

    def _fail(self, error: Exception) -> None:
        while self.waiting:
            future = self.waiting.popleft()[1]
            if not future.done():
                future.set_exception(error)


class Publisher:
    """PUBLISHes on one connection of one event loop, opened on first use and again after a
    failure. Batches are answered in the order they were sent."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    async def publish(self, messages: list[tuple[str, bytes]]) -> None:
        """PUBLISH each (channel, data), in order, in one write; raise PublishError if Redis
        refused one or the connection failed (the next call connects again)."""
        protocol = self._protocol
        if protocol is None or protocol.closed:
            protocol = await self._connect()
        data = b"".join(
            command(b"PUBLISH", channel.encode("utf-8"), payload) for channel, payload in messages
        )
        try:
            await protocol.send(data, len(messages))
        except asyncio.CancelledError:
            # A reply that never came (a timeout): later replies would be misread.
            protocol.abort(PublishError("a publication to Redis was abandoned"))
            raise

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        try:
            protocol = await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None
        self._protocol = protocol
        return protocol

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        parts = urlsplit(self.address)
        try:
            if parts.scheme == "unix":
                _, protocol = await loop.create_unix_connection(_Protocol, unquote(parts.path))
            else:
                context = ssl.create_default_context() if parts.scheme == "rediss" else None
                _, protocol = await loop.create_connection(
                    _Protocol, parts.hostname or "localhost", parts.port or 6379, ssl=context
                )
        except OSError as exc:
            raise PublishError(f"cannot connect to Redis at {parts.hostname}: {exc}") from exc
        if parts.password is not None:
            auth = [b"AUTH"]
            if parts.username:
                auth.append(unquote(parts.username).encode("utf-8"))
            auth.append(unquote(parts.password).encode("utf-8"))
            try:
                await protocol.send(command(*auth), 1)
            except PublishError:
                protocol.abort(PublishError("Redis refused the credentials"))
                raise
        return protocol

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.abort(PublishError("the publisher was closed"))
            self._protocol = None
