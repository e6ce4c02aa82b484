#!/usr/bin/env bash
# make leakcheck: Apache with every Consult module under valgrind memcheck
# (one process, -X), driven through intake posts, the job worker, health,
# the dashboard, signed Twilio webhooks (journaled, then processed by the
# twilio.event job) and the outbound SMS, email and
# notification jobs (against the fake providers), then stopped. Fails if
# valgrind finds memory definitely lost in a stack through our code
# (cs_*, core_*, intake_*, inbox_*, twilio_*, email_*, pos_* functions).
# The restaurant part (menu sync, /api/menu and its 304, /menu, signed
# POS webhooks: good, redelivered, forged, unsigned, stale) has its own
# section below.
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
# Signed webhooks (signatures computed here, like Twilio does, over the
# vhost's ConsultTwilioPublicURL): an SMS, a call with its recording and
# transcript, and a status callback, each journaled and then processed by
# the twilio.event job.
twilio_hook() {   # path, form body
    local sig
    sig=$(python3 - "$1" "$2" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
p = urllib.parse.parse_qsl(sys.argv[2], keep_blank_values=True)
s = "https://sms.example.com" + sys.argv[1] + "".join(k + v for k, v in sorted(p))
print(base64.b64encode(hmac.new(b"test-auth-token-0123456789abcdef", s.encode(), hashlib.sha1).digest()).decode())
PY
)
    curl -s -o /dev/null -H "Host: sms.localhost" -H "X-Twilio-Signature: $sig" --data "$2" "$url$1"
}
acct=AccountSid=AC0123456789abcdef0123456789abcdef
twilio_hook /twilio/sms "MessageSid=SMleak0000000000000000000000000001&$acct&From=%2B15035550199&To=%2B15005550006&Body=leak+check"
twilio_hook /twilio/voice "CallSid=CAleak0000000000000000000000000001&$acct&From=%2B15035550198&To=%2B15005550006&CallStatus=ringing"
twilio_hook /twilio/voice/recording "CallSid=CAleak0000000000000000000000000001&$acct&RecordingSid=REleak0000000000000000000000000001&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2Frec%2Fleak&RecordingDuration=5"
twilio_hook /twilio/voice/transcription "CallSid=CAleak0000000000000000000000000001&$acct&TranscriptionText=leak+check+voicemail&TranscriptionStatus=completed"
twilio_hook "/twilio/status?m=1" "MessageSid=SMleak0000000000000000000000000009&MessageStatus=delivered&$acct"
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
    events=$(psql -X -q -t -A "$CS_TEST_DATABASE" -c "SELECT count(*) FROM provider_events
        WHERE provider = 'twilio' AND event_id LIKE '%leak%' AND processed_at IS NOT NULL")
    [[ "$sent" == 3 && "$events" == 5 ]] && break
    sleep 0.5
done
# ---- restaurants (mod_consult_pos): a menu sync and signed POS webhooks ----
# pos.localhost (tests/integration/harness.sh): the mock POS, four items.
# The sync runs as the job worker's pos.menu.sync; then the POS 86es
# margherita (its state file first, as the POS would, so the 2 s poll
# agrees) and sends the signed webhook, delivers it again, and a forged,
# an unsigned and a stale delivery for diavola follow; the pos.event job
# makes margherita sold out, then a second webhook brings it back.
pos_state=$CS_TEST_TMP/pos/pos-client.state.json
pos_get() { curl -s -H "Host: pos.localhost" "$@"; }
pos_sig() {   # body, secret, age in seconds -> X-Mock-POS-Signature
    python3 -c 'import hashlib, hmac, sys, time
t = str(int(time.time()) - int(sys.argv[3]))
print("t=%s,v1=%s" % (t, hmac.new(sys.argv[2].encode(), (t + "." + sys.argv[1]).encode(), hashlib.sha256).hexdigest()))' "$1" "$2" "$3"
}
pos_hook() {  # body, signature (or "") -> "STATUS BODY"
    local out sig=()
    [[ -n "$2" ]] && sig=(-H "X-Mock-POS-Signature: $2")
    out=$(curl -s -w '\n%{http_code}' -H "Host: pos.localhost" -H "Content-Type: application/json" \
        "${sig[@]}" --data-binary "$1" "$url/webhooks/pos")
    echo "${out##*$'\n'} ${out%$'\n'*}"
}
pos_wait() {  # shell condition: up to three minutes under valgrind
    for _ in $(seq 1 360); do eval "$1" && return 0; sleep 0.5; done
    return 1
}
pos_avail() { pos_get "$url/api/menu/availability"; }
pos_leak() {
    local good forged etag re
    pos_ok=0
    echo "leakcheck: restaurant: menu sync, /api/menu (+304), /menu, signed POS webhooks"
    echo '{"sold_out": {}}' > "$pos_state"; chmod 644 "$pos_state"
    pos_get -o /dev/null "$url/api/menu"          # the restaurant row; its sync is due now
    pos_wait '[[ $(pos_get "$url/api/menu" | grep -o "\"id\": *\"[a-z]*\"" | grep -c -E "margherita|diavola|lemonade|soda") == 4 ]]' ||
        { pos_why="the menu was not synced"; return; }
    etag=$(pos_get -D - -o /dev/null "$url/api/menu" | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' | tr -d '\r')
    [[ $(pos_get -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$url/api/menu") == 304 ]] ||
        { pos_why="/api/menu did not answer 304 to its ETag $etag"; return; }
    [[ $(pos_get "$url/menu") == *'data-item-id="margherita"'* ]] || { pos_why="/menu does not list margherita"; return; }
    good='{"event_id": "evt_leak_86", "type": "stock.updated", "sold_out": [{"id": "margherita", "sold_out": true}]}'
    forged='{"event_id": "evt_leak_forged", "type": "stock.updated", "sold_out": [{"id": "diavola", "sold_out": true}]}'
    echo '{"sold_out": {"margherita": true}}' > "$pos_state"
    pos_codes="good $(pos_hook "$good" "$(pos_sig "$good" "$CS_TEST_POS_SECRET" 0)")"
    pos_codes+="; redelivered $(pos_hook "$good" "$(pos_sig "$good" "$CS_TEST_POS_SECRET" 0)")"
    pos_codes+="; forged $(pos_hook "$forged" "$(pos_sig "$forged" not-the-secret 0)")"
    pos_codes+="; unsigned $(pos_hook "$forged" "")"
    pos_codes+="; stale $(pos_hook "$forged" "$(pos_sig "$forged" "$CS_TEST_POS_SECRET" 900)")"
    re='^good 200 [^;]*; redelivered 200 [^;]*duplicate[^;]*; forged 401 [^;]*; unsigned 401 [^;]*; stale 401 '
    [[ "$pos_codes" =~ $re ]] ||
        { pos_why="unexpected webhook answers: $pos_codes"; return; }
    pos_wait '[[ $(pos_avail) == *\"margherita\"* ]]' || { pos_why="the webhook did not make margherita sold out"; return; }
    [[ $(pos_avail) != *'"diavola"'* ]] || { pos_why="a refused webhook made diavola sold out"; return; }
    good='{"event_id": "evt_leak_back", "type": "stock.updated", "sold_out": [{"id": "margherita", "sold_out": false}]}'
    echo '{"sold_out": {}}' > "$pos_state"
    [[ $(pos_hook "$good" "$(pos_sig "$good" "$CS_TEST_POS_SECRET" 0)") == 200\ * ]] ||
        { pos_why="the restoring webhook was refused"; return; }
    pos_wait '[[ $(pos_avail) != *\"margherita\"* ]]' || { pos_why="the second webhook did not bring margherita back"; return; }
    pos_events=$(psql -X -q -t -A "$CS_TEST_DATABASE" -c "SELECT count(*) FROM provider_events
        WHERE provider = 'pos.mock' AND event_id LIKE 'evt_leak%' AND processed_at IS NOT NULL")
    [[ "$pos_events" == 2 ]] || { pos_why="$pos_events POS events journaled and processed, not 2"; return; }
    pos_ok=1
}
pos_leak
# ---- end of restaurants ----
# Let the job worker file (journal-first intake) and classify what arrived.
for _ in $(seq 1 60); do
    [[ $(psql -X -q -t -A "$CS_TEST_DATABASE" -c "SELECT count(*) FROM provider_events
          WHERE provider = 'intake' AND processed_at IS NULL AND attempts < 5") == 0 ]] && break
    sleep 0.5
done
sleep 3
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
if [[ "$events" != 5 ]]; then
    echo "0 passed, 1 failed"
    echo "leakcheck: only $events of 5 signed Twilio webhooks were journaled and processed under valgrind" >&2
    exit 1
fi
if [[ "$sent" != 3 ]]; then
    echo "0 passed, 1 failed"
    echo "leakcheck: only $sent of 3 outbound sends (SMS, email, notification) went out under valgrind" >&2
    exit 1
fi
echo "leakcheck: $stored posts stored; dashboard, health, 5 Twilio webhooks through the journal, jobs and 3 outbound sends exercised"
# ---- restaurants: did it all take effect under valgrind ----
if [[ "$pos_ok" != 1 ]]; then
    echo "0 passed, 1 failed"
    echo "leakcheck: restaurant: $pos_why under valgrind" >&2
    exit 1
fi
echo "leakcheck: restaurant: menu synced (4 items), 304 on its ETag, /menu rendered; webhooks good 200, redelivered 200 duplicate, forged/unsigned/stale 401; margherita 86'd and back through $pos_events pos.event jobs"
# ---- end of restaurants ----

ours='(cs_|core_|intake_|inbox_|twilio_|email_|pos_|consult_)[a-z_]+'
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
