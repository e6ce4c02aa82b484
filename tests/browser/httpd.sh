#!/usr/bin/env bash
# Stop or start the browser harness's Apache from inside a test
# (forms.test.mjs: a form sent while the server is down), with the
# environment tests/browser/harness.sh exported (CONSULT_*, CS_BASE).
#   usage: tests/browser/httpd.sh stop|start
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/lib.sh"
conf=$root/conf/httpd.conf
pidfile=$CONSULT_VAR/run/httpd.pid
case ${1:-} in
stop)
    cs_httpd -f "$conf" -k stop
    for _ in $(seq 1 100); do
        [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || exit 0
        sleep 0.1
    done
    cs_die "httpd did not stop" ;;
start)
    cs_httpd -f "$conf" -k start
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$CS_BASE/" && exit 0
        sleep 0.1
    done
    cs_die "httpd did not start" ;;
*) echo "usage: $0 stop|start" >&2; exit 2 ;;
esac
