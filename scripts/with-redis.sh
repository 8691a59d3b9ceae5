#!/usr/bin/env bash
# Usage: scripts/with-redis.sh COMMAND [ARGS...]
# Starts a throwaway redis-server on a free loopback port with its own
# directory, runs COMMAND with REDIS_URL pointing at it, stops the server and
# removes the directory, and exits with COMMAND's status. With REDIS_URL
# already set, it just runs COMMAND against that server.
set -euo pipefail
if [ -n "${REDIS_URL:-}" ]; then
  exec "$@"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/vigil-redis.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

for attempt in 1 2 3 4 5 6 7 8 9 10; do
  port=$(( 20000 + RANDOM % 30000 ))
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
    --protected-mode yes --logfile "$dir/redis.log" &
  pid=$!
  for _ in $(seq 1 50); do
    if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
      break 2
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break # port taken: try another
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
if [ -z "$pid" ]; then
  echo "with-redis: could not start redis-server; its log:" >&2
  cat "$dir/redis.log" >&2 || true
  exit 1
fi
echo "with-redis: redis-server on 127.0.0.1:$port (pid $pid)" >&2
export REDIS_URL="redis://127.0.0.1:$port/0"
set +e
"$@"
status=$?
set -e
exit $status
