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

# Loopback fakes must never be reached through a proxy from the environment.
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
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
    "$root/tests/integration/ctl.sh" httpd2-stop || true
    "$root/tests/integration/ctl.sh" httpd-stop || true
    [[ -n "${fake_pid:-}" ]] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
    [[ -n "${jobber_pid:-}" ]] && kill "$jobber_pid" 2>/dev/null && wait "$jobber_pid" 2>/dev/null
    [[ -n "${calcom_pid:-}" ]] && kill "$calcom_pid" 2>/dev/null && wait "$calcom_pid" 2>/dev/null
    [[ -n "${memcached_pid:-}" ]] && kill "$memcached_pid" 2>/dev/null && wait "$memcached_pid" 2>/dev/null
    [[ -n "${stripe_pid:-}" ]] && kill "$stripe_pid" 2>/dev/null && wait "$stripe_pid" 2>/dev/null
    [[ -n "${square_pid:-}" ]] && kill "$square_pid" 2>/dev/null && wait "$square_pid" 2>/dev/null
    cs_pg_stop "$CS_TEST_PG_DIR"
    if [[ $rc -ne 0 ]]; then
        mkdir -p "$root/tests/out"; rm -rf "$root/tests/out/integration-logs"
        cp -r "$tmp/var/log" "$root/tests/out/integration-logs" 2>/dev/null || true
        cp "$CS_TEST_PG_DIR/postgres.log" "$root/tests/out/integration-logs/" 2>/dev/null || true
        echo "integration: logs kept in tests/out/integration-logs" >&2
    fi
    rm -rf "$tmp"
    exit $rc
}
trap finish EXIT INT TERM

# A fake LLM (and later Twilio, Resend...) that records what it receives.
python3 "$root/tests/fakes/fake_provider.py" --port 0 --portfile "$tmp/fake.port" \
    --log "$tmp/fake.jsonl" &
fake_pid=$!
for _ in $(seq 1 50); do [[ -s "$tmp/fake.port" ]] && break; sleep 0.1; done
[[ -s "$tmp/fake.port" ]] || cs_die "the fake provider did not start"
export CS_TEST_FAKE_URL=http://127.0.0.1:$(cat "$tmp/fake.port")
# Jobber's OAuth (rotating refresh tokens) and GraphQL.
python3 "$root/tests/fakes/fake_jobber.py" --port 0 --portfile "$tmp/jobber.port" \
    --log "$tmp/jobber.jsonl" &
jobber_pid=$!
for _ in $(seq 1 50); do [[ -s "$tmp/jobber.port" ]] && break; sleep 0.1; done
[[ -s "$tmp/jobber.port" ]] || cs_die "the fake Jobber did not start"
export CS_TEST_JOBBER_URL=http://127.0.0.1:$(cat "$tmp/jobber.port")
# Cal.com's webhooks (which it can lose) and its API v2 bookings list, for
# the reconciliation of recon.localhost (tests/integration/check_reconcile.c).
export CS_TEST_CAL_SECRET=cal-test-webhook-secret-1 CS_TEST_CAL_API_KEY=cal_test_api_key_0123456789
python3 "$root/tests/fakes/fake_calcom.py" --port 0 --portfile "$tmp/calcom.port" \
    --log "$tmp/calcom.jsonl" --webhook "http://127.0.0.1:$port/webhooks/calcom" \
    --host recon.localhost --secret "$CS_TEST_CAL_SECRET" --api-key "$CS_TEST_CAL_API_KEY" &
calcom_pid=$!
for _ in $(seq 1 50); do [[ -s "$tmp/calcom.port" ]] && break; sleep 0.1; done
[[ -s "$tmp/calcom.port" ]] || cs_die "the fake Cal.com did not start"
export CS_TEST_CAL_URL=http://127.0.0.1:$(cat "$tmp/calcom.port")
# Stripe for online ordering, and a Square POS that can be told to fail.
python3 "$root/tests/fakes/fake_stripe.py" --port 0 --portfile "$tmp/stripe.port" \
    --log "$tmp/stripe.jsonl" &
