#!/usr/bin/env bash
# Browser harness: a private PostgreSQL and Apache with our modules on free
# loopback ports, two clients and their owners seeded, then the node:test
# suites in tests/browser/ driving Debian's Chromium (playwright-core).
# Nothing is left running afterwards, pass or fail; the logs of a failed run
# are kept in tests/out/browser-logs, screenshots in tests/out/browser.
#   usage: tests/browser/harness.sh [node --test arguments, default tests/browser/]
#          tests/browser/harness.sh --run COMMAND [ARGS...]   (make sites-check)
# CS_SERVE_ROOT: the checkout Apache serves (ServerRoot: conf/sites, htdocs),
# by default this one; CS_HARNESS_SETUP: a command run once the database is
# seeded, before Apache starts (sites-check makes its new sites there).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/lib.sh"
build="$root/${BUILD:-build/release}"
conf=$root/conf/httpd.conf
serve_root=${CS_SERVE_ROOT:-$root}
cd "$root"

command -v node >/dev/null 2>&1 || cs_die "node not found (Node.js 20+ is needed for the browser tests)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || cs_die "Node.js $(node --version) is too old: the browser tests need 20 or later (node --test-concurrency, playwright-core)"
chromium=${CS_CHROMIUM:-/usr/bin/chromium}
[[ -x "$chromium" ]] || cs_die "$chromium not found (apt-get install chromium)"
[[ -x "$build/consult-admin" ]] || cs_die "$build/consult-admin not built (make)"
# node_modules (playwright-core, axe-core) and the vendored htmx the
# dashboard serves; before Apache starts, as its htdocs may be copied.
tools/assets.sh

export no_proxy=127.0.0.1,localhost,.localhost NO_PROXY=127.0.0.1,localhost,.localhost
tmp=$(mktemp -d /tmp/consult-browser.XXXXXX)
chmod 755 "$tmp"
pg_dir=$tmp/pg
pg_port=$(cs_free_port)
port=$(cs_free_port)
export CS_PORT=$port
export CS_BASE=http://127.0.0.1:$port
export CS_DATABASE=$(cs_conninfo "$pg_port")
export CS_OUT=$root/tests/out/browser
logs=$root/tests/out/browser-logs

httpd_stop() {
    local pidfile=$tmp/var/run/httpd.pid i
    [[ -f $pidfile ]] || return 0
    cs_httpd -f "$conf" -k stop >/dev/null 2>&1 || true
    for i in $(seq 1 100); do
        [[ -f $pidfile ]] || return 0
        kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "browser: httpd did not stop" >&2
    return 1
}

finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "${node_pid:-}" ]]; then
        kill "$node_pid" 2>/dev/null || true
        wait "$node_pid" 2>/dev/null || true
    fi
    httpd_stop || true
    [[ -n "${jobber_pid:-}" ]] && { kill "$jobber_pid" 2>/dev/null; wait "$jobber_pid" 2>/dev/null; }
    [[ -n "${stripe_pid:-}" ]] && { kill "$stripe_pid" 2>/dev/null; wait "$stripe_pid" 2>/dev/null; }
    cs_pg_stop "$pg_dir"
    if [[ $rc -ne 0 ]]; then
        mkdir -p "$root/tests/out"; rm -rf "$logs"
        cp -r "$tmp/var/log" "$logs" 2>/dev/null || mkdir -p "$logs"
        cp "$pg_dir/postgres.log" "$logs/" 2>/dev/null || true
        echo "browser: logs kept in tests/out/browser-logs, screenshots in tests/out/browser" >&2
    fi
    rm -rf "$tmp"
    exit $rc
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "browser: PostgreSQL on 127.0.0.1:$pg_port, Apache on 127.0.0.1:$port"
cs_pg_start "$pg_dir" "$pg_port" >/dev/null
admin() { "$build/consult-admin" --db "$CS_DATABASE" "$@" >/dev/null; }
admin migrate "$root/sql"
admin client-add coffee-shop "Ember & Oak Coffee"
admin client-add other-client "Other Client"
printf '%s\n' 'correct horse battery' | admin user-add owner@coffee.example "Coffee Owner" --password-stdin
admin member-add owner@coffee.example coffee-shop owner
printf '%s\n' 'other secret pass' | admin user-add other@other.example "Other Owner" --password-stdin
admin member-add other@other.example other-client owner
# >>> restaurants (menu.test.mjs): the demo restaurants' clients, served by
# the real conf/sites/pizzeria.conf on the mock POS; the test 86es items
# with consult-admin pos-86, as the restaurant would at its POS.
admin seed "$root/sql/seed/restaurants.sql"
export CS_CONSULT_ADMIN=$build/consult-admin
# <<< restaurants
if [[ -n "${CS_HARNESS_SETUP:-}" ]]; then
    "$CS_HARNESS_SETUP"
fi

