#!/usr/bin/env bash
# Installs what the browser test needs (Debian's Chromium, playwright-core from
# npm) and runs it against a debug build of qrdesk.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

"$root/.ci/setup"

cd "$here"
npm ci --no-audit --no-fund --loglevel=error

cd "$root"
cargo build --quiet --bin qrdesk
node "$here/intake.mjs" "$root/target/debug/qrdesk"
