"""The snapshots benchmark runs end to end (``python -m bench.snapshots --quick --sqlite``, in a
child process with its own settings). Its figures are not asserted: timings never are."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_snapshots_benchmark_runs_and_prints_the_ratio():
    child = subprocess.run(
        [sys.executable, "-m", "bench.snapshots", "--quick", "--sqlite", "--repeats", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode in (0, 1), child.stderr  # 1: the ratio target was missed
    out = child.stdout
    assert "no snapshots (fold from version 1)" in out
    assert "ratio (no snapshots / with snapshots, latest version):" in out
    assert "state: balance" in out
