#!/usr/bin/env bash
# Run by tests/browser/harness.sh for make sites-check, once its database is
# seeded and before Apache starts: the clients of every demo site, and one
# new site per vertical made by consult-admin site-new in the scratch
# checkout ($CS_SERVE_ROOT), names chosen to need escaping.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
admin() { "$CS_CONSULT_ADMIN" --db "$CS_DATABASE" "$@"; }
admin seed "$root/sql/seed/demo.sql" >/dev/null
admin seed "$root/sql/seed/sites.sql" >/dev/null
while IFS='|' read -r slug vertical name; do
    admin site-new "$slug" --name "$name" --vertical "$vertical" \
        --owner "owner@$slug.example" --root "$CS_SERVE_ROOT" >/dev/null
done <<'SITES'
new-cafe|cafe|Bean & Leaf Café
new-restaurant|restaurant|Olive "Tree" Trattoria
new-trades|trades|Pipe & Drain <Plumbing>
new-booking|booking|Ziggy's Nail Studio
new-services|services|Ledger & Co. Accountants
SITES
echo "sites-check: made new-cafe, new-restaurant, new-trades, new-booking, new-services with site-new"
