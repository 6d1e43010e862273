"""REST and gRPC interfaces over the store service; built by the API issue."""
