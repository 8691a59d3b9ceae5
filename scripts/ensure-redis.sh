#!/usr/bin/env bash
# Makes sure redis-server is installed: the integration tests need a real one.
# Installs Debian's package when it can (root, apt-get); otherwise says what
# to install and fails.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  exit 0
fi
echo "redis-server is not installed; installing Debian's redis-server package..." >&2
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if $sudo apt-get install -y -qq redis-server redis-tools >/dev/null 2>&1 ||
     { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq redis-server redis-tools >/dev/null; }; then
    # The package starts a system service on 6379; the tests use their own
    # servers, so stop it again where a service manager did start it.
    $sudo service redis-server stop >/dev/null 2>&1 || true
    command -v redis-server >/dev/null && exit 0
  fi
fi
cat >&2 <<'MSG'
Could not install redis-server. Install it by hand, then run make test again:
  Debian/Ubuntu: sudo apt-get install -y redis-server
  macOS:         brew install redis
Or point the tests at a running server: REDIS_URL=redis://127.0.0.1:6379/15 make test
MSG
exit 1
