"""The gRPC server itself: TLS, message size limits, binding, and its database connections."""

from __future__ import annotations

import logging
import socket

import grpc
import pytest
from django.core.exceptions import ImproperlyConfigured
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api.grpc.server import build_server, max_receive_message_bytes
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc
from tests.api.conftest import django_alias
from tests.api.grpc_helpers import (
    WAIT,
    bearer,
    error_of,
    event_store_stub,
    issue_keys,
    new_event,
    running_server,
    self_signed_certificate,
)
from tests.waiting import wait_until


def test_tls_with_a_self_signed_certificate(tmp_path, transactional_db):
    cert, key, cert_pem = self_signed_certificate(tmp_path)
    auth = bearer(issue_keys()["write"])
    with running_server(tls_cert=cert, tls_key=key) as port:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert_pem)
        with grpc.secure_channel(f"localhost:{port}", credentials) as channel:
            stub = eventstore_pb2_grpc.EventStoreStub(channel)
            request = pb.AppendRequest(stream_id="tls", events=[new_event("Secured", {"a": 1})])
            assert stub.Append(request, metadata=auth, timeout=WAIT).version == 1
            latest = stub.GetLatest(pb.GetLatestRequest(stream_id="tls"), metadata=auth)
            assert latest.name == "Secured"
            health = health_pb2_grpc.HealthStub(channel)
            response = health.Check(health_pb2.HealthCheckRequest(), timeout=WAIT)
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        # A plaintext client cannot talk to the TLS port.
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            with pytest.raises(grpc.RpcError) as caught:
                health.Check(health_pb2.HealthCheckRequest(), timeout=2)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_tls_settings_must_come_in_pairs_of_readable_files(tmp_path):
    cert, key, _ = self_signed_certificate(tmp_path)
    with pytest.raises(ImproperlyConfigured, match="FLIPBOOK_GRPC_TLS_KEY"):
        build_server(0, tls_cert=cert)
    with pytest.raises(ImproperlyConfigured, match="FLIPBOOK_GRPC_TLS_CERT"):
        build_server(0, tls_cert=str(tmp_path / "missing.pem"), tls_key=key)


def test_tls_settings_default_to_plaintext(settings):
    assert settings.FLIPBOOK_GRPC_TLS_CERT is None and settings.FLIPBOOK_GRPC_TLS_KEY is None


def test_a_port_in_use_is_refused():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="FLIPBOOK_GRPC_PORT"):
            build_server(taken.getsockname()[1])


def test_receive_limit_follows_the_store_limits(settings):
    # 0: no request cap (a missing key now takes the default cap, 32 MiB)
    limits = {**settings.FLIPBOOK_LIMITS, "MAX_REQUEST_BYTES": 0}
    settings.FLIPBOOK_LIMITS = limits
    most = limits["MAX_PAYLOAD_BYTES"] * limits["MAX_EVENTS_PER_COMMIT"]
    assert most < max_receive_message_bytes() < most * 1.2
    settings.FLIPBOOK_LIMITS = {**limits, "MAX_EVENTS_PER_COMMIT": 10**6}
    assert max_receive_message_bytes() == 2**31 - 1  # the most gRPC can take
    settings.FLIPBOOK_LIMITS = {**limits, "MAX_REQUEST_BYTES": 32 * 1024 * 1024}
    assert max_receive_message_bytes() == 32 * 1024 * 1024  # the cap REST keeps too


def test_a_request_over_the_message_limit_is_resource_exhausted(settings, transactional_db):
    settings.FLIPBOOK_LIMITS = {
        **settings.FLIPBOOK_LIMITS,
        "MAX_REQUEST_BYTES": 0,
        "MAX_PAYLOAD_BYTES": 1000,
        "MAX_METADATA_BYTES": 1000,
        "MAX_EVENTS_PER_COMMIT": 2,
    }
    limit = max_receive_message_bytes()
    auth = bearer(issue_keys()["write"])
    with running_server() as port, event_store_stub(port) as stub:
        request = pb.AppendRequest(stream_id="huge", events=[new_event("A", "x" * limit)])
        with pytest.raises(grpc.RpcError) as caught:
            stub.Append(request, metadata=auth, timeout=WAIT)
        # Refused by gRPC before Flipbook sees it, so there is no flipbook-error-bin.
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # Under the message limit but over the payload limit: the store's own error.
        request = pb.AppendRequest(stream_id="big", events=[new_event("A", "x" * 1500)])
        with pytest.raises(grpc.RpcError) as caught:
            stub.Append(request, metadata=auth, timeout=WAIT)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_of(caught.value)["code"] == "too_large"


def test_worker_threads_close_their_database_connections(db_backend):
    """Each call closes its thread's expired connections (CONN_MAX_AGE 0 in the tests), so
    no connection of a finished call stays open (PostgreSQL could not drop the test DB)."""
    from django.db import connections

    auth = bearer(issue_keys()["admin"])
    opened = []
    alias = django_alias(db_backend)  # API keys are checked in the Django database
    real_connect = type(connections[alias]).connect

    def connect(self, *args, **kwargs):
        opened.append(self)
        return real_connect(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(connections[alias]), "connect", connect)
        with running_server(max_workers=2) as port, event_store_stub(port) as stub:
            for i in range(4):
                request = pb.AppendRequest(stream_id=f"c{i}", events=[new_event("A")])
                stub.Append(request, metadata=auth, timeout=WAIT)
                list(stub.Read(pb.ReadRequest(stream_id=f"c{i}"), metadata=auth, timeout=WAIT))
            assert opened and all(c.connection is None for c in opened)


def test_a_stream_the_client_cancels_ends_on_the_server(transactional_db, caplog):
    auth = bearer(issue_keys()["write"])
    payload = "x" * 60_000  # far more than flow control lets through unread
    with running_server() as port, event_store_stub(port) as stub:
        for _ in range(4):  # appends answer with the events: keep under 4 MiB each
            events = [new_event("Big", payload) for _ in range(50)]
            stub.Append(pb.AppendRequest(stream_id="long", events=events), metadata=auth)
        with caplog.at_level(logging.INFO, logger="flipbook.grpc"):
            responses = stub.Read(pb.ReadRequest(stream_id="long"), metadata=auth)
            assert next(responses).event.version == 1
            responses.cancel()
            wait_until(
                lambda: _logged(caplog, "Read", "CANCELLED"),
                timeout=WAIT,
                message="the server logged no cancelled Read",
            )
        # The server goes on serving.
        assert stub.GetLatest(pb.GetLatestRequest(stream_id="long"), metadata=auth).version == 200


def _logged(caplog, method: str, code: str) -> bool:
    return any(
        getattr(r, "method", "").endswith(f"/{method}") and getattr(r, "code", None) == code
        for r in caplog.records
    )
