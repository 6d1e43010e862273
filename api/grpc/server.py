"""Build Flipbook's gRPC server: EventStore, SnapshotStore, health checking, reflection,
interceptors, TLS."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from django.core.exceptions import ImproperlyConfigured
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from api.grpc.interceptors import default_interceptors
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


def build_server(
    port: int,
    *,
    host: str = "127.0.0.1",
    tls_cert: str | None = None,
    tls_key: str | None = None,
    max_workers: int = DEFAULT_MAX_WORKERS,
    share_port: bool = False,
) -> tuple[grpc.Server, int]:
    """Return a gRPC server bound to ``host:port`` (port 0: a free one) and the bound port,
    not started yet: call ``server.start()``, and ``server.stop(grace)`` to end it.

    It serves flipbook.v1.EventStore and flipbook.v1.SnapshotStore behind the interceptors,
    grpc.health.v1 (SERVING) and reflection; with TLS when ``tls_cert`` and ``tls_key`` (PEM
    file paths) are given.
    ``max_workers`` threads run calls, a server-streaming call holding one for its whole
    stream. ``share_port``: bind with SO_REUSEPORT, so that the worker processes of one
    `serve` share the port (the kernel spreads connections over them).
    Raises ImproperlyConfigured for bad TLS settings and OSError when it cannot bind."""
    credentials = server_credentials(tls_cert, tls_key)
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="flipbook-grpc"),
        interceptors=default_interceptors(),
        options=[
            ("grpc.max_receive_message_length", max_receive_message_bytes()),
            # Refuse a port another process already serves instead of sharing it silently,
            # unless this is one of `serve`'s workers (its supervisor checked the port).
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

    address = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
    reason: RuntimeError | None
    try:
        if credentials is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, credentials)
    except RuntimeError as exc:
        bound, reason = 0, exc
    else:
        reason = None
    if not bound:
        raise OSError(
            f"the gRPC server cannot listen on {address} ({reason or 'bind failed'}); "
            "is the port in use? Choose another with FLIPBOOK_GRPC_PORT."
        )
    return server, bound
