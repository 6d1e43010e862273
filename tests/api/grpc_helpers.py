"""Helpers of the gRPC API tests: a real server on a free port, stubs, keys, certificates."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from api.grpc.interceptors import ERROR_METADATA_KEY
from api.grpc.server import build_server
from api.models import ApiKey
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc

WAIT = 10  # seconds a test call may take before it is a failure


@contextmanager
def running_server(**options: Any) -> Iterator[int]:
    """Start Flipbook's gRPC server on a free local port; yield the port; stop it."""
    server, port = build_server(0, **options)
    server.start()
    try:
        yield port
    finally:
        server.stop(None).wait(WAIT)


@contextmanager
def event_store_stub(port: int) -> Iterator[eventstore_pb2_grpc.EventStoreStub]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=WAIT)
        yield eventstore_pb2_grpc.EventStoreStub(channel)


@contextmanager
def snapshot_stubs(
    port: int,
) -> Iterator[tuple[eventstore_pb2_grpc.EventStoreStub, eventstore_pb2_grpc.SnapshotStoreStub]]:
    """The EventStore and SnapshotStore stubs on one channel."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=WAIT)
        yield (
            eventstore_pb2_grpc.EventStoreStub(channel),
            eventstore_pb2_grpc.SnapshotStoreStub(channel),
        )


def issue_keys() -> dict[str, str]:
    """API keys for the auth matrix: read, write, admin, and write limited to "tenant-a/"."""
    return {
        "read": ApiKey.issue("grpc-read", "read")[1],
        "write": ApiKey.issue("grpc-write", "write")[1],
        "admin": ApiKey.issue("grpc-admin", "admin")[1],
        "prefix": ApiKey.issue("grpc-tenant-a", "write", "tenant-a/")[1],
    }


def bearer(raw_key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {raw_key}"),)


def new_event(name: str, payload: Any = None, **fields: Any) -> pb.NewEvent:
    """A NewEvent message; ``payload`` and ``metadata`` given as Python values."""
    metadata = fields.pop("metadata", None)
    timestamp = fields.pop("timestamp", None)
    message = pb.NewEvent(
        name=name,
        payload=b"" if payload is None else json.dumps(payload).encode(),
        metadata=b"" if metadata is None else json.dumps(metadata).encode(),
        **fields,
    )
    if timestamp is not None:
        message.timestamp.FromDatetime(timestamp)
    return message


def timestamp(value: dt.datetime) -> Timestamp:
    message = Timestamp()
    message.FromDatetime(value)
    return message


def error_of(error: grpc.RpcError) -> dict:
    """The ``flipbook-error-bin`` trailing metadata of a failed call, decoded."""
    for key, value in error.trailing_metadata() or ():
        if key == ERROR_METADATA_KEY:
            return json.loads(value)
    raise AssertionError(f"no {ERROR_METADATA_KEY} in {error.trailing_metadata()!r}")


def self_signed_certificate(directory: Path) -> tuple[str, str, bytes]:
    """Write a self-signed certificate for localhost/127.0.0.1 and its key; return the two
    paths and the certificate PEM (the client's root certificate)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flipbook test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path), cert_pem
