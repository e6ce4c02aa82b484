#!/usr/bin/env bash
# make leakcheck: Apache with every Consult module under valgrind memcheck
# (one process, -X), driven through intake posts, the job worker, health,
# the dashboard, a signed Twilio webhook and the outbound SMS, email and
# notification jobs (against the fake providers), then stopped. Fails if
# valgrind finds memory definitely lost in a stack through our code
# (cs_*, core_*, intake_*, inbox_*, twilio_*, email_* functions).
# Run by tests/integration/harness.sh, which set up PostgreSQL, the
# clients and the test vhosts.
set -euo pipefail
root=$CS_TEST_ROOT
. "$root/tools/lib.sh"
log=$CS_TEST_TMP/valgrind.log
url=$CS_TEST_URL

"$root/tests/integration/ctl.sh" httpd-stop
echo "leakcheck: starting Apache under valgrind (slow)"
valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --num-callers=30 --log-file="$log" \
    apache2 -X -f "$root/conf/httpd.conf" &
vg=$!
for _ in $(seq 1 300); do curl -s -o /dev/null "$url/" && break; sleep 0.2; done

post() { curl -s -o /dev/null -w "%{http_code}" -H "Host: $1" -H "Content-Type: $2" --data-binary "$3" "$url/api/intake"; }
echo "leakcheck: driving requests"
for i in $(seq 1 20); do
    post other.localhost application/x-www-form-urlencoded "email=leak$i%40example.com&message=leak+check+$i" >/dev/null
    post other.localhost application/json "{\"email\":\"j$i@example.com\",\"message\":\"json $i\"}" >/dev/null
    post other.localhost application/json "{\"message\":" >/dev/null
    curl -s -o /dev/null -H "Host: localhost" "$url/consult/health"
    curl -s -o /dev/null -H "Host: coffee-shop.localhost" "$url/"
done
jar=$CS_TEST_TMP/leak.cookies
# The sign-in form's token, with its cookie in the jar.
login_token() {
    curl -s -b "$jar" -c "$jar" -H "Host: admin.localhost" "$url/login" |
        sed -n 's/.*name="_login" value="\([^"]*\)".*/\1/p' | head -1
}
curl -s -o /dev/null -b "$jar" -c "$jar" -H "Host: admin.localhost" \
    --data "email=owner%40coffee.example&password=owner+password+1&_login=$(login_token)" "$url/login"
grep -q consult_session "$jar" || { echo "0 passed, 1 failed"; echo "leakcheck: could not sign in" >&2; exit 1; }
for i in $(seq 1 10); do
    curl -s -o /dev/null -b "$jar" -H "Host: admin.localhost" "$url/?q=leak"
    curl -s -o /dev/null -b "$jar" -H "Host: admin.localhost" -H "HX-Request: true" "$url/inbox/list?status=open"
done
curl -s -o /dev/null -b "$jar" -c "$jar" -H "Host: admin.localhost" \
    --data "email=x&password=y&_login=$(login_token)" "$url/login"
# A signed webhook (signature computed here, like Twilio does).
sig=$(python3 - "$CS_TEST_URL" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
port = urllib.parse.urlsplit(sys.argv[1]).port
p = {"MessageSid": "SMleak0000000000000000000000000001", "AccountSid": "AC0123456789abcdef0123456789abcdef",
     "From": "+15035550199", "To": "+15005550006", "Body": "leak check"}
url = "http://sms.localhost:%d/twilio/sms" % port
s = url + "".join(k + p[k] for k in sorted(p))
print(base64.b64encode(hmac.new(b"test-auth-token-0123456789abcdef", s.encode(), hashlib.sha1).digest()).decode())
PY
)
curl -s -o /dev/null -H "Host: sms.localhost" -H "X-Twilio-Signature: $sig" \
    --data "MessageSid=SMleak0000000000000000000000000001&AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B15035550199&To=%2B15005550006&Body=leak+check" \
    "$url/twilio/sms"
# The outbound paths: an SMS reply and an email reply through their jobs,
# and a new message on the email client (its staff notification).
curl -s -o /dev/null -X POST -H "Content-Type: application/json" "$CS_TEST_FAKE_URL/_control/rules" --data \
  '[{"method":"POST","path":"*/Messages.json","status":201,"body":{"sid":"{{sid}}","status":"queued"}},
    {"method":"POST","path":"/emails","status":200,"body":{"id":"{{sid}}"}}]'
