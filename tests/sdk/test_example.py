"""The wallet ledger example runs end to end against a real server, over both transports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "clients" / "python" / "examples"


def test_wallet_ledger_example_runs(flipbook_server, transport):
    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE / "wallet_ledger.py"),
            "--url",
            flipbook_server.url(transport),
            "--transport",
            transport,
            "--key",
            flipbook_server.key,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    # 100 in, 30 out, 50 to bob; bob's 10 withdrawal and 80 transfer refused (no partial move).
    assert lines[0] == "alice: 20  bob: 50"
    assert [line.split(":")[0] for line in lines[1:3]] == ["refused", "refused"]
    assert "cannot pay 10" in lines[1] and "cannot send 80" in lines[2]
    assert lines[3] == "alice's events: Opened, Deposited, Withdrawn, TransferSent"


def test_ledger_keeps_a_transfer_atomic(client):
    sys.path.insert(0, str(EXAMPLE))
    try:
        import wallet_ledger
    finally:
        sys.path.remove(str(EXAMPLE))
    result = wallet_ledger.run_demo(client)
    assert (result["alice"], result["bob"]) == (20, 50)
    assert len(result["refused"]) == 2
