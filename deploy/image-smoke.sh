#!/usr/bin/env bash
# Smoke test of a built server image: migrate a fresh SQLite volume, create an admin API key,
# start the image's entry point (`flipbook serve`), wait for /readyz, append one event over
# REST and read it back, run the image's HEALTHCHECK, and check it runs as a non-root user with
# no compiler on board. Only loopback traffic: the server shares the host's network on 127.0.0.1.
#
# Usage: deploy/image-smoke.sh IMAGE
# FLIPBOOK_ENGINE: docker or podman run the image as a container; buildah runs its entry point
# in a chroot of the image (buildah run --isolation chroot: the image's user, environment and
# working directory, no OCI runtime), for machines where no container can start (no
# CAP_SYS_RESOURCE for a runtime's rlimits). auto (default): podman if it can start one, else
# buildah.
set -euo pipefail
image=${1:?usage: image-smoke.sh IMAGE}
engine=${FLIPBOOK_ENGINE:-auto}
secret=smoke-test-secret-key-not-for-production
tag=flipbook-smoke-$$

if [ "$engine" = auto ]; then
  if podman run --rm --entrypoint true "$image" >/dev/null 2>&1; then engine=podman; else engine=buildah; fi
fi
echo "image-smoke: $image with $engine"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
grpc_port=$(free_port)
base=http://127.0.0.1:$http_port
server_env=(-e "FLIPBOOK_SECRET_KEY=$secret" -e FLIPBOOK_HOST=127.0.0.1
  -e FLIPBOOK_HTTP_PORT="$http_port" -e FLIPBOOK_GRPC_PORT="$grpc_port")
server_pid=
data=

if [ "$engine" = buildah ]; then
  container=$(buildah from --name "$tag" "$image")
  data=$(mktemp -d)
  chown 10001:10001 "$data"  # the image's user owns its FLIPBOOK_VAR_DIR
  mapfile -t entrypoint < <(buildah inspect --format '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}' "$container" | sed '/^$/d')
  # run_in ARGS...: the image's entry point with ARGS, as the image's user, on the volume
  run_in() { buildah run --isolation chroot -v "$data:/var/lib/flipbook" "${server_env[@]/#-e/--env}" "$container" -- "${entrypoint[@]}" "$@"; }
  exec_in() { buildah run --isolation chroot -v "$data:/var/lib/flipbook" "$container" -- "$@"; }
  start_server() {
    setsid buildah run --isolation chroot -v "$data:/var/lib/flipbook" "${server_env[@]/#-e/--env}" \
      "$container" -- "${entrypoint[@]}" serve >"$data/server.log" 2>&1 &
    server_pid=$!
  }
  server_running() { kill -0 "$server_pid" 2>/dev/null; }
  server_logs() { tail -n 30 "$data/server.log"; }
  healthcheck() {
    mapfile -t test < <(buildah inspect --format '{{range .Docker.Config.Healthcheck.Test}}{{println .}}{{end}}' "$container" | sed '/^$/d')
    [ "${test[0]:-}" = CMD ] || fail "the image has no exec-form HEALTHCHECK"
    buildah run --isolation chroot "${server_env[@]/#-e/--env}" "$container" -- "${test[@]:1}"
  }
  cleanup() {
    if [ -n "$server_pid" ]; then kill -TERM -- "-$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    buildah rm "$container" >/dev/null 2>&1 || true
    rm -rf "$data"
  }
else
  "$engine" volume create "$tag" >/dev/null
  run_in() { "$engine" run --rm -v "$tag:/var/lib/flipbook" "${server_env[@]}" "$image" "$@"; }
  exec_in() { "$engine" exec "$tag" "$@"; }
  start_server() {
    "$engine" run -d --name "$tag" --network host -v "$tag:/var/lib/flipbook" "${server_env[@]}" "$image" >/dev/null
  }
  server_running() { [ "$("$engine" inspect -f '{{.State.Running}}' "$tag")" = true ]; }
  server_logs() { "$engine" logs "$tag" 2>&1 | tail -n 30; }
  healthcheck() {
    if [ "$engine" = podman ]; then "$engine" healthcheck run "$tag"; else
      test_json=$("$engine" inspect -f '{{json .Config.Healthcheck.Test}}' "$image")
      mapfile -t test < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])[1:]))' "$test_json")
      "$engine" exec "$tag" "${test[@]}"
    fi
  }
  cleanup() {
    "$engine" rm -f "$tag" >/dev/null 2>&1 || true
    "$engine" volume rm -f "$tag" >/dev/null 2>&1 || true
  }
fi
trap cleanup EXIT
fail() { echo "image-smoke: FAILED: $*" >&2; server_logs >&2 || true; exit 1; }

run_in migrate --noinput >/dev/null || fail "migrate failed"
key=$(run_in flipbook_key create smoke --scope admin | tail -n 1 | tr -d '[:space:]')
[ -n "$key" ] || fail "no API key was printed"

start_server
for _ in $(seq 1 120); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  server_running || fail "the server exited"
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

healthcheck || fail "the image's HEALTHCHECK failed"
echo "image-smoke: HEALTHCHECK passed"
uid=$(exec_in id -u)
[ "$uid" != 0 ] || fail "the server runs as root"
echo "image-smoke: runs as uid $uid"
if exec_in sh -c 'command -v gcc || command -v cc || command -v g++ || command -v make' >/dev/null 2>&1; then
  fail "a compiler is in the final image"
fi
echo "image-smoke: no compiler"
if exec_in sh -c 'test -e /run/host-ca.crt || test -e /var/lib/flipbook/secret_key' >/dev/null 2>&1; then
  fail "build-time files were left in the image"
fi
echo "image-smoke: passed"
