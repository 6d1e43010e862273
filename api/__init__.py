"""REST and gRPC interfaces over the store service, API keys, and server instrumentation."""
