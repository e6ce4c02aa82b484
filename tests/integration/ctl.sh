#!/usr/bin/env bash
# Start and stop the harness's servers; the integration tests call this to
# take PostgreSQL or Apache away and bring them back.
#   ctl.sh pg-stop|pg-start|httpd-start|httpd-stop|httpd-restart|httpd-t [args]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/lib.sh"
conf=$root/conf/httpd.conf

wait_pid_gone() {
    local pidfile=$CONSULT_VAR/run/httpd.pid i
    for i in $(seq 1 100); do
        [[ -f $pidfile ]] || return 0
        kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || { rm -f "$pidfile"; return 0; }
        sleep 0.1
    done
    echo "ctl: httpd did not stop" >&2; return 1
}

wait_listening() {
    local i
    for i in $(seq 1 100); do
        curl -s -o /dev/null "$CS_TEST_URL/" && return 0
        sleep 0.1
    done
    echo "ctl: httpd did not start; error log:" >&2
    tail -n 20 "$CONSULT_VAR/log/error.log" >&2 || true
    return 1
}

case "$1" in
pg-stop)  cs_pg_stop "$CS_TEST_PG_DIR" ;;
pg-start) cs_pg_start "$CS_TEST_PG_DIR" "$CS_TEST_PG_PORT" >/dev/null ;;
httpd-start)
    cs_httpd -f "$conf" -k start
    wait_listening
    ;;
httpd-stop)
    [[ -f "$CONSULT_VAR/run/httpd.pid" ]] || exit 0
    cs_httpd -f "$conf" -k stop || true
    wait_pid_gone
    ;;
httpd-restart)
    "$0" httpd-stop
    "$0" httpd-start
    ;;
httpd-t)
    shift
    cs_httpd -t -f "$conf" "$@"
    ;;
*) echo "usage: ctl.sh pg-stop|pg-start|httpd-start|httpd-stop|httpd-restart|httpd-t" >&2; exit 2 ;;
esac
