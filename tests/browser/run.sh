#!/usr/bin/env bash
# Installs what the browser test needs (Debian's Chromium, playwright-core from
# npm) and runs it against a debug build of qrdesk.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: install Debian's chromium package (sudo apt-get install chromium)" >&2
    exit 1
  fi
fi

cd "$here"
npm ci --no-audit --no-fund --loglevel=error

cd "$root"
cargo build --quiet --bin qrdesk
node "$here/intake.mjs" "$root/target/debug/qrdesk"