post mail.localhost application/x-www-form-urlencoded "email=notify%40example.com&message=leak+notification" >/dev/null
psql -X -q "$CS_TEST_DATABASE" <<'SQL' >/dev/null
WITH c AS (SELECT id FROM clients WHERE slug = 'sms-client'),
  ct AS (INSERT INTO contacts (client_id, phone) SELECT id, '+15038880001' FROM c RETURNING id, client_id, phone),
  cv AS (INSERT INTO conversations (client_id, contact_id) SELECT client_id, id FROM ct RETURNING id, client_id),
  m AS (INSERT INTO messages (client_id, conversation_id, channel, direction, body, delivery_status, to_address, provider)
        SELECT cv.client_id, cv.id, 'sms', 'outbound', 'leak sms reply', 'queued', '+15038880001', 'twilio' FROM cv
        RETURNING id, client_id)
INSERT INTO jobs (kind, payload, unique_key)
SELECT 'twilio.sms.send', jsonb_build_object('message_id', id, 'client_id', client_id), 'twilio.sms.send:' || id FROM m;
WITH c AS (SELECT id FROM clients WHERE slug = 'mail-client'),
  ct AS (INSERT INTO contacts (client_id, email) SELECT id, 'leakreply@example.com' FROM c RETURNING id, client_id, email),
  cv AS (INSERT INTO conversations (client_id, contact_id) SELECT client_id, id FROM ct RETURNING id, client_id),
  m AS (INSERT INTO messages (client_id, conversation_id, channel, direction, body, delivery_status, to_address, provider)
        SELECT cv.client_id, cv.id, 'email', 'outbound', 'leak email reply', 'queued', 'leakreply@example.com', 'resend'
          FROM cv RETURNING id, client_id)
INSERT INTO jobs (kind, payload, unique_key)
SELECT 'email.send', jsonb_build_object('message_id', id, 'client_id', client_id), 'email.send:' || id FROM m;
SQL
sent=0
for _ in $(seq 1 360); do     # valgrind is slow: up to three minutes
    sent=$(psql -X -q -t -A "$CS_TEST_DATABASE" -c "SELECT (SELECT count(*) FROM messages WHERE body LIKE 'leak % reply'
        AND provider_id IS NOT NULL) + (SELECT count(*) FROM notifications n JOIN messages m ON m.id = n.message_id
        WHERE m.body = 'leak notification' AND n.sent_at IS NOT NULL)")
    [[ "$sent" == 3 ]] && break
    sleep 0.5
done
sleep 3       # let the job worker classify what else arrived
echo "leakcheck: stopping Apache"
kill -TERM "$vg"
wait "$vg" || true

# The requests must really have been served, or the check proves nothing.
stored=$(psql -X -q -t -A "$CS_TEST_DATABASE" -c "SELECT count(*) FROM submissions WHERE email LIKE 'leak%'")
if [[ "$stored" != 20 ]]; then
    echo "0 passed, 1 failed"
    echo "leakcheck: only $stored of 20 posts were stored under valgrind" >&2
    exit 1
fi
if [[ "$sent" != 3 ]]; then
    echo "0 passed, 1 failed"
    echo "leakcheck: only $sent of 3 outbound sends (SMS, email, notification) went out under valgrind" >&2
    exit 1
fi
echo "leakcheck: $stored posts stored; dashboard, health, webhook, jobs and 3 outbound sends exercised"

ours='(cs_|core_|intake_|inbox_|twilio_|email_|consult_)[a-z_]+'
blocks=$(awk '/definitely lost in/ {b=1; s=""} b {s = s $0 "\n"} b && /^==[0-9]+== $/ {print s "----"; b=0}' "$log")
mine=$(printf '%s' "$blocks" | awk -v RS='----' -v re="$ours" '$0 ~ re {n++; print} END {}' || true)
summary=$(grep -E "definitely lost:|ERROR SUMMARY" "$log" | tail -2)
echo "$summary"
if [[ -n "$mine" ]]; then
    printf '%s\n' "$mine" >&2
    echo "0 passed, 1 failed"
    echo "leakcheck: memory definitely lost through Consult code (full log: $log)" >&2
    mkdir -p "$root/tests/out"; cp "$log" "$root/tests/out/valgrind.log"
    exit 1
fi
echo "leakcheck: no memory definitely lost through Consult code"
echo "1 passed, 0 failed"
