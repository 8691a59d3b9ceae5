#!/usr/bin/env bash
# Usage: scripts/with-redis-topologies.sh COMMAND [ARGS...]
# Starts a throwaway Redis Cluster (3 masters + 3 replicas) and a Sentinel
# setup (master, replica, three sentinels) on free loopback ports (see
# scripts/redis-topology.sh), runs COMMAND with REDIS_CLUSTER_URL and
# REDIS_SENTINEL_URL pointing at them, stops every server, removes their
# directories and exits with COMMAND's status. A URL already set is kept and
# that topology is not started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/vigil-topo.XXXXXX")
cleanup() {
  "$root/scripts/redis-topology.sh" cluster stop "$dir/cluster" || true
  "$root/scripts/redis-topology.sh" sentinel stop "$dir/sentinel" || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
if [ -z "${REDIS_CLUSTER_URL:-}" ]; then
  "$root/scripts/redis-topology.sh" cluster start "$dir/cluster"
  REDIS_CLUSTER_URL=$(cat "$dir/cluster/url")
  export REDIS_CLUSTER_URL
  echo "with-redis-topologies: cluster at $REDIS_CLUSTER_URL" >&2
fi
if [ -z "${REDIS_SENTINEL_URL:-}" ]; then
  "$root/scripts/redis-topology.sh" sentinel start "$dir/sentinel"
  REDIS_SENTINEL_URL=$(cat "$dir/sentinel/url")
  export REDIS_SENTINEL_URL
  echo "with-redis-topologies: sentinel at $REDIS_SENTINEL_URL" >&2
fi
set +e
"$@"
status=$?
set -e
exit $status
