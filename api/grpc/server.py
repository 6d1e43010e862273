"""Build Flipbook's gRPC server: EventStore, SnapshotStore, health checking, reflection,
interceptors, TLS."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from django.core.exceptions import ImproperlyConfigured
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from api.grpc.aio import LoopInterceptor
from api.grpc.interceptors import default_chain
from api.grpc.servicers import EventStoreServicer, SnapshotStoreServicer
from api.grpc.subscriptions import SubscriptionsServicer
from flipbook_client._gen.flipbook.v1 import eventstore_pb2, eventstore_pb2_grpc
from streams.conf import flipbook_settings

EVENT_STORE_SERVICE = eventstore_pb2.DESCRIPTOR.services_by_name["EventStore"].full_name
SNAPSHOT_STORE_SERVICE = eventstore_pb2.DESCRIPTOR.services_by_name["SnapshotStore"].full_name
SUBSCRIPTIONS_SERVICE = eventstore_pb2.DESCRIPTOR.services_by_name["Subscriptions"].full_name
SERVICE_NAMES = (
    EVENT_STORE_SERVICE,
    SNAPSHOT_STORE_SERVICE,
    SUBSCRIPTIONS_SERVICE,
    health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
    reflection.SERVICE_NAME,
)
DEFAULT_MAX_WORKERS = 16
# Protobuf framing and the other fields of an event or a stream, on top of payload and
# metadata; generous, since the store checks the real limits itself.
EVENT_OVERHEAD_BYTES = 4 * 1024
STREAM_OVERHEAD_BYTES = 1024
REQUEST_OVERHEAD_BYTES = 64 * 1024
MAX_GRPC_MESSAGE_BYTES = 2**31 - 1


def max_receive_message_bytes() -> int:
    """The largest request the server accepts: a commit of the most events allowed, each with
    the largest payload and metadata allowed (settings.FLIPBOOK_LIMITS), plus framing; no
    more than FLIPBOOK_LIMITS["MAX_REQUEST_BYTES"] when set (the REST API's cap too)."""
    limits = flipbook_settings.LIMITS
    per_event = limits["MAX_PAYLOAD_BYTES"] + limits["MAX_METADATA_BYTES"] + EVENT_OVERHEAD_BYTES
    size = (
        limits["MAX_EVENTS_PER_COMMIT"] * per_event
        + limits["MAX_STREAMS_PER_COMMIT"] * STREAM_OVERHEAD_BYTES
        + REQUEST_OVERHEAD_BYTES
    )
    if limits.get("MAX_REQUEST_BYTES"):
        size = min(size, limits["MAX_REQUEST_BYTES"])
    return min(size, MAX_GRPC_MESSAGE_BYTES)


def server_credentials(tls_cert: str | None, tls_key: str | None) -> grpc.ServerCredentials | None:
    """TLS credentials from PEM certificate (chain) and key files, or None for plaintext.
    Raises ImproperlyConfigured when only one is given or a file cannot be read."""
    if not tls_cert and not tls_key:
        return None
    if not tls_cert or not tls_key:
        raise ImproperlyConfigured(
            "gRPC TLS needs both FLIPBOOK_GRPC_TLS_CERT and FLIPBOOK_GRPC_TLS_KEY "
            "(PEM files); set both, or neither for plaintext."
        )
    pem = {}
    for setting, path in (("FLIPBOOK_GRPC_TLS_CERT", tls_cert), ("FLIPBOOK_GRPC_TLS_KEY", tls_key)):
        try:
            pem[setting] = Path(path).read_bytes()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{setting}={path!r} cannot be read ({exc.strerror}); point it at a PEM file."
            ) from exc
    return grpc.ssl_server_credentials(
        [(pem["FLIPBOOK_GRPC_TLS_KEY"], pem["FLIPBOOK_GRPC_TLS_CERT"])]
    )


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def grpc_loop() -> asyncio.AbstractEventLoop:
    """The process's gRPC event loop, running in a daemon thread for the process's life
    (grpc.aio keeps process-wide state per loop: one loop serves every server)."""
    global _loop
    with _loop_lock:
        if _loop is None:
            import uvloop

            loop = uvloop.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="flipbook-grpc-loop", daemon=True
            ).start()
            _loop = loop
        return _loop


