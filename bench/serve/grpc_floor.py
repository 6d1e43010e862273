"""The floor of a Python gRPC append: grpc.aio on uvloop (as `serve` runs it) answering
EventStore.Append with a constant, after sending the request id as initial metadata, as
Flipbook's contract asks. No auth, store or bus: what grpc.aio itself costs per call on
this machine, beside the REST reference.

    python -m bench.serve.grpc_floor --port 50777
"""

from __future__ import annotations

import argparse

import grpc
import uvloop

from flipbook_client._gen.flipbook.v1 import eventstore_pb2 as pb
from flipbook_client._gen.flipbook.v1 import eventstore_pb2_grpc

ANSWER = pb.AppendResponse(stream_id="floor", version=1)


class Floor(eventstore_pb2_grpc.EventStoreServicer):
    async def Append(self, request, context):
        await context.send_initial_metadata((("x-request-id", "floor"),))
        return ANSWER


async def serve(port: int) -> None:
    server = grpc.aio.server()
    eventstore_pb2_grpc.add_EventStoreServicer_to_server(Floor(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
