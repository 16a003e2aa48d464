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
status=0
node "$here/intake.mjs" "$root/target/debug/qrdesk" || status=1
node "$here/admin.mjs" "$root/target/debug/qrdesk" || status=1
exit $status