stripe_pid=$!
python3 "$root/tests/fakes/fake_square.py" --port 0 --portfile "$tmp/square.port" \
    --log "$tmp/square.jsonl" &
square_pid=$!
for _ in $(seq 1 50); do [[ -s "$tmp/stripe.port" && -s "$tmp/square.port" ]] && break; sleep 0.1; done
[[ -s "$tmp/stripe.port" && -s "$tmp/square.port" ]] || cs_die "the fake Stripe or Square did not start"
export CS_TEST_STRIPE_URL=http://127.0.0.1:$(cat "$tmp/stripe.port")
export CS_TEST_SQUARE_URL=http://127.0.0.1:$(cat "$tmp/square.port")
export CS_TEST_STRIPE_WHSEC=whsec_test_orders_secret_1
export CS_TEST_PORT2=$(cs_free_port)
# Rate limits shared by the two Apache nodes through mod_socache's memcache
# provider: Debian's memcached on a private port, as a deployment runs it.
command -v memcached >/dev/null || cs_die "memcached is missing (dist/packages.txt)"
mc_port=$(cs_free_port)
memcached -l 127.0.0.1 -p "$mc_port" -U 0 -m 16 -u "$( [[ $(id -u) -eq 0 ]] && echo nobody || id -un)" &
memcached_pid=$!
export CS_TEST_MEMCACHED=127.0.0.1:$mc_port

echo "integration: PostgreSQL on 127.0.0.1:$CS_TEST_PG_PORT, Apache on 127.0.0.1:$port"
cs_pg_start "$CS_TEST_PG_DIR" "$CS_TEST_PG_PORT"
"$build/consult-admin" --db "$CS_TEST_DATABASE" migrate "$root/sql" >/dev/null
"$build/consult-admin" --db "$CS_TEST_DATABASE" client-add coffee-shop "Ember & Oak Coffee" >/dev/null
"$build/consult-admin" --db "$CS_TEST_DATABASE" client-add other-client "Other Client" >/dev/null
"$build/consult-admin" --db "$CS_TEST_DATABASE" client-add llm-client "LLM Client" >/dev/null
"$build/consult-admin" --db "$CS_TEST_DATABASE" client-add slowllm-client "Slow LLM Client" >/dev/null
"$build/consult-admin" --db "$CS_TEST_DATABASE" client-add agency-client "Agency Client" >/dev/null
"$build/consult-admin" --db "$CS_TEST_DATABASE" client-add barber-client "Barber Client" >/dev/null
export CS_TEST_LLM_KEY=sk-test-not-a-real-key
admin() { "$build/consult-admin" --db "$CS_TEST_DATABASE" "$@" >/dev/null; }
printf '%s\n' 'owner password 1' | admin user-add owner@coffee.example "Olivia Owner" --password-stdin
admin member-add owner@coffee.example coffee-shop owner
printf '%s\n' 'staff password 1' | admin user-add staff@coffee.example "Sam Staff" --password-stdin
admin member-add staff@coffee.example coffee-shop staff
printf '%s\n' 'other password 1' | admin user-add other@other.example "Oscar Other" --password-stdin
admin member-add other@other.example other-client owner
printf '%s\n' 'throttle password 1' | admin user-add throttle@coffee.example "Tess Throttle" --password-stdin
admin member-add throttle@coffee.example coffee-shop staff
printf '%s\n' 'agency password 1' | admin user-add admin@agency.example "Alex Agency" --password-stdin --admin
admin client-add sms-client "SMS Client"
printf '%s\n' 'sms password 1' | admin user-add sms@sms.example "Sandy Sms" --password-stdin
admin member-add sms@sms.example sms-client owner
export CS_TEST_TWILIO_TOKEN=test-auth-token-0123456789abcdef
admin client-add closed-client "Closed Client"
admin client-add budget-client "Budget Client"
admin client-add flood-client "Flood Client"
admin client-add mail-client "Mail Client"
printf '%s\n' 'mail password 1' | admin user-add mail@mail.example "Mia Mail" --password-stdin
admin member-add mail@mail.example mail-client owner
export CS_TEST_RESEND_KEY=re_test_key_not_real
admin client-add both-client "Both Client"
printf '%s\n' 'both password 1' | admin user-add both@both.example "Bo Both" --password-stdin
admin member-add both@both.example both-client owner
admin client-add pos-client "POS Test Kitchen"
admin client-add pos-other "POS Other Kitchen"
admin client-add pos-square "POS Square Kitchen"
admin client-add pos-clover "POS Clover Kitchen"
admin client-add mx-client "MX Client"
admin client-add shop-client "Order Test Pizzeria"
admin client-add shop-other "Order Other Pizzeria"
admin client-add shop-square "Order Square Pizzeria"
printf '%s\n' 'shop password 1' | admin user-add owner@shop.example "Pia Pizza" --password-stdin
admin member-add owner@shop.example shop-client owner
printf '%s\n' 'shopstaff password 1' | admin user-add staff@shop.example "Stu Staff" --password-stdin
admin member-add staff@shop.example shop-client staff
printf '%s\n' 'shopother password 1' | admin user-add owner@shop-other.example "Otto Other" --password-stdin
admin member-add owner@shop-other.example shop-other owner
# Mock POS restaurants: a small menu, a state file, a page template.
mkdir -p "$tmp/pos"; chmod 777 "$tmp/pos"
cat > "$tmp/pos/menu.json" <<'JSON'
{"currency": "USD",
 "modifier_groups": [{"id": "size", "name": "Size", "min": 1, "max": 1,
   "modifiers": [{"id": "size-12", "name": "12-inch", "price_cents": 0},
                 {"id": "size-16", "name": "16-inch", "price_cents": 500}]}],
 "categories": [
  {"id": "pizza", "name": "Pizza", "description": "From the oven",
   "items": [{"id": "margherita", "name": "Margherita", "price_cents": 1400, "modifier_groups": ["size"]},
             {"id": "diavola", "name": "Diavola", "price_cents": 1650, "modifier_groups": ["size"]}]},
  {"id": "drinks", "name": "Drinks",
   "items": [{"id": "lemonade", "name": "House Lemonade", "price_cents": 450},
             {"id": "soda", "name": "Italian Soda", "price_cents": 395}]}]}