class LoopServer:
    """A grpc.aio server (api/grpc/aio.py) on the gRPC event loop, with the synchronous
    start/stop of grpc.Server, so the tests drive it as before; or on the running loop
    (``on_running_loop``), where `serve` puts it beside HTTP: one loop per worker process,
    started with ``await server.server.start()``."""

    def __init__(
        self,
        build: Callable[[], grpc.aio.Server],
        executor: ThreadPoolExecutor,
        *,
        on_running_loop: bool = False,
    ):
        self.executor = executor
        self.on_running_loop = on_running_loop
        if on_running_loop:
            self.loop = asyncio.get_running_loop()
            self.server: grpc.aio.Server = build()
        else:
            self.loop = grpc_loop()
            self.server = self._call(self._build(build))

    async def _build(self, build: Callable[[], grpc.aio.Server]) -> grpc.aio.Server:
        return build()  # grpc.aio binds a server to the loop it is made on

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def add_port(self, address: str, credentials: grpc.ServerCredentials | None) -> int:
        def add() -> int:
            if credentials is None:
                return self.server.add_insecure_port(address)
            return self.server.add_secure_port(address, credentials)

        if self.on_running_loop:
            return add()

        async def add_on_loop() -> int:
            return add()

        return self._call(add_on_loop())

    def start(self) -> None:
        self._call(self.server.start())

    def stop(self, grace: float | None) -> threading.Event:
        """Stop taking calls, let calls in flight finish within ``grace`` seconds (None:
        end them now); the event is set once the server, its threads and its database
        connections of the loop are released."""
        done = threading.Event()

        async def stop() -> None:
            try:
                await self.server.stop(grace)
                if not self.on_running_loop:  # else the loop's owner closes them, last
                    from streams.backends import get_event_store

                    await get_event_store().close_async()
            finally:
                await asyncio.get_running_loop().run_in_executor(None, self._release, done)

        asyncio.run_coroutine_threadsafe(stop(), self.loop)
        return done

    def _release(self, done: threading.Event) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        done.set()


def build_server(
    port: int,
    *,
    host: str = "127.0.0.1",
    tls_cert: str | None = None,
    tls_key: str | None = None,
    max_workers: int = DEFAULT_MAX_WORKERS,
    share_port: bool = False,
    on_running_loop: bool = False,
) -> tuple[LoopServer, int]:
    """Return a gRPC server bound to ``host:port`` (port 0: a free one) and the bound port,
    not started yet: call ``server.start()``, and ``server.stop(grace)`` to end it.

    It serves flipbook.v1.EventStore and flipbook.v1.SnapshotStore behind the interceptors,
    grpc.health.v1 (SERVING) and reflection; with TLS when ``tls_cert`` and ``tls_key`` (PEM
    file paths) are given. Calls run on ``max_workers`` threads (a server-streaming call
    holds one for its whole stream), but one-stream Appends, which run on the server's
    event loop (api/grpc/aio.py): the gRPC loop's, or the running one with
    ``on_running_loop`` (then ``await server.server.start()``). ``share_port``: bind with
    SO_REUSEPORT, so that the worker processes of one `serve` share the port.
    Raises ImproperlyConfigured for bad TLS settings and OSError when it cannot bind."""
    credentials = server_credentials(tls_cert, tls_key)
    executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="flipbook-grpc")

    def build() -> grpc.aio.Server:
        server = grpc.aio.server(
            interceptors=[LoopInterceptor(default_chain(), executor)],
            options=[
                ("grpc.max_receive_message_length", max_receive_message_bytes()),
                # Refuse a port another process already serves instead of sharing it
                # silently, unless this is one of `serve`'s workers (its supervisor
                # checked the port).
                ("grpc.so_reuseport", 1 if share_port else 0),
            ],
        )
        eventstore_pb2_grpc.add_EventStoreServicer_to_server(EventStoreServicer(), server)
        eventstore_pb2_grpc.add_SnapshotStoreServicer_to_server(SnapshotStoreServicer(), server)
        eventstore_pb2_grpc.add_SubscriptionsServicer_to_server(SubscriptionsServicer(), server)
        health_servicer = health.HealthServicer()
        health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        for service in (EVENT_STORE_SERVICE, SNAPSHOT_STORE_SERVICE, SUBSCRIPTIONS_SERVICE):
            health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        reflection.enable_server_reflection(SERVICE_NAMES, server)
        return server

    server = LoopServer(build, executor, on_running_loop=on_running_loop)
    address = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
    reason: Exception | None
    try:
        bound = server.add_port(address, credentials)
    except RuntimeError as exc:
        bound, reason = 0, exc
    else:
        reason = None
    if not bound:
        server.stop(None).wait(5)
        raise OSError(
            f"the gRPC server cannot listen on {address} ({reason or 'bind failed'}); "
            "is the port in use? Choose another with FLIPBOOK_GRPC_PORT."
        )
    return server, bound
