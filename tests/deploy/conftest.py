"""Helpers for the deployment checks: the tools `make deploy-tools` installs into var/tools.

A missing tool skips its test locally (run `make deploy-tools`) and fails it with CI=true."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TOOLS = ROOT / "var" / "tools"
TERRAFORM = DEPLOY / "terraform"
CHART = DEPLOY / "helm" / "flipbook"
KUBERNETES_VERSION = "1.33.0"  # the Makefile's KUBERNETES_VERSION


def need(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def tool(name: str) -> str:
    """Path of a tool from var/tools (Go binaries in bin/, Python ones in venv/bin/)."""
    for candidate in (TOOLS / "bin" / name, TOOLS / "venv" / "bin" / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name) if name == "shellcheck" else None
    if found:
        return found
    need(f"NEEDS {name} in var/tools (run `make deploy-tools`)")
    raise AssertionError("unreachable")


def run(*args: str, cwd: Path = ROOT, input: str | None = None, timeout: float = 300):
    """Run a tool; return the finished process (never raises on a non-zero exit)."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        list(args),
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
