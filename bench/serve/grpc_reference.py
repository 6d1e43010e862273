"""Python gRPC appends with nothing of Flipbook's: grpc.aio on uvloop (as `serve` runs it)
answering EventStore.Append after sending the request id as initial metadata, as Flipbook's
contract asks. Two modes:

- the floor (no ``--dsn``): the answer is a constant; what grpc.aio itself costs per call;
- the gRPC reference (``--dsn``): the REST reference's INSERT (bench/serve/reference.py) on a
  psycopg async pool, one per call, no auth, validation, global feed or bus: "a gRPC append
  in Python" as the REST reference is an HTTP one (same pool, same transaction per INSERT);
- the lean gRPC reference (``--dsn --lean``): the same INSERT, prepared, on autocommit
  connections handed out from a queue (no pool, no COMMIT round trip): about the most a
  gRPC append on grpc.aio and psycopg can do here.

    python -m bench.serve.grpc_reference --port 50777 [--dsn postgresql://... [--lean]]

Several processes may serve one port: grpc.aio binds it with SO_REUSEPORT.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import grpc
import psycopg
import uvloop
from psycopg_pool import AsyncConnectionPool

from bench.serve.reference import CREATE, INSERT
from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc

ANSWER = pb.AppendResponse(stream_id="floor", version=1)
REQUEST_ID = (("x-request-id", "reference"),)


class Floor(eventstore_pb2_grpc.EventStoreServicer):
    async def Append(self, request, context):
        await context.send_initial_metadata(REQUEST_ID)
        return ANSWER


class Reference(eventstore_pb2_grpc.EventStoreServicer):
    def __init__(self, pool: AsyncConnectionPool | None, connections: asyncio.Queue | None):
        self.pool, self.connections = pool, connections

    async def Append(self, request, context):
        await context.send_initial_metadata(REQUEST_ID)
        # The REST reference's body: events as JSON, the payload parsed (stored as jsonb).
        events = json.dumps(
            [{"name": e.name, "payload": json.loads(e.payload or b"null")} for e in request.events]
        )
        expected = request.expected_version
        params = (request.stream_id, expected, events)
        try:
            if self.pool is not None:
                async with self.pool.connection() as conn:
                    await conn.execute(INSERT, params)
            else:
                queue = self.connections
                conn = queue.get_nowait() if not queue.empty() else await queue.get()
                try:
                    await conn.execute(INSERT, params, prepare=True)
                finally:
                    queue.put_nowait(conn)
        except Exception as exc:  # a duplicate version: the reference has no richer errors
            await context.abort(grpc.StatusCode.ABORTED, type(exc).__name__)
        return pb.AppendResponse(
            stream_id=request.stream_id, version=expected + len(request.events)
        )


async def serve(port: int, dsn: str | None, pool_size: int, lean: bool) -> None:
    server = grpc.aio.server()
    pool = None
    connections: asyncio.Queue = asyncio.Queue()
    if dsn and lean:
        for _ in range(pool_size):
            connections.put_nowait(await psycopg.AsyncConnection.connect(dsn, autocommit=True))
        first = connections.get_nowait()
        await first.execute(CREATE)
        connections.put_nowait(first)
        servicer: eventstore_pb2_grpc.EventStoreServicer = Reference(None, connections)
    elif dsn:
        pool = AsyncConnectionPool(dsn, min_size=pool_size, max_size=pool_size, open=False)
        await pool.open(wait=True)
        async with pool.connection() as conn:
            await conn.execute(CREATE)
        servicer = Reference(pool, None)
    else:
        servicer = Floor()
    eventstore_pb2_grpc.add_EventStoreServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    try:
        await server.wait_for_termination()
    finally:
        if pool is not None:
            await pool.close()
        while not connections.empty():
            await connections.get_nowait().close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", help="PostgreSQL: answer by INSERTing (else a constant)")
    parser.add_argument("--pool", type=int, default=16)
    parser.add_argument("--lean", action="store_true", help="autocommit connections, no pool")
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.dsn, args.pool, args.lean))


if __name__ == "__main__":
    main()
