"""`flipbook serve`: HTTP + WebSocket (ASGI on uvicorn) and gRPC, from one process or from N
worker processes on the same ports, stopped gracefully.

One worker serves in this process. With N > 1, this process binds the HTTP port, starts N
workers that share that socket (the kernel hands each connection to one of them) and bind
the gRPC port with SO_REUSEPORT, replaces a worker that dies, and on SIGTERM passes the
signal on and waits for them. On SIGTERM or SIGINT a worker stops accepting connections,
closes WebSockets with 4001 (clients reconnect and catch up by position), lets in-flight HTTP
requests and gRPC calls finish (up to ``grace`` seconds), then exits. Commits are single
database transactions, so one cut short by a harder kill is rolled back, never half-stored."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from streams.conf import flipbook_settings

logger = logging.getLogger("flipbook.serve")

# The WebSocket close code of a server that is stopping ("server restarting"; autobahn-based
# clients refuse 1001 from a server).
RESTARTING = 4001


@dataclass(frozen=True)
class ServeOptions:
    """What a worker serves, and how it stops."""

    host: str
    http_port: int
    grpc_port: int | None
    grace: float = 10.0
    tls_cert: str | None = None
    tls_key: str | None = None
    serve_static: bool = True
    workers: int = 1


def serve(options: ServeOptions) -> None:
    """Serve until a stop signal: in this process with one worker, else from a supervisor
    that runs ``options.workers`` worker processes (flipbook_site/workers.py)."""
    http_socket = bind_http(options.host, options.http_port)
    if options.workers == 1:
        run_worker(options, http_socket, worker_index=0, share_grpc_port=False)
        return
    from flipbook_site.workers import Supervisor

    Supervisor(options, http_socket).run()


def bind_http(host: str, port: int) -> socket.socket:
    """The listening HTTP socket, bound here so that workers can share it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"HTTP cannot listen on {host}:{port} ({exc.strerror}); is the port in use? "
            "Choose another with FLIPBOOK_HTTP_PORT or --http-port."
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class WebSocketRegistry:
    """The ASGI WebSocket application, remembering open sockets so that a stopping server
    can close them with 4001 before it drains HTTP."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.open: set[Any] = set()

    async def __call__(self, scope, receive, send) -> None:
        self.open.add(send)
        try:
            await self.app(scope, receive, send)
        finally:
            self.open.discard(send)

    async def close_all(self, code: int) -> None:
        for send in list(self.open):
            # A socket that is closing already, or not accepted yet, has nothing to close.
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": code})


def build_application(options: ServeOptions) -> tuple[Any, Any, WebSocketRegistry]:
    """The ASGI application of a worker: HTTP through flipbook_site.http.ThreadedHTTP
    (FLIPBOOK_HTTP_THREADS threads), WebSockets through the registry."""
    from channels.routing import ProtocolTypeRouter

    from flipbook_site.asgi import http_application as http
    from flipbook_site.asgi import websocket_application
    from flipbook_site.static import StaticFilesHandler

    websockets = WebSocketRegistry(websocket_application)
    app: Any = ProtocolTypeRouter({"http": http, "websocket": websockets})
    if options.serve_static:
        app = StaticFilesHandler(app)
    return app, http, websockets


def run_worker(
    options: ServeOptions,
    http_socket: socket.socket,
    *,
    worker_index: int,
    share_grpc_port: bool,
) -> None:
    """Serve HTTP on ``http_socket`` and gRPC on ``options.grpc_port`` until SIGTERM/SIGINT."""
    import uvicorn
    import uvloop

    from subscriptions import services as subscriptions

    app, http, websockets = build_application(options)
    # One event loop per worker for HTTP and gRPC: the appends of both run on it, and two
    # loops would take turns with the GIL.
    runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    grpc_server = None
    if options.grpc_port is not None:
        from api.grpc.server import build_server

        grpc_port = options.grpc_port

        async def start_grpc() -> Any:
            grpc_server, bound = build_server(
                grpc_port,
                host=options.host,
                tls_cert=options.tls_cert,
                tls_key=options.tls_key,
                share_port=share_grpc_port,
                on_running_loop=True,
            )
            await grpc_server.server.start()
            logger.info(
                "gRPC listening",
                extra={"address": f"{options.host}:{bound}", "tls": bool(options.tls_cert)},
            )
            return grpc_server

        try:
            grpc_server = runner.run(start_grpc())
        except BaseException:
            runner.close()
            raise

    subscriptions.notifier.reopen()
    push_worker, push_thread = None, None
    # One push worker per server, not per worker process (they would take turns on leases).
    if worker_index == 0 and _push_in_serve():
        from subscriptions.push import start_in_thread

        push_worker, push_thread = start_in_thread()
    scavenger = None
    if worker_index == 0 and flipbook_settings.SCAVENGE_INTERVAL:  # one per server, too
        from streams.lifecycle import ScheduledScavenger

        scavenger = ScheduledScavenger(float(flipbook_settings.SCAVENGE_INTERVAL)).start()

    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=max(1, round(options.grace)),
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
    )
    server = _uvicorn_server(config)
    stopping = threading.Event()

    async def begin_shutdown() -> None:
        if stopping.is_set():
            return
        stopping.set()
        logger.info("shutting down: no new connections, finishing in-flight requests")
        await websockets.close_all(RESTARTING)
        # Long-polls and Subscribe streams answer at once; consumers resume from their
        # checkpoint on another server. The push worker finishes its current delivery.
        subscriptions.notifier.close()
        if push_worker is not None:
            push_worker.stop()
        if scavenger is not None:
            scavenger.stop()
        grpc_done = grpc_server.stop(options.grace) if grpc_server is not None else None
        server.should_exit = True  # uvicorn: stop listening, drain HTTP within the grace
        deadline = time.monotonic() + options.grace
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _wait_for, grpc_done, push_thread, deadline)

    server.on_exit_signal = begin_shutdown
    logger.info("HTTP listening", extra={"address": f"{options.host}:{options.http_port}"})

    async def serve_until_stopped() -> None:
        try:
            await server.serve(sockets=[http_socket])
        finally:
            # The store's async connections belong to this loop: closed before it ends.
            from streams.backends import get_event_store

            await get_event_store().close_async()

    http.loop_routes_on = True  # one-stream appends answered on this loop (its pool)
    with runner:
        runner.run(serve_until_stopped())
    unfinished = http.in_flight
    http.close()
    close_database_pools()
    logger.info("stopped", extra={"unfinished_http": unfinished})


def close_database_pools() -> None:
    """Close this process's connection pools, so no idle session outlives the server."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        close_pool = getattr(connection, "close_pool", None)  # PostgreSQL's pool
        if close_pool is not None:
            close_pool()
        connection.close()


