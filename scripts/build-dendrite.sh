#!/usr/bin/env bash
# Builds Dendrite (the Matrix homeserver the integration tests run against)
# once into a cache outside the repository and prints the directory holding
# the binaries. The version is pinned in tools/go.mod, a separate module, so
# Dendrite's dependencies never enter Vigil's go.mod. A cold build takes a
# couple of minutes; later runs find the binaries and return at once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
go=${GO:-go}
version=$(cd "$root/tools" && $go list -m -f '{{.Version}}' github.com/element-hq/dendrite)
cache=${VIGIL_DENDRITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil/dendrite-$version}
tools="dendrite create-account generate-config generate-keys"
missing=""
for t in $tools; do
  [ -x "$cache/$t" ] || missing="$missing $t"
done
if [ -n "$missing" ]; then
  echo "build-dendrite: building Dendrite $version into $cache (a few minutes the first time)..." >&2
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  for t in $tools; do
    # Pure Go: no C toolchain or system library needed.
    (cd "$root/tools" && CGO_ENABLED=0 $go build -trimpath -o "$tmp/$t" "github.com/element-hq/dendrite/cmd/$t")
  done
  for t in $tools; do mv -f "$tmp/$t" "$cache/$t"; done
fi
echo "$cache"
