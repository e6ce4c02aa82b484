#!/usr/bin/env bash
# validate-httpd: apache2 -t of the production config. The infra program's
# own test renders it as the nodes do (consult-render: conf/httpd.conf and
# conf/sites/ with TLS on 443, Cloudflare's mod_remoteip, the node paths)
# from a typical stack's bundle under Pulumi's mocks, and runs apache2 -t on
# it with this checkout's modules. --forbid-pending: a skipped test (no
# apache2, no build) fails here instead of passing quietly.
set -euo pipefail
cd "$(dirname "$0")/../infra"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
rm -rf .build
npx --no-install tsc -p .
npx --no-install mocha --forbid-pending --grep 'apache2 -t accepts the rendered config'
