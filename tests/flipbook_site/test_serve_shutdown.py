"""`flipbook serve` stops promptly on SIGTERM: open WebSockets are closed (4001, so clients
reconnect and catch up from the store), the process exits 0 well within its grace."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import websockets
from django.db import connections

from api.models import ApiKey
from tests.flipbook_site.test_serve_crash import start_server
from tests.processes import free_port


def test_sigterm_closes_websockets_and_exits(postgres_backend):
    database_url = (
        "postgres://postgres@127.0.0.1:5432/" + connections["postgres"].settings_dict["NAME"]
    )
    key = ApiKey.issue("shutdown-test", "read", using="postgres")[1]
    http_port, grpc_port = free_port(), free_port()
    server = start_server(database_url, http_port, grpc_port)

    async def watch() -> tuple[int | None, float]:
        url = f"ws://127.0.0.1:{http_port}/ws/events?key={key}"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "subscribe", "after": 0}))
            assert json.loads(await ws.recv())["type"] == "caught_up"
            server.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 8)
            except websockets.ConnectionClosed as closed:
                return (closed.rcvd.code if closed.rcvd else None), time.monotonic() - sent

    try:
        code, after = asyncio.run(watch())
        assert code == 4001
        assert after < 5
        assert server.wait(10) == 0
    finally:
        if server.poll() is None:
            server.kill()