def _wait_for(grpc_done, push_thread, deadline: float) -> None:
    if grpc_done is not None:
        grpc_done.wait(max(0.0, deadline - time.monotonic()))
    if push_thread is not None:
        push_thread.join(max(0.0, deadline - time.monotonic()))


def _uvicorn_server(config: Any) -> Any:
    import uvicorn

    class FlipbookUvicornServer(uvicorn.Server):
        """uvicorn's server with Flipbook's stop: on SIGTERM/SIGINT, ``on_exit_signal`` runs
        on the loop (WebSockets closed with 4001, gRPC and the push worker stopped) and sets
        ``should_exit``, so uvicorn drains HTTP. The process then exits 0, as a supervisor
        expects of a clean stop (uvicorn's own handlers would re-raise the signal)."""

        on_exit_signal: Any = None
        _stopping: asyncio.Task | None = None

        @contextlib.contextmanager
        def capture_signals(self):
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._on_signal)
            try:
                yield
            finally:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)

        def _on_signal(self) -> None:
            if self._stopping is None:
                self._stopping = asyncio.ensure_future(self.on_exit_signal())
            else:
                self.force_exit = True  # a second signal: stop waiting

        async def serve(self, sockets=None) -> None:
            await super().serve(sockets=sockets)
            if self._stopping is not None:
                await self._stopping

    return FlipbookUvicornServer(config)


def _push_in_serve() -> bool:
    """Whether `serve` runs the push worker: FLIPBOOK_PUSH_IN_SERVE=true/false, or "auto" (on
    the embedded default, SQLite, where no separate `flipbook subscriptions` is expected)."""
    from django.db import connections

    choice = flipbook_settings.PUSH_IN_SERVE
    if choice in ("1", "true", "yes", "on"):
        return True
    if choice in ("0", "false", "no", "off"):
        return False
    return connections["default"].vendor == "sqlite"


def default_workers() -> int:
    """Worker processes when neither --workers nor FLIPBOOK_WORKERS says: one per CPU where
    they can share state (a PostgreSQL or DynamoDB store and the Redis bus), else one."""
    from django.db import connections

    if connections["default"].vendor == "sqlite" or not flipbook_settings.REDIS_URL:
        return 1
    return os.cpu_count() or 1
