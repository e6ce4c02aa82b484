#!/usr/bin/env bash
# make run: private Postgres, migrations, demo seed, the provider stand-in
# (a local Twilio and Resend), Apache in the foreground on 127.0.0.1:8080
# until Ctrl-C, which stops the other two too.
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
    # Every step, whatever the one before returned (Apache killed by the
    # same Ctrl-C exits non-zero): nothing may be left running.
    set +e
    echo; echo "consult: stopping"
    if [[ -n "${httpd_pid:-}" ]]; then
        # $! is the subshell running cs_httpd, whose child is Apache (its
        # pid in the PidFile); if Apache never got going, end the subshell.
        apache=$(cat "$var/run/httpd.pid" 2>/dev/null)
        if [[ -n "$apache" && "$(ps -o ppid= -p "$apache" 2>/dev/null | tr -d ' ')" == "$httpd_pid" ]]; then
            kill -TERM "$apache" 2>/dev/null
        else
            kill -TERM "$httpd_pid" 2>/dev/null
        fi
        echo "  the pizzeria takes online orders with a local Stripe (card 4242 4242 4242 4242):"
echo "    order at http://pizzeria.localhost:${listen##*:}/order, then sign in as"
echo "    owner@slicebasil.example / demo-pizza-pass and open Orders; the mock POS's"
echo "    copy of each order is in $var/pos/pizzeria.state.json."
wait "$httpd_pid" 2>/dev/null
    fi
    cs_standin_stop "$var"
    cs_fake_stop "$var" calcom
    cs_fake_stop "$var" jobber
    cs_fake_stop "$var" stripe
    cs_pg_stop "$var/pg"
}
trap stop_all INT TERM EXIT

"$build/consult-admin" --db "$conninfo" migrate "$root/sql"
"$build/consult-admin" --db "$conninfo" seed "$root/sql/seed/demo.sql"
"$build/consult-admin" --db "$conninfo" seed "$root/sql/seed/restaurants.sql"
"$build/consult-admin" --db "$conninfo" seed "$root/sql/seed/sites.sql"
# Demo staff (README lists them): an agency admin and the coffee shop's owner.
printf '%s\n' 'demo-admin-pass' | "$build/consult-admin" --db "$conninfo" user-add admin@agency.example "Alex Agency" --password-stdin --admin >/dev/null
printf '%s\n' 'demo-owner-pass' | "$build/consult-admin" --db "$conninfo" user-add owner@coffee.example "Olivia Owner" --password-stdin >/dev/null
"$build/consult-admin" --db "$conninfo" member-add owner@coffee.example coffee-shop owner >/dev/null
printf '%s\n' 'demo-hauler-pass' | "$build/consult-admin" --db "$conninfo" user-add owner@haulaway.example "Hank Hauler" --password-stdin >/dev/null
"$build/consult-admin" --db "$conninfo" member-add owner@haulaway.example junk-hauler owner >/dev/null
printf '%s\n' 'demo-pizza-pass' | "$build/consult-admin" --db "$conninfo" user-add owner@slicebasil.example "Paola Pizzaiola" --password-stdin >/dev/null
"$build/consult-admin" --db "$conninfo" member-add owner@slicebasil.example pizzeria owner >/dev/null

cs_httpd_env "$root" "$var" "$build" "$listen" "$conninfo"
cs_htdocs_for_children "$root" "$var/htdocs"
# The demo client's texts, calls and emails go to the stand-in, never out:
# ConsultDemo makes conf/sites/coffee-shop.conf include conf/demo/.
export no_proxy=${no_proxy:+$no_proxy,}127.0.0.1,localhost NO_PROXY=${NO_PROXY:+$NO_PROXY,}127.0.0.1,localhost
cs_standin_start "$root" "$var"
# The junk hauler's Cal.com and Jobber (conf/demo/junk-hauler.conf).
CONSULT_JOBBER_STANDIN_URL=$(cs_fake_start "$var" jobber "$root/tests/fakes/fake_jobber.py")
CONSULT_CAL_STANDIN_URL=$(cs_fake_start "$var" calcom "$root/tests/fakes/fake_calcom.py" \
    --webhook "http://127.0.0.1:${listen##*:}/webhooks/calcom" --host "junk-hauler.localhost:${listen##*:}" \
    --secret demo-junk-hauler-cal-webhook-secret --api-key demo-junk-hauler-cal-api-key)
# The pizzeria's Stripe (conf/demo/pizzeria.conf): test cards, signed webhooks back.
CONSULT_STRIPE_STANDIN_URL=$(cs_fake_start "$var" stripe "$root/tests/fakes/fake_stripe.py" \
    --webhook "http://pizzeria.localhost:${listen##*:}/webhooks/stripe" \
    --secret whsec_demo_pizzeria_standin)
export CONSULT_JOBBER_STANDIN_URL CONSULT_CAL_STANDIN_URL CONSULT_STRIPE_STANDIN_URL
cs_httpd -t -f "$root/conf/httpd.conf" -DConsultDemo 2>&1 | grep -v '^Syntax OK$' || true
cs_httpd -f "$root/conf/httpd.conf" -DFOREGROUND -DConsultDemo &
httpd_pid=$!
sleep 1
echo
echo "Consult is running (Ctrl-C stops Apache, the stand-in and PostgreSQL):"
for f in "$root"/conf/sites/*.conf; do
    name=$(awk '/ServerName/ {print $2; exit}' "$f")
    [[ "$name" == localhost || "$name" == admin.localhost ]] && continue
    echo "  http://$name:${listen##*:}/"
done
echo "  dashboard: http://admin.localhost:${listen##*:}/ (owner@coffee.example / demo-owner-pass,"
echo "             admin@agency.example / demo-admin-pass)"
echo "  health: http://localhost:${listen##*:}/consult/health"
echo "  logs:   $var/log/   database: make psql"
admin=${build#"$root"/}/consult-admin
[[ "${listen##*:}" == 8080 ]] || admin="CONSULT_PORT=${listen##*:} $admin"
echo "  the coffee shop texts, takes voicemail and emails through a local stand-in"
echo "  of Twilio and Resend ($CONSULT_STANDIN_URL, log: $var/log/standin.jsonl); try"
echo "    $admin simulate sms coffee-shop --from +15035550123 --body \"Do you have oat milk?\""
echo "    $admin simulate voicemail coffee-shop --from +15035550123"
echo "  then answer from the dashboard: the reply shows as delivered."
echo "  the junk hauler books through a local Cal.com and sends leads to a local Jobber:"
echo "    book at http://junk-hauler.localhost:${listen##*:}/book, then sign in as"
echo "    owner@haulaway.example / demo-hauler-pass: the booking is in the inbox, and"
echo "    Integrations connects Jobber (\"Send to Jobber\" on a message makes a request)."
echo "  the pizzeria takes online orders with a local Stripe (card 4242 4242 4242 4242):"
echo "    order at http://pizzeria.localhost:${listen##*:}/order, then sign in as"
echo "    owner@slicebasil.example / demo-pizza-pass and open Orders; the mock POS's"
echo "    copy of each order is in $var/pos/pizzeria.state.json."
wait "$httpd_pid"
