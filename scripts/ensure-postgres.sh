#!/usr/bin/env bash
# Makes sure PostgreSQL's server binaries are installed: the Matrix
# integration tests run Dendrite on a throwaway cluster of their own
# (internal/testmatrix), because Dendrite's SQLite storage crashes under
# load. Installs Debian's postgresql package when it can (root, apt-get),
# stops the service the package starts (the tests never use it), and
# otherwise says what to install and fails.
set -euo pipefail

have_postgres() {
  local d
  if [ -n "${VIGIL_POSTGRES_BIN:-}" ]; then
    [ -x "$VIGIL_POSTGRES_BIN/initdb" ] && [ -x "$VIGIL_POSTGRES_BIN/postgres" ] && [ -x "$VIGIL_POSTGRES_BIN/createdb" ]
    return
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/createdb" ] && return 0
  done
  d=$(command -v initdb 2>/dev/null) || return 1
  d=$(dirname "$(readlink -f "$d")")
  [ -x "$d/postgres" ] && [ -x "$d/createdb" ]
}

# As root the tests run the server as the postgres system user (PostgreSQL
# refuses to run as root); the Debian package creates that user.
user_ok() {
  [ "$(id -u)" != 0 ] || id postgres >/dev/null 2>&1
}

if have_postgres && user_ok; then
  exit 0
fi
if [ -n "${VIGIL_POSTGRES_BIN:-}" ]; then
  echo "VIGIL_POSTGRES_BIN=$VIGIL_POSTGRES_BIN has no initdb, postgres and createdb; point it at PostgreSQL's bin directory, or unset it." >&2
  exit 1
fi
echo "PostgreSQL is not installed; installing Debian's postgresql package..." >&2
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if $sudo apt-get install -y -qq postgresql >/dev/null 2>&1 ||
     { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq postgresql >/dev/null; }; then
    # The package creates and starts a "main" cluster on 5432; the tests
    # start their own, so stop it again wherever it did start.
    $sudo service postgresql stop >/dev/null 2>&1 || true
    if command -v pg_lsclusters >/dev/null 2>&1; then
      pg_lsclusters -h 2>/dev/null | while read -r ver name _port status _rest; do
        if [ "$status" = online ]; then
          $sudo pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
        fi
      done
    fi
    have_postgres && user_ok && exit 0
  fi
fi
cat >&2 <<'MSG'
Could not install PostgreSQL. Install it by hand, then run make test again:
  Debian/Ubuntu: sudo apt-get install -y postgresql
  macOS:         brew install postgresql, then
                 export VIGIL_POSTGRES_BIN="$(brew --prefix postgresql)/bin"
No server needs to run: each test run starts and removes its own cluster.
MSG
exit 1
