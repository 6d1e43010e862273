"""The minimal reference server: plain ASGI on uvicorn with a psycopg pool, one INSERT per
append and one SELECT per read. No auth, no validation beyond JSON, no global feed: the
ceiling of "an HTTP append in Python" that `flipbook serve` is measured against.

Same request, SQL and table as ../shared/anchors/go-append (the Go ceiling):
    python -m bench.serve.reference --dsn postgresql://... --port 8613 [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os

import uvicorn
from psycopg_pool import AsyncConnectionPool

INSERT = """INSERT INTO baseline_event (stream_id, version, name, payload)
SELECT %s, %s + o, e->>'name', e->'payload'
FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS t(e, o)"""
SELECT = """SELECT version, name, payload::text, recorded_at FROM baseline_event
WHERE stream_id = %s ORDER BY version"""
CREATE = """CREATE TABLE IF NOT EXISTS baseline_event (
    position bigserial, stream_id text NOT NULL, version bigint NOT NULL,
    name text NOT NULL, payload jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, version))"""
PREFIX = "/api/v1/streams/"
SUFFIX = "/events"


class App:
    def __init__(self, dsn: str, pool_size: int) -> None:
        self.pool = AsyncConnectionPool(dsn, min_size=pool_size, max_size=pool_size, open=False)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        path = scope["path"]
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            await self.answer(send, 200, b"{}")
            return
        stream_id = path[len(PREFIX) : -len(SUFFIX)]
        if scope["method"] == "GET":
            async with self.pool.connection() as conn:
                cur = await conn.execute(SELECT, (stream_id,))
                rows = await cur.fetchall()
            body = json.dumps(
                {
                    "events": [
                        {
                            "version": v,
                            "name": n,
                            "payload": json.loads(p),
                            "recorded_at": r.isoformat(),
                        }
                        for v, n, p, r in rows
                    ]
                }
            )
            await self.answer(send, 200, body.encode())
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            request = json.loads(raw)
            expected, events = int(request["expected_version"]), request["events"]
        except (ValueError, KeyError, TypeError) as exc:
            await self.answer(send, 400, json.dumps({"error": str(exc)}).encode())
            return
        try:
            async with self.pool.connection() as conn:
                await conn.execute(INSERT, (stream_id, expected, json.dumps(events)))
        except Exception as exc:  # a duplicate version: the reference has no richer errors
            await self.answer(send, 409, json.dumps({"error": type(exc).__name__}).encode())
            return
        body = json.dumps({"stream_id": stream_id, "version": expected + len(events)})
        await self.answer(send, 201, body.encode())

    async def answer(self, send, status: int, body: bytes) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.pool.open(wait=True)
                async with self.pool.connection() as conn:
                    await conn.execute(CREATE)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def app() -> App:
    """uvicorn's factory: one pool per worker process."""
    return App(os.environ["REFERENCE_DSN"], int(os.environ.get("REFERENCE_POOL", "16")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pool", type=int, default=16)
    args = parser.parse_args()
    os.environ["REFERENCE_DSN"], os.environ["REFERENCE_POOL"] = args.dsn, str(args.pool)
    uvicorn.run(
        "bench.serve.reference:app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
