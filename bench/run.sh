#!/usr/bin/env bash
# Load-tests the catalog APIs on loopback: 500 courses × 3 runs and 50 programs, wrk with
# 2 threads and 32 connections, on SQLite and on PostgreSQL. Prints a Markdown table.
# Usage: bench/run.sh [seconds per endpoint]   (needs wrk: apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-15}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registrar/target}"
cargo build --release -p registrar >&2
BIN="$CARGO_TARGET_DIR/release/registrar"
WORK="$(mktemp -d)"
PORT=18088
PG_ADMIN="${REGISTRAR_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
trap 'kill "${SERVER:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$BIN" catalog generate --courses 500 --programs 50 > "$WORK/catalog.json"


bench_backend() {
  local name="$1" url="$2"
  export DATABASE_URL="$url" REGISTRAR_BIND="127.0.0.1:$PORT" REGISTRAR_BASE_URL="http://127.0.0.1:$PORT" \
    REGISTRAR_LOG_FORMAT=json RUST_LOG=warn REGISTRAR_POOL_SIZE=8
  "$BIN" catalog import "$WORK/catalog.json" > /dev/null
  "$BIN" serve 2> "$WORK/$name.log" &
  SERVER=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break; sleep 0.2; done
  local detail
  detail="$(curl -sf "http://127.0.0.1:$PORT/api/v2/courses/?page_size=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["readable_id"])')"
  local ENDPOINTS=("/api/v2/courses/?live=true&page_size=100" "/api/courses/" "/api/v2/courses/$detail/")
  for path in "${ENDPOINTS[@]}"; do
    curl -sf "http://127.0.0.1:$PORT$path" > /dev/null
    local out bytes
    out="$(wrk -t2 -c32 -d"${DURATION}s" --latency "http://127.0.0.1:$PORT$path")"
    bytes="$(curl -s "http://127.0.0.1:$PORT$path" | wc -c)"
    local rps p50 p99 rss
    rps="$(awk '/Requests\/sec/ {print $2}' <<< "$out")"
    p50="$(awk '$1=="50%" {print $2}' <<< "$out")"
    p99="$(awk '$1=="99%" {print $2}' <<< "$out")"
    rss="$(awk '/VmHWM/ {printf "%.1f MB", $2/1024}' "/proc/$SERVER/status")"
    printf '| %s | `%s` | %s | %s | %s | %s | %s |\n' "$name" "$path" "$rps" "$p50" "$p99" "$bytes" "$rss"
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
}

echo "| backend | endpoint | requests/s | p50 | p99 | body bytes | server peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|"
bench_backend sqlite "sqlite://$WORK/bench.db?mode=rwc"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS registrar_bench" -c "CREATE DATABASE registrar_bench" > /dev/null
bench_backend postgresql "${PG_ADMIN%/*}/registrar_bench"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS registrar_bench" > /dev/null
