#!/usr/bin/env bash
# Install the conformance-test toolchain (Stoplight Prism) into
# tests/conformance/node_modules, reproducibly from package-lock.json.
#
# Idempotent: does nothing when node_modules was installed from the current
# package-lock.json (a stamp file records its hash). Installs Debian's
# nodejs/npm first when `node` is missing. Safe to run concurrently (flock).
#
#   bash tests/conformance/install.sh          # install if needed
#   bash tests/conformance/install.sh --force  # reinstall
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
stamp="node_modules/.kinsta-cron-install-stamp"
force=0
[ "${1:-}" = "--force" ] && force=1

say() { printf 'conformance/install.sh: %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        say "node/npm missing and not root: install Debian's nodejs and npm packages"
        exit 1
    fi
    say "node/npm missing: installing Debian's nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
fi

want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"

# serialise concurrent runs (lock the script itself: nothing new in the tree)
exec 9<"$here/install.sh"
flock 9

if [ "$force" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && [ -x node_modules/.bin/prism ]; then
    exit 0
fi

say "npm ci in $here (node $(node --version), npm $(npm --version))"
start=$(date +%s)
# No telemetry, no audit/fund round trips; bounded network waits.
SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error \
    --fetch-retries=2 --fetch-timeout=60000 \
    --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 >&2
[ -x node_modules/.bin/prism ] || { say "prism binary missing after npm ci"; exit 1; }
printf '%s\n' "$want" > "$stamp"
say "installed $(node_modules/.bin/prism --version 2>/dev/null || echo '?') in $(( $(date +%s) - start ))s"