JSON
cp "$tmp/pos/menu.json" "$tmp/pos/other-menu.json"
printf '%s\n' '<h1>{{restaurant.name}}</h1>{{#snapshot}}<p data-menu-stale>menu as of {{updated_at}}</p>{{/snapshot}}' \
    '{{#categories}}<h2>{{name}}</h2>{{#items}}<div data-item-id="{{id}}">{{name}} {{price}}{{#sold_out}} <b>{{sold_out_label}}</b>{{/sold_out}}{{#modifier_groups}} [{{rule}}{{#modifiers}} {{name}}{{price_delta}}{{/modifiers}}]{{/modifier_groups}}</div>{{/items}}{{/categories}}' \
    > "$tmp/pos/menu.mustache"
# Cal.com and Jobber (mod_consult_integrations): tokens sealed under two
# keys, the first current.
admin client-add hauler-client "Hauler Test Co"
printf '%s\n' 'hauler password 1' | admin user-add owner@hauler.example "Hank Hauler" --password-stdin
admin member-add owner@hauler.example hauler-client owner
printf '%s\n' 'crew password 1' | admin user-add crew@hauler.example "Cass Crew" --password-stdin
admin member-add crew@hauler.example hauler-client staff
admin client-add hauler-auto "Hauler Auto Co"
printf '%s\n' 'auto password 1' | admin user-add owner@hauler-auto.example "Ava Auto" --password-stdin
admin member-add owner@hauler-auto.example hauler-auto owner
admin client-add recon-client "Recon Test Co"
printf '%s\n' 'recon password 1' | admin user-add owner@recon.example "Rita Recon" --password-stdin
admin member-add owner@recon.example recon-client owner
export CS_TEST_JOBBER_SECRET=consult-jobber-secret-0123456789
export CS_TEST_SEAL_KEY_2=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CS_TEST_SEAL_KEY_1=$(head -c 32 /dev/urandom | base64)
export CS_TEST_POS_SECRET=pos-test-webhook-secret-1 CS_TEST_POS_OTHER_SECRET=pos-other-secret-2