# >>> integrations (integrations.test.mjs): a hauler whose Jobber is the
# fake (tests/fakes/fake_jobber.py) and whose Cal.com webhook has a secret.
admin client-add hauler-test "Hauler Test Co"
printf '%s\n' 'hauler owner pass' | admin user-add owner@hauler.example "Hank Hauler" --password-stdin
admin member-add owner@hauler.example hauler-test owner
python3 "$root/tests/fakes/fake_jobber.py" --port 0 --portfile "$tmp/jobber.port" &
jobber_pid=$!
for _ in $(seq 1 50); do [[ -s "$tmp/jobber.port" ]] && break; sleep 0.1; done
[[ -s "$tmp/jobber.port" ]] || cs_die "the fake Jobber did not start"
export CS_TEST_JOBBER_URL=http://127.0.0.1:$(cat "$tmp/jobber.port")
export CS_TEST_JOBBER_SECRET=consult-jobber-secret-0123456789 CS_TEST_CAL_SECRET=browser-cal-secret-1
export CS_TEST_SEAL_KEY=$(head -c 32 /dev/urandom | base64)
# <<< integrations

# >>> orders (orders.test.mjs): a pizzeria taking online orders, its Stripe
# the fake (test cards, the Stripe.js stand-in, signed webhooks back).
admin client-add pizza-order "Slice & Basil Online"
printf '%s\n' 'pizza owner pass' | admin user-add owner@pizza-order.example "Paola Pizza" --password-stdin
admin member-add owner@pizza-order.example pizza-order owner
python3 "$root/tests/fakes/fake_stripe.py" --port 0 --portfile "$tmp/stripe.port" \
    --webhook "http://pizza-order.localhost:$port/webhooks/stripe" --secret whsec_browser_orders_1 &
stripe_pid=$!
for _ in $(seq 1 50); do [[ -s "$tmp/stripe.port" ]] && break; sleep 0.1; done
[[ -s "$tmp/stripe.port" ]] || cs_die "the fake Stripe did not start"
export CS_TEST_STRIPE_URL=http://127.0.0.1:$(cat "$tmp/stripe.port")
# <<< orders

# Fast job timing and no per-IP limit: every post comes from 127.0.0.1.
export CONSULT_JOB_POLL=200ms CONSULT_INTAKE_IP_LIMIT=0
cs_httpd_env "$serve_root" "$tmp/var" "$build" "127.0.0.1:$port" "$CS_DATABASE"
cs_htdocs_for_children "$serve_root" "$tmp/htdocs"
cat > "$tmp/var/conf.d/browser.conf" <<CONF
ConsultSecretKey b1 env:CS_TEST_SEAL_KEY
<VirtualHost \${CONSULT_LISTEN}>
    ServerName hauler-test.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/junk-hauler"
    ConsultClient hauler-test
    ConsultCalLink haul-away/estimate
    ConsultCalWebhookSecret env:CS_TEST_CAL_SECRET
    ConsultJobber On
    ConsultJobberClientId consult-jobber-client
    ConsultJobberClientSecret env:CS_TEST_JOBBER_SECRET
    ConsultJobberAPIBase $CS_TEST_JOBBER_URL/api
    ConsultIntegrationsPublicURL https://hauler-test.example.com
</VirtualHost>
<VirtualHost \${CONSULT_LISTEN}>
    ServerName pizza-order.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/pizzeria"
    ConsultClient pizza-order
    ConsultPOS mock
    ConsultPOSMenuFile "\${CONSULT_HTDOCS}/../sql/seed/pos/pizzeria.json"
    ConsultPOSStateFile "\${CONSULT_VAR}/pos/pizza-order.state.json"
    ConsultPOSWebhookSecret browser-pizza-order-pos-secret
    ConsultPOSSnapshotDir "\${CONSULT_VAR}/pos/snapshots"
    ConsultPOSTaxRate 8.5
    ConsultTimeZone America/New_York
    ConsultOrders On
    ConsultOrderTemplates modules/orders/templates
    ConsultStripeAPIBase $CS_TEST_STRIPE_URL
    ConsultStripeSecretKey sk_test_browser_orders
    ConsultStripePublishableKey pk_test_browser_orders
    ConsultStripeWebhookSecret whsec_browser_orders_1
</VirtualHost>
CONF
cs_httpd -f "$conf" -k start
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$CS_BASE/" && break
    sleep 0.1
done
if ! curl -s -o /dev/null "$CS_BASE/"; then
    tail -n 20 "$tmp/var/log/error.log" >&2 || true
    cs_die "Apache did not start"
fi
login_status=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: admin.localhost:$port" "$CS_BASE/login" || true)
[[ $login_status == 200 ]] ||
    echo "browser: warning: http://admin.localhost:$port/login answers $login_status; is the dashboard vhost configured?" >&2

mkdir -p "$CS_OUT"
rm -f "$CS_OUT"/*.png
[[ $# -gt 0 ]] || set -- tests/browser/
status=0
# In the background so that a signal to this script stops it at once (the
# EXIT trap then ends node, which closes its Chromium).
if [[ $1 == --run ]]; then
    shift
    "$@" &
else
    node --test --test-concurrency=1 "$@" &
fi
node_pid=$!
wait "$node_pid" || status=$?
node_pid=

# A crash or sanitizer report in any child fails the run even if every
# assertion passed.
if grep -E "AddressSanitizer|runtime error:|LeakSanitizer|exit signal (Segmentation|Aborted|Bus)" \
        "$tmp/var/log/error.log" 2>/dev/null >&2; then
    echo "browser: crash or sanitizer report in the Apache error log" >&2
    status=1
fi
if [[ $status -ne 0 ]]; then
    echo "browser: FAILED" >&2
else
    echo "browser: all tests passed"
fi
exit $status
