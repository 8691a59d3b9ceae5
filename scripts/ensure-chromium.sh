#!/usr/bin/env bash
# Makes sure a headless Chromium is installed: the browser tests
# (internal/browsertest: the yearly report, later the web pages) load pages
# in one. Installs Debian's chromium package when it can (root, apt-get);
# otherwise says what to install and fails.
set -euo pipefail
for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then
    exit 0
  fi
done
echo "chromium is not installed; installing Debian's chromium package..." >&2
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  # --no-install-recommends: the browser and its libraries, not the desktop
  # integration (a few hundred MB less on a CI image).
  if $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null 2>&1 ||
     { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; }; then
    command -v chromium >/dev/null && exit 0
  fi
fi
cat >&2 <<'MSG'
Could not install chromium. Install it by hand, then run make test again:
  Debian/Ubuntu: sudo apt-get install -y chromium
  macOS:         brew install --cask chromium (or set VIGIL_CHROMIUM to a Chrome binary)
MSG
exit 1