# Fast job timing and no per-IP limit (every test posts from 127.0.0.1);
# the limits themselves are tested on their own vhost below.
export CONSULT_JOB_POLL=200ms CONSULT_JOB_LEASE=3s CONSULT_JOB_BACKOFF=200ms
export CONSULT_INTAKE_IP_LIMIT=0
cs_httpd_env "$root" "$tmp/var" "$build" "127.0.0.1:$port" "$CS_TEST_DATABASE"
cs_htdocs_for_children "$root" "$tmp/htdocs"
# Test-only vhosts next to the real conf/sites ones.
cat > "$tmp/var/conf.d/tests.conf" <<CONF
# Both nodes count rate limits in one memcached (mod_socache_memcache).
LoadModule socache_memcache_module \${CONSULT_HTTPD_MODULES}/mod_socache_memcache.so
ConsultRateLimitCache memcache:$CS_TEST_MEMCACHED
<VirtualHost \${CONSULT_LISTEN}>
    ServerName shared-limit.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient other-client
    ConsultIntake On
    ConsultIntakeRateLimit 4 10m
</VirtualHost>
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
# Form tokens with a short minimum fill time, required.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName tokens.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient coffee-shop
    ConsultIntake On
    ConsultIntakeFormToken Require
    ConsultIntakeMinFillTime 1s
</VirtualHost>
# Small rate limits.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName limited.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient other-client
    ConsultIntake On
    ConsultIntakeRateLimit 3 1m
</VirtualHost>
# Behind a trusted proxy (mod_remoteip; 127.0.0.1 plays the proxy): the
# visitor's address comes from X-Forwarded-For, for the per-IP limits and
# the sign-in throttle.
LoadModule remoteip_module \${CONSULT_HTTPD_MODULES}/mod_remoteip.so
<VirtualHost \${CONSULT_LISTEN}>
    ServerName proxied.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient other-client
    ConsultIntake On
    ConsultIntakeRateLimit 2 1m
    RemoteIPHeader X-Forwarded-For
    RemoteIPTrustedProxy 127.0.0.1
</VirtualHost>
<VirtualHost \${CONSULT_LISTEN}>
    ServerName proxied-admin.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/admin"
    ConsultInbox On
    RemoteIPHeader X-Forwarded-For
    RemoteIPTrustedProxy 127.0.0.1
</VirtualHost>
# Cross-origin posts from one allowed origin; small file limits.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName cors.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient other-client
    ConsultIntake On
    ConsultIntakeAllowOrigin https://www.coffee.example
    ConsultIntakeMaxFileSize 8k
    ConsultIntakeAllowTypes image/png application/pdf
</VirtualHost>
# Classification by an LLM: the fake provider.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName llm.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient llm-client
    ConsultIntake On
    ConsultClassifier llm
    ConsultLLMEndpoint $CS_TEST_FAKE_URL/v1
    ConsultLLMModel test-model
    ConsultLLMKey env:CS_TEST_LLM_KEY
    ConsultLLMTimeout 2s
</VirtualHost>
# An LLM slower than the job lease (3s): its job must still run once.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName slowllm.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient slowllm-client
    ConsultIntake On
    ConsultClassifier llm
    ConsultLLMEndpoint $CS_TEST_FAKE_URL/v1
    ConsultLLMModel test-model
    ConsultLLMKey env:CS_TEST_LLM_KEY
    ConsultLLMTimeout 9s
</VirtualHost>
# The builtin classifier told each client's kind of business.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName vertical-agency.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient agency-client
    ConsultIntake On
    ConsultVertical marketing_agency
