#!/usr/bin/env bash
# The make-run database: tools/pg.sh start|stop|psql|migrate|conninfo
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/lib.sh"
var=$(cs_var "$root")
port=${CONSULT_PGPORT:-54329}
build=${BUILD:-build/release}
conninfo=$(cs_conninfo "$port")

case "${1:-}" in
start)    cs_pg_start "$var/pg" "$port" ;;
stop)     cs_pg_stop "$var/pg" ;;
conninfo) echo "$conninfo" ;;
migrate)
    cs_pg_start "$var/pg" "$port"
    "$root/$build/consult-admin" --db "$conninfo" migrate "$root/sql"
    ;;
psql)
    [[ -f "$var/pg/data/PG_VERSION" ]] || cs_die "no database yet: run make run first"
    cs_pg_start "$var/pg" "$port"
    if [[ -t 0 ]]; then
        exec psql "$conninfo"
    else
        exec psql -v ON_ERROR_STOP=1 -X -q "$conninfo" -f -
    fi
    ;;
*) echo "usage: tools/pg.sh start|stop|psql|migrate|conninfo" >&2; exit 2 ;;
esac
