#!/usr/bin/env bash
# Smoke test of a built server image: migrate a fresh SQLite volume, create an admin API key,
# start `flipbook serve`, wait for /readyz, append one event over REST and read it back, run
# the image's HEALTHCHECK, and check it runs as a non-root user with no compiler on board.
# Only loopback traffic: the container shares the host's network and listens on 127.0.0.1.
# Usage: deploy/image-smoke.sh IMAGE   (FLIPBOOK_ENGINE=docker to use docker; default podman)
set -euo pipefail
image=${1:?usage: image-smoke.sh IMAGE}
engine=${FLIPBOOK_ENGINE:-podman}
name=flipbook-smoke-$$
volume=flipbook-smoke-$$
secret=smoke-test-secret-key-not-for-production

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
grpc_port=$(free_port)
base=http://127.0.0.1:$http_port

cleanup() {
  "$engine" rm -f "$name" >/dev/null 2>&1 || true
  "$engine" volume rm -f "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "image-smoke: FAILED: $*" >&2; "$engine" logs "$name" 2>&1 | tail -n 30 >&2 || true; exit 1; }

run_once() { "$engine" run --rm -v "$volume:/var/lib/flipbook" -e FLIPBOOK_SECRET_KEY=$secret "$image" "$@"; }

"$engine" volume create "$volume" >/dev/null
run_once migrate --noinput >/dev/null
key=$(run_once flipbook_key create smoke --scope admin | tail -n 1 | tr -d '[:space:]')
[ -n "$key" ] || fail "no API key was printed"

"$engine" run -d --name "$name" --network host -v "$volume:/var/lib/flipbook" \
  -e FLIPBOOK_SECRET_KEY=$secret -e FLIPBOOK_HOST=127.0.0.1 \
  -e FLIPBOOK_HTTP_PORT="$http_port" -e FLIPBOOK_GRPC_PORT="$grpc_port" "$image" >/dev/null

for _ in $(seq 1 120); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  [ "$("$engine" inspect -f '{{.State.Running}}' "$name")" = true ] || fail "the server exited"
  sleep 0.5
done
ready=$(curl -fsS "$base/readyz") || fail "/readyz did not answer 200 within 60 s"
echo "image-smoke: /readyz $ready"

stream="smoke-$$"
appended=$(curl -fsS -X POST "$base/api/v1/streams/$stream/events" \
  -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"expected_version": 0, "events": [{"name": "Smoked", "payload": {"n": 42}}]}') \
  || fail "the append was refused"
echo "image-smoke: append $appended"
read_back=$(curl -fsS "$base/api/v1/streams/$stream/events" -H "Authorization: Bearer $key") \
  || fail "the read was refused"
echo "image-smoke: read $read_back"
python3 - "$read_back" <<'PY' || fail "the event read back is not the one appended"
import json, sys
events = json.loads(sys.argv[1])["events"]
assert len(events) == 1, events
assert events[0]["name"] == "Smoked" and events[0]["payload"] == {"n": 42}, events[0]
assert events[0]["version"] == 1, events[0]
PY

uid=$("$engine" exec "$name" id -u)
[ "$uid" != 0 ] || fail "the server runs as root"
echo "image-smoke: runs as uid $uid"
if "$engine" exec "$name" sh -c 'command -v gcc || command -v cc || command -v g++' >/dev/null; then
  fail "a compiler is in the final image"
fi
if [ "$engine" = podman ]; then
  "$engine" healthcheck run "$name" || fail "the image's HEALTHCHECK failed"
  echo "image-smoke: HEALTHCHECK healthy"
fi
echo "image-smoke: passed"