</VirtualHost>
<VirtualHost \${CONSULT_LISTEN}>
    ServerName vertical-barber.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient barber-client
    ConsultIntake On
    ConsultVertical barber
</VirtualHost>
# The dashboard with short pages, to see keyset paging.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName smallpage.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/admin"
    ConsultInbox On
    ConsultInboxPageSize 5
</VirtualHost>
# SMS and voicemail through the fake Twilio.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName sms.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient sms-client
    ConsultIntake On
    ConsultTwilio On
    ConsultTwilioAccountSid AC0123456789abcdef0123456789abcdef
    ConsultTwilioAuthToken env:CS_TEST_TWILIO_TOKEN
    ConsultTwilioNumber +15005550006
    ConsultTwilioPublicURL https://sms.example.com
    ConsultTwilioAPIBase $CS_TEST_FAKE_URL
    ConsultTwilioGreeting "Thanks for calling the test shop."
    ConsultTwilioMissedCallText "Sorry we missed you! We will call back soon."
    ConsultTwilioTimeout 2s
</VirtualHost>
# A tiny per-client budget: posts beyond it are kept, marked spam.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName budget.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient budget-client
    ConsultIntake On
    ConsultIntakeClientRateLimit 2 1h
</VirtualHost>
# A small keep budget for bot posts: past 3 an hour they are only counted.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName flood.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient flood-client
    ConsultIntake On
    ConsultIntakeSpamKeep 3 1h
</VirtualHost>
# A client that is never open: every SMS gets the after-hours reply, once.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName closed.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient closed-client
    ConsultTwilio On
    ConsultTwilioAccountSid AC0123456789abcdef0123456789abcdef
    ConsultTwilioAuthToken env:CS_TEST_TWILIO_TOKEN
    ConsultTwilioNumber +15005550007
    ConsultTwilioPublicURL http://closed.localhost:$port
    ConsultTwilioAPIBase $CS_TEST_FAKE_URL
    ConsultTimeZone America/Los_Angeles
    ConsultBusinessHours "Mon-Sun closed"
    ConsultHoliday 2026-12-25
    ConsultAfterHoursReply "We are closed right now and will text you back in the morning."
</VirtualHost>
# Email replies and staff notifications through the fake Resend.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName mail.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient mail-client
    ConsultIntake On
    ConsultEmail On
    ConsultResendKey env:CS_TEST_RESEND_KEY
    ConsultResendFrom "Mail Client <hello@mail.example>"
    ConsultResendReplyTo "owner@mail.example"
    ConsultResendAPIBase $CS_TEST_FAKE_URL
    ConsultEmailTimeout 2s
</VirtualHost>
# A British client: local numbers are read as UK ones; small file totals.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName uk.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient other-client
    ConsultIntake On
    ConsultPhoneRegion GB
    ConsultIntakeAllowTypes image/png
    ConsultIntakeMaxFileSize 8k
    ConsultIntakeMaxFilesTotal 10k
</VirtualHost>
# A Mexican client: national numbers are Mexican, on its forms and the dashboard.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName mx.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient mx-client
    ConsultIntake On
    ConsultPhoneRegion MX
</VirtualHost>
# SMS and email both, email tried first.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName both.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient both-client
    ConsultIntake On
    ConsultReplyOrder email sms
    ConsultTwilio On
    ConsultTwilioAccountSid AC0123456789abcdef0123456789abcdef
    ConsultTwilioAuthToken env:CS_TEST_TWILIO_TOKEN
    ConsultTwilioNumber +15005550008
    ConsultTwilioPublicURL http://both.localhost:$port
    ConsultTwilioAPIBase $CS_TEST_FAKE_URL
    ConsultEmail On
    ConsultResendKey env:CS_TEST_RESEND_KEY
    ConsultResendFrom "Both Client <hello@both.example>"
    ConsultResendAPIBase $CS_TEST_FAKE_URL
