"""HTTP for `serve`: Django's sync views on a pool of long-lived threads, async views on the
event loop.

Django's ASGI handler runs a sync view through ``sync_to_async(thread_sensitive=True)`` in a
new one-thread executor per request: every request pays a thread start, a new database
session, and hops between the loop and that thread for each middleware and signal. A WSGI
server on threads pays none of that. So HTTP requests whose view is sync (every REST call
but the long-poll, every console page) go to Django's WSGI handler on a bounded pool of
threads that keep their database connections. Views declared ``async def`` (long-polls,
which would hold a thread for their whole wait) go to Django's ASGI handler, and so do sync
views whose response streams from an async iterator, marked ``serve_on_event_loop = True``.
WebSockets never come here (flipbook_site/asgi.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from inspect import iscoroutinefunction
from io import BytesIO
from tempfile import SpooledTemporaryFile
from typing import Any
from urllib.parse import unquote_to_bytes

from django.core.handlers.wsgi import WSGIHandler
from django.urls import Resolver404, get_resolver

from streams.conf import flipbook_settings

logger = logging.getLogger("flipbook.http")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]

# Request bodies above this are spooled to a temporary file, as Django's ASGI handler does.
SPOOL_BYTES = 2 * 1024 * 1024
# Response chunks handed from a view's thread to the loop at once (streamed responses).
_END = object()


@lru_cache(maxsize=4096)
def _on_event_loop(path: str) -> bool:
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return False
    view = match.func
    return iscoroutinefunction(view) or getattr(view, "serve_on_event_loop", False)


def wants_event_loop(path: str) -> bool:
    """Whether the view of ``path`` must run on the event loop (async, or marked)."""
    # Every path under streams/ is one sync route; skip the cache for its unbounded ids.
    if path.startswith("/api/v1/streams/"):
        return False
    return _on_event_loop(path)


class ThreadedHTTP:
    """An ASGI application for HTTP: sync views on ``threads`` worker threads through
    Django's WSGI handler, async views through ``asgi_app`` (Django's ASGI handler)."""

    def __init__(
        self,
        asgi_app: Callable,
        *,
        threads: int,
        fast_routes: tuple = (),
        loop_routes: tuple = (),
    ) -> None:
        self.asgi_app = asgi_app
        # (matches(scope), answer(environ, body) -> HttpResponse | None): requests a route
        # answers skip Django's request cycle; None leaves the request to Django.
        self.fast_routes = fast_routes
        # (matches(scope), async answer(environ, body, offload) -> HttpResponse | None):
        # tried first, on the event loop; None leaves the request to the above. Off until
        # ``serve`` turns them on (``use_loop_routes``): their connections belong to its loop.
        self.loop_routes = loop_routes
        self.loop_routes_on = False
        self.wsgi_app = WSGIHandler()
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self.in_flight = 0

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:  # made on first use: importing the app starts no thread
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="flipbook-http")
        return self._executor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or wants_event_loop(scope["path"]):
            await self.asgi_app(scope, receive, send)
            return
        self.in_flight += 1
        try:
            body = await _read_body(receive)
            if body is None:  # the client went away before its request was read
                return
            environ = _environ(scope, body)
            fast = None
            if isinstance(body, BytesIO):
                if self.loop_routes_on and await self._on_loop(scope, environ, body, send):
                    return
                fast = next((answer for match, answer in self.fast_routes if match(scope)), None)
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(
                self.executor, self._respond, environ, send, loop, fast
            )
            if answer is not None:  # a whole response: sent from here, no more thread hops
                start, chunks = answer
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks)})
        finally:
            self.in_flight -= 1

    async def _on_loop(self, scope: Scope, environ: dict, body: BytesIO, send: Send) -> bool:
        """Answer by a loop route, if one takes the request (True)."""
        for match, answer in self.loop_routes:
            if match(scope):
                response = await answer(environ, body.getvalue(), self._offload)
                if response is None:
                    return False
                await send(_start(response.status_code, response.items()))
                await send({"type": "http.response.body", "body": response.content})
                return True
        return False

    def _offload(self, work: Callable[[], None]) -> None:
        """Run ``work`` on one of the threads, not waited for (errors are logged)."""
        self.executor.submit(_logged, work)

    def _respond(self, environ: dict, send: Send, loop: asyncio.AbstractEventLoop, fast=None):
        """Run the view on this worker thread. A whole response is returned to the loop; a
        streamed one is sent chunk by chunk from here (its iterator may use this thread's
        database connection, so it must be consumed on this thread)."""
        if fast is not None:
            response = fast(environ, environ["wsgi.input"].getvalue())
            if response is not None:
                return _start(response.status_code, response.items()), [response.content]
        started: list[dict[str, Any]] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
            started.append(_start(int(status[:3]), headers))

        result: Iterable[bytes] = self.wsgi_app(environ, start_response)
        try:
            if not getattr(result, "streaming", False):
                return started[0], list(result)

            def forward(message: dict[str, Any]) -> None:
                asyncio.run_coroutine_threadsafe(send(message), loop).result()

            forward(started[0])
            for chunk in result:
                if chunk:
                    forward({"type": "http.response.body", "body": chunk, "more_body": True})
            forward({"type": "http.response.body", "body": b""})
            return None
        finally:
            # Fires request_finished, which closes this thread's expired connections.
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        """Close each worker thread's database connections, then end the threads."""
        if self._executor is None:
            return
        from django.db import connections

        barrier = threading.Barrier(self.threads + 1)

        def close_mine() -> None:
            # Every thread takes one of these (the barrier holds each until all have one).
            connections.close_all()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(5)

        for _ in range(self.threads):
            self._executor.submit(close_mine)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(5)
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None


def _logged(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception:
        logger.exception("work handed to an HTTP thread failed")


def _start(status: int, headers: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ],
    }


async def _read_body(receive: Receive) -> BytesIO | SpooledTemporaryFile | None:
    """The request body, or None when the client disconnected before sending all of it."""
    first = await receive()
    if first["type"] == "http.disconnect":
        return None
    chunk = first.get("body", b"")
    if not first.get("more_body"):
        return BytesIO(chunk)
    # Closed by Django with the request (WSGIRequest closes its input), or below.
    body: SpooledTemporaryFile = SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    body.write(chunk)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            return None
        body.write(message.get("body", b""))
        if not message.get("more_body"):
            break
    body.seek(0)
    return body


def _environ(scope: Scope, body: Any) -> dict[str, Any]:
    """A WSGI environ for ``scope``, as gunicorn builds it: PATH_INFO from the raw path's
    exact bytes (invalid UTF-8 is then refused by Django and the routes, not replaced),
    RAW_URI for routes that read ids holding an encoded "/"."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    script_name = scope.get("root_path", "")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name.encode("utf-8").decode("latin-1"),
        "PATH_INFO": unquote_to_bytes(raw_path.decode("latin-1")).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "RAW_URI": raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else ""),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope.get("headers", ()):
        key = name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
            environ[key] = text
            continue
        key = "HTTP_" + key
        if key in environ:  # a repeated header: one value, as RFC 9110 joins them
            text = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + text
        environ[key] = text
    return environ


def default_threads() -> int:
    """Worker threads per process (FLIPBOOK_HTTP_THREADS): enough to overlap database round
    trips, few enough that the GIL is not passed around more than it is used."""
    return flipbook_settings.HTTP_THREADS
