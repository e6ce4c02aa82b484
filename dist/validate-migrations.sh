#!/usr/bin/env bash
# validate-migrations: the migrations of this checkout applied to a scratch
# copy of the running release's schema, on a private PostgreSQL.
#   usage: dist/validate-migrations.sh [SQL_DIR]     (default: sql/)
#   VALIDATE_BASE=REF  the running release (default: the newest v* tag,
#                      else where HEAD left main); its sql/ makes the copy
#
# 1. the base release's migrations applied to an empty database (its schema);
# 2. this checkout's applied over it: any migration the base had applied
#    whose file changed since stops the runner (schema_migrations keeps each
#    file's SHA-256), and the new ones must apply cleanly;
# 3. applied again: nothing may be left to apply;
# 4. this checkout's applied to an empty database (a new install).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/lib.sh"
sql=$(cd "${1:-$root/sql}" && pwd)
admin=$root/${BUILD:-build/release}/consult-admin
[[ -x "$admin" ]] || cs_die "validate-migrations: $admin is missing (make all)"

base=${VALIDATE_BASE:-}
if [[ -z "$base" ]]; then
    base=$(git -C "$root" describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null ||
           git -C "$root" merge-base HEAD main 2>/dev/null ||
           git -C "$root" merge-base HEAD origin/main 2>/dev/null || true)
fi

tmp=$(mktemp -d /tmp/consult-validate-mig.XXXXXX)
chmod 755 "$tmp"
port=$(cs_free_port)
trap 'cs_pg_stop "$tmp/pg"; rm -rf "$tmp"' EXIT
cs_pg_start "$tmp/pg" "$port" >/dev/null
db=$(cs_conninfo "$port")
cs_as_pg "$(cs_pgbin)/createdb" -h 127.0.0.1 -p "$port" -U consult consult_fresh

migrate() { # migrate CONNINFO DIR: the runner's output, failing with it
    local out
    if ! out=$("$admin" --db "$1" migrate "$2" 2>&1); then
        printf '%s\n' "$out" >&2
        return 1
    fi
    printf '%s\n' "$out"
}

if [[ -n "$base" ]]; then
    mkdir "$tmp/base"
    git -C "$root" archive "$base" sql | tar -x -C "$tmp/base"
    echo "base: $(git -C "$root" rev-parse --short "$base") ($base), $(ls "$tmp/base/sql" | grep -c '^[0-9].*\.sql$') migrations"
    migrate "$db" "$tmp/base/sql" | grep '^migrations: .* applied'
else
    echo "base: none (no v* tag, no main): only a new install is checked"
fi
echo "upgrade:"
migrate "$db" "$sql" | sed 's/^/  /'
again=$(migrate "$db" "$sql")
grep -q '^migrations: 0 applied' <<<"$again" || { printf '%s\n' "$again" >&2; cs_die "a second run applied migrations again"; }
if grep -q '^functions: [1-9][0-9]* applied' <<<"$again"; then
    printf '%s\n' "$again" >&2; cs_die "a second run applied function files again"
fi
echo "again: nothing left to apply"
echo "new install:"
migrate "host=127.0.0.1 port=$port user=consult dbname=consult_fresh" "$sql" | grep '^migrations\|^functions' | sed 's/^/  /'
