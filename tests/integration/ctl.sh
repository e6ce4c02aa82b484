#!/usr/bin/env bash
# Start and stop the harness's servers; the integration tests call this to
# take PostgreSQL or Apache away and bring them back.
#   ctl.sh pg-stop|pg-start|httpd-start|httpd-stop|httpd-graceful|httpd-restart|httpd-t [args]
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

# httpd2-*: a second Apache on the same database (own port and var/), to
# show two nodes running each job once.
second() {
    export CONSULT_VAR=$CS_TEST_TMP/var2 CONSULT_LISTEN=127.0.0.1:$CS_TEST_PORT2
    export CONSULT_PORT=$CS_TEST_PORT2 CS_TEST_URL=http://127.0.0.1:$CS_TEST_PORT2
    mkdir -p "$CONSULT_VAR/log" "$CONSULT_VAR/run" "$CONSULT_VAR/conf.d"
    cp -n "$CS_TEST_TMP/var/secret" "$CONSULT_VAR/secret"
}

case "$1" in
httpd2-start) second; exec "$0" httpd-start ;;
httpd2-stop)  second; exec "$0" httpd-stop ;;
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
httpd-graceful)
    cs_httpd -f "$conf" -k graceful
    wait_listening
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
