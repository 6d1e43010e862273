"""The gRPC API of Flipbook: proto-generated code (gen/), servicers, interceptors, server."""
