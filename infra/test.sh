#!/usr/bin/env bash
# The infra tests, offline: the Pulumi program under Pulumi's mocks (no
# pulumi CLI, no cloud account, no network), the node scripts on temporary
# folders, deploy.sh against stand-ins for pulumi and ssh. Prints mocha's
# spec report and closes with "infra: N passed, N failed".
#   usage: infra/test.sh        (CI=true, or a stale node_modules: npm ci first)
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "infra: npm not found (Debian: apt-get install nodejs npm)" >&2; exit 1; }

# npm writes node_modules/.package-lock.json on install; npm ci leaves
# package-lock.json alone, so after one install the marker is newer.
if [[ "${CI:-}" == true || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    start=$SECONDS
    npm ci --no-audit --no-fund --loglevel=error
    echo "infra: npm ci in $((SECONDS - start)) s"
fi

start=$SECONDS
rm -rf .build
npx --no-install tsc -p .
echo "infra: compiled in $((SECONDS - start)) s"
npx --no-install mocha
