#!/usr/bin/env sh
# Generate the Go code of proto/flipbook/v1 into OUT_DIR (`make proto-go`; `make proto-go-check`
# compares a fresh generation with the checked-in copy). protoc is grpcio-tools' bundled one,
# the plugins are the pinned versions that `make go-tools` installs, so the output is
# reproducible byte for byte. Usage: generate.sh PYTHON OUT_DIR (run from the repository root).
set -eu
PYTHON=$1
OUT_DIR=$2
MODULE=github.com/flipbook/flipbook/clients/go
PACKAGE=$MODULE/internal/flipbookpb
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
WELL_KNOWN=$("$PYTHON" -c "import importlib.resources as r; print(r.files('grpc_tools') / '_proto')")
# M maps the .proto to a Go package without a go_package option in the shared .proto.
"$PYTHON" -m grpc_tools.protoc -Iproto "-I$WELL_KNOWN" \
    "--go_out=$WORK" "--go_opt=module=$MODULE" "--go_opt=Mflipbook/v1/eventstore.proto=$PACKAGE" \
    "--go-grpc_out=$WORK" "--go-grpc_opt=module=$MODULE" \
    "--go-grpc_opt=Mflipbook/v1/eventstore.proto=$PACKAGE" \
    proto/flipbook/v1/eventstore.proto
mkdir -p "$OUT_DIR"
cp "$WORK"/internal/flipbookpb/*.pb.go "$OUT_DIR"/
