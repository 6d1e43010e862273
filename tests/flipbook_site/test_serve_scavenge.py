"""`serve` scavenges on its own schedule when FLIPBOOK_SCAVENGE_INTERVAL is set: retention
(FLIPBOOK_RETENTION) and deletes take effect in the database without `flipbook scavenge`."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys

import httpx

from tests.processes import free_port, manage
from tests.sdk.conftest import ROOT, server_env, wait_until_serving
from tests.waiting import wait_until


def stored_events(database: str, stream_id: str) -> int:
    """Rows of the stream in the events table, read from the SQLite file itself."""
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT count(*) FROM flipbook_event e JOIN flipbook_stream s "
            "ON s.id = e.stream_pk WHERE s.stream_id = ?",
            [stream_id],
        ).fetchone()
    return int(row[0])


def test_serve_runs_the_scavenger_on_its_interval(tmp_path):
    http_port, grpc_port = free_port(), free_port()
    env = server_env(tmp_path, http_port, grpc_port)
    env["FLIPBOOK_SCAVENGE_INTERVAL"] = "0.5"
    env["FLIPBOOK_RETENTION"] = json.dumps({"metrics": {"max_count": 2}})
    manage(env, "migrate", "--noinput")
    key = manage(env, "flipbook_key", "create", "scavenge-tests", "--scope", "admin").strip()
    database = str(tmp_path / "flipbook.sqlite3")
    log = tmp_path / "serve.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{http_port}/api/v1/streams/"
    headers = {"Authorization": f"Bearer {key}"}
    try:
        wait_until_serving(process, f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", log)
        body = {"category": "metrics", "events": [{"name": "Tick"}] * 5}
        assert httpx.post(base + "cpu/events", json=body, headers=headers).status_code == 201
        body = {"events": [{"name": "Said"}] * 3}
        assert httpx.post(base + "chat/events", json=body, headers=headers).status_code == 201
        assert httpx.delete(base + "chat?hard=true", headers=headers).status_code == 200
        wait_until(
            lambda: stored_events(database, "cpu") == 2 and stored_events(database, "chat") == 0,
            timeout=30,
            interval=0.2,
            message="serve's scavenger did not remove the expired and deleted events",
        )
        read = httpx.get(base + "cpu/events", headers=headers).json()
        assert [e["version"] for e in read["events"]] == [4, 5]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    assert process.returncode == 0, log.read_text()[-2000:]
