#!/usr/bin/env bash
# Usage: scripts/bench.sh   (what `make bench` runs; needs redis-server)
# Every benchmark against one throwaway redis-server (scripts/with-redis.sh):
# the Go benchmarks (store primitives beside the raw PING round trip, router
# dispatch, a day's reminders among 100,000 open items), then the
# vigil-bench scenarios (commands, intake API, Slack acknowledgement under
# load) and the real binary's time to ready and idle memory. Each prints the
# raw Redis round trip of its run beside its figures (docs/BENCHMARKS.md).
set -euo pipefail
GO=${GO:-go}
GOTAGS=${GOTAGS:-goolm}
# Not "dir": scripts/with-redis.sh has its own.
bench_dir=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench.XXXXXX")
trap 'rm -rf "$bench_dir"' EXIT
"$GO" build -tags "$GOTAGS" -o "$bench_dir/vigil" ./cmd/vigil
"$GO" build -o "$bench_dir/vigil-bench" ./cmd/vigil-bench
export GO bench_dir
scripts/with-redis.sh bash -c '
set -euo pipefail
"$GO" test -run "^$" -bench . -benchmem ./bot/... ./store/...
"$GO" test -run "^$" -bench FindOneDaysDue -benchtime 20x -benchmem ./commands/remind/
"$bench_dir/vigil-bench" --vigil "$bench_dir/vigil"
'
