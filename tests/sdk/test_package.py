"""The SDK package stands alone: its gRPC code is what `make proto` makes from proto/ now,
and importing it pulls in nothing of the server (no Django, no streams or api modules)."""

from __future__ import annotations

import subprocess
import sys

from api.grpc import generate


def test_make_proto_writes_the_one_copy_and_check_sees_it(tmp_path):
    # One copy of the generated code, in the SDK; the server imports the same modules.
    assert [package for _, package in generate.TARGETS] == ["flipbook_client._gen"]
    assert generate.main(["--check"]) == 0
    generate.generate(tmp_path, package=generate.GEN_PACKAGE)
    text = (tmp_path / "flipbook" / "v1" / "eventstore_pb2_grpc.py").read_text()
    assert "from flipbook_client._gen.flipbook.v1 import eventstore_pb2" in text
    assert "api.grpc" not in text


def test_importing_the_sdk_loads_nothing_of_the_server():
    code = (
        "import sys, flipbook_client, flipbook_client._grpc, flipbook_client.consumer\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'streams', 'snapshots', 'api', 'flipbook_site'})\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
