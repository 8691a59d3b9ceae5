#!/usr/bin/env bash
# Usage: scripts/with-dendrite.sh COMMAND [ARGS...]
# Builds Dendrite once into the cache (scripts/build-dendrite.sh), starts it
# on a free loopback port on a throwaway PostgreSQL cluster (see
# scripts/ensure-postgres.sh; SQLite only when PostgreSQL is missing and
# VIGIL_REQUIRE_INTEGRATION is not 1), runs COMMAND with
# MATRIX_HOMESERVER_URL, MATRIX_SHARED_SECRET and MATRIX_SERVER_NAME set,
# stops both and exits with COMMAND's status. With MATRIX_HOMESERVER_URL
# already set, it just runs COMMAND against that server.
set -euo pipefail
if [ -n "${MATRIX_HOMESERVER_URL:-}" ]; then
  exec "$@"
fi
root=$(cd "$(dirname "$0")/.." && pwd)
go=${GO:-go}
bin=$("$root/scripts/build-dendrite.sh")
helper=$(mktemp -d "${TMPDIR:-/tmp}/vigil-with-dendrite.XXXXXX")
trap 'rm -rf "$helper"' EXIT
(cd "$root" && $go build -o "$helper/with-dendrite" ./internal/testmatrix/cmd/with-dendrite)
"$helper/with-dendrite" -bin "$bin" -- "$@"
