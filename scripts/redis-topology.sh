#!/usr/bin/env bash
# Usage: scripts/redis-topology.sh cluster|sentinel start|stop DIR
#
# Starts (or stops) a throwaway Redis topology on free loopback ports, every
# server in its own directory under DIR:
#
#   cluster   3 masters + 3 replicas (redis-server --cluster-enabled yes ×6,
#             redis-cli --cluster create … --cluster-replicas 1), waited for
#             until every node says cluster_state:ok.
#   sentinel  a master, a replica and three sentinels (redis-server
#             --sentinel, so Debian's separate redis-sentinel package is not
#             needed) watching it as "vigil", waited for until the replica
#             is in sync and every sentinel knows the other two.
#
# start writes DIR/url (the redis+cluster:// or redis+sentinel:// URL Vigil
# reads) and DIR/<port>.pid for every server, so a test can SIGKILL one;
# stop kills every server listed there and is safe to call twice.
#
# Tuning for failover tests (milliseconds): REDIS_CLUSTER_NODE_TIMEOUT
# (default 5000), REDIS_SENTINEL_DOWN_AFTER (default 5000) and
# REDIS_SENTINEL_FAILOVER_TIMEOUT (default 10000).
set -euo pipefail
kind=${1:-} action=${2:-} dir=${3:-}
if [ -z "$dir" ] || { [ "$kind" != cluster ] && [ "$kind" != sentinel ]; } ||
   { [ "$action" != start ] && [ "$action" != stop ]; }; then
  echo "usage: $0 cluster|sentinel start|stop DIR" >&2
  exit 2
fi

stop_all() {
  local f pid
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$f"
  done
}
if [ "$action" = stop ]; then
  stop_all
  exit 0
fi
mkdir -p "$dir"

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds.
wait_for() {
  local tries=$(( $1 * 10 ))
  shift
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

# start_server PORT ARGS...: a daemonized redis-server with its own
# directory, pid file and log; fails if it does not answer PING (the port
# may be taken).
start_server() {
  local port=$1
  shift
  mkdir -p "$dir/$port"
  redis-server "$@" --bind 127.0.0.1 --port "$port" --dir "$dir/$port" \
    --daemonize yes --pidfile "$dir/$port.pid" --logfile "$dir/$port/redis.log" \
    --protected-mode yes >/dev/null
  wait_for 5 cli "$port" ping
}

# The ports of one attempt: n consecutive ports from a random base. Cluster
# nodes also listen on port+10000 (the cluster bus), hence the range.
pick_base() { echo $(( 20000 + RANDOM % 20000 )); }

# No delay before a replica's first full sync (Redis waits 5 s by default
# to batch replicas): a test may kill a master seconds after start, and a
# replica that never synced cannot be promoted.
data_args=(--save "" --appendonly no --repl-diskless-sync-delay 0)

start_cluster() {
  local base=$1 ports=() p
  for i in 0 1 2 3 4 5; do ports+=($(( base + i ))); done
  for p in "${ports[@]}"; do
    start_server "$p" "${data_args[@]}" --cluster-enabled yes \
      --cluster-config-file "$dir/$p/nodes.conf" \
      --cluster-node-timeout "${REDIS_CLUSTER_NODE_TIMEOUT:-5000}" || return 1
  done
  local addrs=()
  for p in "${ports[@]}"; do addrs+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 || return 1
  for p in "${ports[@]}"; do
    wait_for 30 sh -c "redis-cli -h 127.0.0.1 -p $p cluster info | grep -q cluster_state:ok" || return 1
  done
  # Every replica must be attached before a test kills its master.
  wait_for 30 sh -c "[ \$(redis-cli -h 127.0.0.1 -p ${ports[0]} cluster nodes | grep -c ' slave .* connected') = 3 ]" || return 1
  # ...and synced: the cluster bus says "connected" before the replication
  # link is up, and a replica that never synced is never promoted.
  for p in "${ports[@]}"; do
    wait_for 30 sh -c "redis-cli -h 127.0.0.1 -p $p info replication | grep -qE 'role:master|master_link_status:up'" || return 1
  done
  local q=""
  for p in "${ports[@]:1}"; do q="$q&addr=127.0.0.1:$p"; done
  echo "redis+cluster://127.0.0.1:${ports[0]}?${q#&}" >"$dir/url"
}

start_sentinel() {
  local base=$1 master=$1 replica=$(( $1 + 1 )) s
  start_server "$master" "${data_args[@]}" || return 1
  start_server "$replica" "${data_args[@]}" --replicaof 127.0.0.1 "$master" || return 1
  for s in $(( base + 2 )) $(( base + 3 )) $(( base + 4 )); do
    mkdir -p "$dir/$s"
    cat >"$dir/$s/sentinel.conf" <<EOF
sentinel monitor vigil 127.0.0.1 $master 2
sentinel down-after-milliseconds vigil ${REDIS_SENTINEL_DOWN_AFTER:-5000}
sentinel failover-timeout vigil ${REDIS_SENTINEL_FAILOVER_TIMEOUT:-10000}
sentinel parallel-syncs vigil 1
EOF
    start_server "$s" "$dir/$s/sentinel.conf" --sentinel || return 1
  done
  wait_for 30 sh -c "redis-cli -h 127.0.0.1 -p $replica info replication | grep -q master_link_status:up" || return 1
  for s in $(( base + 2 )) $(( base + 3 )) $(( base + 4 )); do
    wait_for 30 sh -c "redis-cli -h 127.0.0.1 -p $s sentinel sentinels vigil | grep -c '^name\$' | grep -qx 2" || return 1
    wait_for 30 sh -c "redis-cli -h 127.0.0.1 -p $s sentinel replicas vigil | grep -q '^name\$'" || return 1
  done
  echo "redis+sentinel://127.0.0.1:$(( base + 2 ))?master_name=vigil&addr=127.0.0.1:$(( base + 3 ))&addr=127.0.0.1:$(( base + 4 ))" >"$dir/url"
}

for attempt in 1 2 3 4 5; do
  if "start_$kind" "$(pick_base)"; then
    exit 0
  fi
  stop_all
done
echo "redis-topology: could not start the $kind; its logs:" >&2
tail -n 20 "$dir"/*/redis.log "$dir/create.log" >&2 2>/dev/null || true
exit 1
