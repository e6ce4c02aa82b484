#!/usr/bin/env bash
# Integration harness: a private PostgreSQL and Apache with our modules on
# free loopback ports, then the Check suites over real HTTP. Nothing is left
# running afterwards, pass or fail.
#   usage: harness.sh INTEGRATION_TEST_BINARY
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/lib.sh"
bin=$1
build="$root/${BUILD:-build/release}"

tmp=$(mktemp -d /tmp/consult-it.XXXXXX)
chmod 755 "$tmp"
export CS_TEST_TMP=$tmp
export CS_TEST_PG_DIR=$tmp/pg CS_TEST_PG_PORT=$(cs_free_port)
port=$(cs_free_port)
export CS_TEST_DATABASE=$(cs_conninfo "$CS_TEST_PG_PORT")
export CS_TEST_URL=http://127.0.0.1:$port
export CS_TEST_ROOT=$root CS_TEST_BUILD=$build
export CS_TEST_CONF=$root/conf/httpd.conf
export CS_TEST_ERROR_LOG=$tmp/var/log/error.log

finish() {
    local rc=$?
    "$root/tests/integration/ctl.sh" httpd-stop || true
    cs_pg_stop "$CS_TEST_PG_DIR"
    if [[ $rc -ne 0 ]]; then
        mkdir -p "$root/tests/out"
        cp -r "$tmp/var/log" "$root/tests/out/integration-logs" 2>/dev/null || true
        cp "$CS_TEST_PG_DIR/postgres.log" "$root/tests/out/integration-logs/" 2>/dev/null || true
        echo "integration: logs kept in tests/out/integration-logs" >&2
    fi
    rm -rf "$tmp"
    exit $rc
}
trap finish EXIT INT TERM

echo "integration: PostgreSQL on 127.0.0.1:$CS_TEST_PG_PORT, Apache on 127.0.0.1:$port"
cs_pg_start "$CS_TEST_PG_DIR" "$CS_TEST_PG_PORT"
"$build/consult-admin" --db "$CS_TEST_DATABASE" migrate "$root/sql" >/dev/null
"$build/consult-admin" --db "$CS_TEST_DATABASE" client-add coffee-shop "Ember & Oak Coffee" >/dev/null
"$build/consult-admin" --db "$CS_TEST_DATABASE" client-add other-client "Other Client" >/dev/null

cs_httpd_env "$root" "$tmp/var" "$build" "127.0.0.1:$port" "$CS_TEST_DATABASE"
cs_htdocs_for_children "$root" "$tmp/htdocs"
# Test-only vhosts next to the real conf/sites ones.
cat > "$tmp/var/conf.d/tests.conf" <<CONF
# Intake limit small enough to test 413.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName small.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient coffee-shop
    ConsultIntake On
    ConsultIntakeMaxBody 1k
</VirtualHost>
# Another tenant.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName other.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient other-client
    ConsultIntake On
    ConsultIntakeThankYou /merci.html
</VirtualHost>
# Intake switched on but no client bound: tenant endpoints answer 404.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName noclient.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultIntake On
</VirtualHost>
# A slug that is not in the clients table.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName ghost.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient ghost-client
    ConsultIntake On
</VirtualHost>
# A client vhost without ConsultIntake.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName off.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient coffee-shop
</VirtualHost>
CONF
"$root/tests/integration/ctl.sh" httpd-start

status=0
"$bin" || status=$?

# A crash or sanitizer report in any child fails the run even if every
# assertion passed.
if grep -E "AddressSanitizer|runtime error:|LeakSanitizer|exit signal (Segmentation|Aborted|Bus)" \
        "$CS_TEST_ERROR_LOG" >&2; then
    echo "integration: crash or sanitizer report in the Apache error log" >&2
    status=1
fi
exit $status
