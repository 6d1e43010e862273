"""`flipbook serve`: HTTP (ASGI on daphne) and gRPC in one process, stopped gracefully.

On SIGTERM or SIGINT the server stops accepting connections, lets in-flight HTTP requests
and gRPC calls finish (up to ``grace`` seconds), then exits. Commits are single database
transactions, so one cut short by a harder kill is rolled back, never half-stored."""

from __future__ import annotations

import logging
import signal
import time

from streams.conf import flipbook_settings

# daphne installs the asyncio Twisted reactor on import; it must come before twisted.
from daphne.server import Server  # isort:skip
from daphne.ws_protocol import WebSocketProtocol  # isort:skip
from twisted.internet import reactor  # isort:skip

logger = logging.getLogger("flipbook.serve")


class _Server(Server):
    """daphne's server, remembering its listening ports so they can be closed on shutdown."""

    def listen_success(self, port):
        self.ports = [*getattr(self, "ports", []), port]
        super().listen_success(port)

    def in_flight(self) -> int:
        """HTTP requests still being answered (WebSockets are closed, not waited for)."""
        return sum(
            1
            for protocol, details in self.connections.items()
            if not isinstance(protocol, WebSocketProtocol)
            and details.get("application_instance") is not None
            and not details["application_instance"].done()
        )

    def close_websockets(self) -> None:
        """Close every WebSocket (code 4001, "server restarting": autobahn refuses 1001 from
        a server); clients reconnect and catch up from the store by position."""
        for protocol in list(self.connections):
            if isinstance(protocol, WebSocketProtocol):
                try:
                    protocol.serverClose(code=4001)
                except Exception:  # one broken socket must not stop the shutdown
                    logger.exception("could not close a WebSocket on shutdown")


def serve(
    *,
    host: str,
    http_port: int,
    grpc_port: int | None,
    grace: float = 10.0,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    serve_static: bool = True,
) -> None:
    """Run HTTP on ``host:http_port`` and gRPC on ``host:grpc_port`` until a stop signal."""
    from flipbook_site.asgi import application
    from flipbook_site.static import StaticFilesHandler

    grpc_server = None
    if grpc_port is not None:
        from api.grpc.server import build_server

        grpc_server, bound = build_server(grpc_port, host=host, tls_cert=tls_cert, tls_key=tls_key)
        grpc_server.start()
        logger.info("gRPC listening", extra={"address": f"{host}:{bound}", "tls": bool(tls_cert)})

    from subscriptions import services as subscriptions

    subscriptions.notifier.reopen()
    push_worker, push_thread = None, None
    if _push_in_serve():
        from subscriptions.push import start_in_thread

        push_worker, push_thread = start_in_thread()
    scavenger = None
    if flipbook_settings.SCAVENGE_INTERVAL:
        from streams.lifecycle import ScheduledScavenger

        scavenger = ScheduledScavenger(float(flipbook_settings.SCAVENGE_INTERVAL)).start()

    # django-stubs wants an ASGIHandler; any ASGI application is served.
    app = StaticFilesHandler(application) if serve_static else application  # type: ignore[arg-type]
    server = _Server(
        application=app,
        endpoints=[f"tcp:port={http_port}:interface={host}"],
        signal_handlers=False,
        application_close_timeout=grace,
        verbosity=0,
    )
    stopping = False

    def begin_shutdown() -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        logger.info("shutting down: no new connections, finishing in-flight requests")
        for port in getattr(server, "ports", []):
            port.stopListening()
        server.close_websockets()
        # Long-polls and Subscribe streams answer at once; consumers resume from their
        # checkpoint on another server. The push worker finishes its current delivery.
        subscriptions.notifier.close()
        if push_worker is not None:
            push_worker.stop()
        if scavenger is not None:
            scavenger.stop()
        grpc_done = grpc_server.stop(grace) if grpc_server is not None else None
        deadline = time.monotonic() + grace

        # twisted types its reactor by zope interfaces, which mypy reads only with the
        # mypy-zope plugin: the calls below look like unbound interface methods to it.
        def wait_then_stop() -> None:
            http_busy = server.in_flight()
            grpc_busy = grpc_done is not None and not grpc_done.is_set()
            if (http_busy or grpc_busy) and time.monotonic() < deadline:
                reactor.callLater(0.05, wait_then_stop)  # type: ignore[arg-type]
                return
            pushing = push_thread is not None and push_thread.is_alive()
            if pushing and time.monotonic() < deadline:
                reactor.callLater(0.05, wait_then_stop)  # type: ignore[arg-type]
                return
            logger.info("stopped", extra={"unfinished_http": http_busy})
            reactor.stop()  # type: ignore[misc]

        wait_then_stop()

    def on_signal(signum, frame) -> None:
        reactor.callFromThread(begin_shutdown)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logger.info("HTTP listening", extra={"address": f"{host}:{http_port}"})
    server.run()


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
