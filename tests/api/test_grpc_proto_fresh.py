"""The checked-in gRPC code (clients/python/flipbook_client/_gen/, the one copy the server and
the Python SDK share) is what `make proto` makes from proto/ now."""

from __future__ import annotations

from api.grpc import generate


def test_generated_code_is_fresh(tmp_path):
    generate.generate(tmp_path)
    stale = generate.differences(tmp_path, generate.GEN_DIR)
    assert not stale, f"{generate.GEN_DIR} is stale ({', '.join(stale)}): run `make proto`"


def test_a_changed_proto_is_detected(tmp_path):
    protos = tmp_path / "proto"
    for source in generate.proto_files():
        target = protos / source.relative_to(generate.PROTO_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text().replace("bool duplicate = 4;", "bool duplicate = 15;"))
    generate.generate(tmp_path / "gen", protos)
    stale = generate.differences(tmp_path / "gen", generate.GEN_DIR)
    assert "flipbook/v1/eventstore_pb2.py" in stale


def test_generated_modules_import_from_the_repository_root():
    from flipbook_client._gen.flipbook.v1 import eventstore_pb2, eventstore_pb2_grpc

    assert eventstore_pb2.Event.__module__ == "flipbook_client._gen.flipbook.v1.eventstore_pb2"
    assert eventstore_pb2_grpc.EventStoreStub
    assert eventstore_pb2.DESCRIPTOR.name == "flipbook/v1/eventstore.proto"