</VirtualHost>
# Mock POS restaurants (two tenants, own secrets).
<VirtualHost \${CONSULT_LISTEN}>
    ServerName pos.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient pos-client
    ConsultPOS mock
    ConsultPOSMenuFile "$tmp/pos/menu.json"
    ConsultPOSStateFile "$tmp/pos/pos-client.state.json"
    ConsultPOSWebhookSecret env:CS_TEST_POS_SECRET
    ConsultPOSSnapshotDir "$tmp/pos/snapshots"
    ConsultPOSMenuTemplate "$tmp/pos/menu.mustache"
    ConsultPOSPollInterval 2s
</VirtualHost>
<VirtualHost \${CONSULT_LISTEN}>
    ServerName pos-other.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient pos-other
    ConsultPOS mock
    ConsultPOSMenuFile "$tmp/pos/other-menu.json"
    ConsultPOSStateFile "$tmp/pos/pos-other.state.json"
    ConsultPOSWebhookSecret env:CS_TEST_POS_OTHER_SECRET
    ConsultPOSSnapshotDir "$tmp/pos/snapshots"
    ConsultPOSPollInterval 2s
</VirtualHost>
# Square, whose API cannot mark items sold out (the adapter says so without
# a request): the dashboard's 86 stays Consult's override. Never synced
# (no request reaches this vhost), so its API is never called.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName square-pos.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient pos-square
    ConsultPOS square
    ConsultPOSLocation LSQTEST1
    ConsultPOSAPIBase http://127.0.0.1:9
    ConsultPOSToken square-test-token-not-real
    ConsultPOSWebhookSecret square-test-signature-key
    ConsultPOSWebhookURL http://square-pos.localhost/webhooks/pos
    ConsultPOSSnapshotDir "$tmp/pos/snapshots"
</VirtualHost>
# Clover, for its one-time (unsigned) webhook verification code; its API
# is never called either.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName clover-pos.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient pos-clover
    ConsultPOS clover
    ConsultPOSLocation MCLOVERTEST1
    ConsultPOSAPIBase http://127.0.0.1:9
    ConsultPOSToken clover-test-token-not-real
    ConsultPOSWebhookSecret clover-test-auth-code
    ConsultPOSSnapshotDir "$tmp/pos/snapshots"
</VirtualHost>
# Cal.com bookings and Jobber against the fake.
ConsultSecretKey k2 env:CS_TEST_SEAL_KEY_2
ConsultSecretKey k1 env:CS_TEST_SEAL_KEY_1
<VirtualHost \${CONSULT_LISTEN}>
    ServerName hauler.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/junk-hauler"
    ConsultClient hauler-client
    ConsultIntake On
    ConsultTimeZone America/Denver
    ConsultCalLink haul-away/estimate
    ConsultCalWebhookSecret env:CS_TEST_CAL_SECRET
    ConsultJobber On
    ConsultJobberClientId consult-jobber-client
    ConsultJobberClientSecret env:CS_TEST_JOBBER_SECRET
    ConsultJobberAPIBase $CS_TEST_JOBBER_URL/api
    ConsultJobberTimeout 5s
    ConsultIntegrationsPublicURL https://hauler.example.com
</VirtualHost>
# Quote requests go to Jobber without staff.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName hauler-auto.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/junk-hauler"
    ConsultClient hauler-auto
    ConsultIntake On
    ConsultJobber On
    ConsultJobberClientId consult-jobber-client
    ConsultJobberClientSecret env:CS_TEST_JOBBER_SECRET
    ConsultJobberAPIBase $CS_TEST_JOBBER_URL/api
    ConsultJobberAutoSend quote_request job_inquiry
</VirtualHost>
# Both reconciliations: Cal.com's bookings list and Jobber's requests.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName recon.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/junk-hauler"
    ConsultClient recon-client
    ConsultIntake On
    ConsultTimeZone America/Denver
    ConsultCalWebhookSecret env:CS_TEST_CAL_SECRET
    ConsultCalAPIKey env:CS_TEST_CAL_API_KEY
    ConsultCalAPIBase $CS_TEST_CAL_URL
    ConsultJobber On
    ConsultJobberClientId consult-jobber-client
    ConsultJobberClientSecret env:CS_TEST_JOBBER_SECRET
    ConsultJobberAPIBase $CS_TEST_JOBBER_URL/api
    ConsultJobberTimeout 5s
