#!/usr/bin/env bash
# make run: private Postgres, migrations, demo seed, Apache in the foreground
# on 127.0.0.1:8080 until Ctrl-C, which stops Postgres too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/lib.sh"
var=$(cs_var "$root")
pgport=${CONSULT_PGPORT:-54329}
listen=${CONSULT_LISTEN:-127.0.0.1:8080}
build="$root/${BUILD:-build/release}"
conninfo=$(cs_conninfo "$pgport")

cs_pg_start "$var/pg" "$pgport"
stop_all() {
    trap - INT TERM EXIT
    echo; echo "consult: stopping"
    [[ -n "${httpd_pid:-}" ]] && kill -TERM "$httpd_pid" 2>/dev/null && wait "$httpd_pid" 2>/dev/null
    cs_pg_stop "$var/pg"
}
trap stop_all INT TERM EXIT

"$build/consult-admin" --db "$conninfo" migrate "$root/sql"
"$build/consult-admin" --db "$conninfo" seed "$root/sql/seed/demo.sql"
"$build/consult-admin" --db "$conninfo" seed "$root/sql/seed/restaurants.sql"
"$build/consult-admin" --db "$conninfo" seed "$root/sql/seed/sites.sql"
# Demo staff (README lists them): an agency admin and the coffee shop's owner.
"$build/consult-admin" --db "$conninfo" user-add admin@agency.example "Alex Agency" "demo-admin-pass" --admin >/dev/null
"$build/consult-admin" --db "$conninfo" user-add owner@coffee.example "Olivia Owner" "demo-owner-pass" >/dev/null
"$build/consult-admin" --db "$conninfo" member-add owner@coffee.example coffee-shop owner >/dev/null

cs_httpd_env "$root" "$var" "$build" "$listen" "$conninfo"
cs_htdocs_for_children "$root" "$var/htdocs"
cs_httpd -t -f "$root/conf/httpd.conf" 2>&1 | grep -v '^Syntax OK$' || true
cs_httpd -f "$root/conf/httpd.conf" -DFOREGROUND &
httpd_pid=$!
sleep 1
echo
echo "Consult is running (Ctrl-C stops Apache and PostgreSQL):"
for f in "$root"/conf/sites/*.conf; do
    name=$(awk '/ServerName/ {print $2; exit}' "$f")
    [[ "$name" == localhost || "$name" == admin.localhost ]] && continue
    echo "  http://$name:${listen##*:}/"
done
echo "  dashboard: http://admin.localhost:${listen##*:}/ (owner@coffee.example / demo-owner-pass,"
echo "             admin@agency.example / demo-admin-pass)"
echo "  health: http://localhost:${listen##*:}/consult/health"
echo "  logs:   $var/log/   database: make psql"
wait "$httpd_pid"