</VirtualHost>
# Online ordering against the fake Stripe: a mock-POS pizzeria, a second
# one (tenant isolation) and one whose POS is the fake Square.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName shop.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/pizzeria"
    ConsultClient shop-client
    ConsultPOS mock
    ConsultPOSMenuFile "$tmp/pos/menu.json"
    ConsultPOSStateFile "$tmp/pos/shop-client.state.json"
    ConsultPOSWebhookSecret env:CS_TEST_POS_SECRET
    ConsultPOSSnapshotDir "$tmp/pos/snapshots"
    ConsultPOSTaxRate 8.25
    ConsultTimeZone America/New_York
    ConsultOrders On
    ConsultOrderTemplates modules/orders/templates
    ConsultStripeAPIBase $CS_TEST_STRIPE_URL
    ConsultStripeSecretKey sk_test_orders_shop
    ConsultStripePublishableKey pk_test_orders_shop
    ConsultStripeWebhookSecret env:CS_TEST_STRIPE_WHSEC
    ConsultKitchenCapacity 20
    ConsultOrderLeadMinutes 15
    ConsultOrderUnpaidExpiry 5m
</VirtualHost>
<VirtualHost \${CONSULT_LISTEN}>
    ServerName shop-other.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/pizzeria"
    ConsultClient shop-other
    ConsultPOS mock
    ConsultPOSMenuFile "$tmp/pos/menu.json"
    ConsultPOSStateFile "$tmp/pos/shop-other.state.json"
    ConsultPOSWebhookSecret env:CS_TEST_POS_SECRET
    ConsultPOSSnapshotDir "$tmp/pos/snapshots"
    ConsultOrders On
    ConsultOrderTemplates modules/orders/templates
    ConsultStripeAPIBase $CS_TEST_STRIPE_URL
    ConsultStripeSecretKey sk_test_orders_other
    ConsultStripePublishableKey pk_test_orders_other
    ConsultStripeWebhookSecret whsec_test_orders_other
</VirtualHost>
<VirtualHost \${CONSULT_LISTEN}>
    ServerName shop-sq.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/pizzeria"
    ConsultClient shop-square
    ConsultPOS square
    ConsultPOSLocation L-MAIN
    ConsultPOSAPIBase $CS_TEST_SQUARE_URL
    ConsultPOSToken sq-test-token
    ConsultPOSWebhookSecret square-orders-signature-key
    ConsultPOSWebhookURL http://shop-sq.localhost/webhooks/pos
    ConsultPOSSnapshotDir "$tmp/pos/snapshots"
    ConsultOrders On
    ConsultOrderTemplates modules/orders/templates
    ConsultStripeAPIBase $CS_TEST_STRIPE_URL
    ConsultStripeSecretKey sk_test_orders_square
    ConsultStripePublishableKey pk_test_orders_square
    ConsultStripeWebhookSecret env:CS_TEST_STRIPE_WHSEC
    ConsultOrderPOSGiveUp 4s
</VirtualHost>
# A client vhost without ConsultIntake.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName off.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient coffee-shop
</VirtualHost>
CONF
mkdir -p "$tmp/var2/conf.d"
cp "$tmp/var/conf.d/tests.conf" "$tmp/var2/conf.d/"
"$root/tests/integration/ctl.sh" httpd-start

status=0
"$bin" || status=$?

# A crash or sanitizer report in any child fails the run even if every
# assertion passed.
if grep -E "AddressSanitizer|runtime error:|LeakSanitizer|exit signal (Segmentation|Aborted|Bus)" \
        "$CS_TEST_ERROR_LOG" "$tmp/var2/log/error.log" 2>/dev/null >&2; then
    echo "integration: crash or sanitizer report in the Apache error log" >&2
    status=1
fi
exit $status
