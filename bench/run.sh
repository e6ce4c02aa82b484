#!/usr/bin/env bash
# make bench: each path through Apache (form intake, end to end, a flood,
# the Twilio webhook, the inbox list, a child's memory, the restaurant's
# menu and webhooks, checkout) next to its reference measured in the same
# run (pgbench doing the same write at the same concurrency against the same
# Postgres, or Apache serving the same bytes statically), and its goal.
# bench/report.py prints one table and one JSON line.
set -euo pipefail
[[ -n "${BENCH_DEBUG:-}" ]] && set -x
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/lib.sh"
. "$root/bench/pos.sh"      # the restaurant runs (pos_bench_*)
. "$root/bench/orders.sh"   # online ordering (orders_bench_*)
. "$root/bench/flood.sh"    # a spam flood at one client (flood_bench_*)
build="$root/${BUILD:-build/release}"
conns=${BENCH_CONNECTIONS:-32}
secs=${BENCH_SECONDS:-5}

tmp=$(mktemp -d /tmp/consult-bench.XXXXXX); chmod 755 "$tmp"
pgport=$(cs_free_port); port=$(cs_free_port)
conninfo=$(cs_conninfo "$pgport")
finish() {
    orders_bench_finish
    pos_bench_finish
    [[ -f "$tmp/var/run/httpd.pid" ]] && kill -TERM "$(cat "$tmp/var/run/httpd.pid")" 2>/dev/null
    sleep 1
    cs_pg_stop "$tmp/pg"
    rm -rf "$tmp"
}
trap finish EXIT INT TERM

bench_t0=$(date +%s)
echo "bench: starting PostgreSQL and Apache (results are for this machine: $(nproc) cores)"
# PostgreSQL as initdb leaves it but for max_wal_size, as a server that
# takes every client's writes is set: checkpoints then come on their timer
# rather than after each gigabyte of WAL (this run writes several), each a
# burst of full-page writes that stalled filing for seconds. Both the
# paths and their pgbench references run on it. (A larger shared_buffers
# made pgbench itself slower here, its first touch of each new buffer a
# page fault: left at the default.) BENCH_PG_OPTS to vary.
CS_PG_OPTS=${BENCH_PG_OPTS--c max_wal_size=4GB} \
    cs_pg_start "$tmp/pg" "$pgport" >/dev/null
"$build/consult-admin" --db "$conninfo" migrate "$root/sql" >/dev/null
"$build/consult-admin" --db "$conninfo" client-add bench "Bench Coffee" >/dev/null
export CONSULT_INTAKE_IP_LIMIT=0
cs_httpd_env "$root" "$tmp/var" "$build" "127.0.0.1:$port" "$conninfo"
cs_htdocs_for_children "$root" "$tmp/htdocs"
cat > "$tmp/var/conf.d/bench.conf" <<CONF
# The job worker stays off: pgbench does not classify either.
ConsultJobWorker Off
<VirtualHost \${CONSULT_LISTEN}>
    ServerName bench.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient bench
    ConsultIntake On
    ConsultIntakeFormToken Off
    ConsultIntakeClientRateLimit 0 1h
    ConsultTwilio On
    ConsultTwilioAccountSid AC00000000000000000000000000000000
    ConsultTwilioAuthToken bench-token-0123456789
    ConsultTwilioNumber +15005550006
    ConsultTwilioPublicURL http://bench.localhost:$port
</VirtualHost>
CONF
pos_bench_setup
orders_bench_setup
flood_bench_setup
cs_httpd -f "$root/conf/httpd.conf" -k start
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

psql_q() { psql -X -q -t -A "$conninfo" -c "$1"; }
# What a run left unfiled, and the filing's own jobs, are not the next
# run's work: marked done, so each run measures only itself.
set_aside_posts() {
    psql_q "UPDATE provider_events SET processed_at = now(), last_error = 'bench: set aside'
            WHERE provider = 'intake' AND processed_at IS NULL" >/dev/null
}
set_aside_jobs() {
    psql_q "UPDATE jobs SET state = 'done' WHERE state = 'queued'
            AND kind IN ('submission.process', 'notification.send', 'twilio.event')" >/dev/null
}

echo "bench: warming up"
wrk -t2 -c"$conns" -d2s -s "$root/bench/intake.lua" "http://127.0.0.1:$port/api/intake" >/dev/null

# Journal-first intake: the endpoint answers once the post's raw row is in
# the journal; no worker runs here, so this is the edge alone.
journal_rows() { psql_q "SELECT count(*) FROM provider_events WHERE provider = 'intake'"; }
echo "bench: intake through Apache, $conns connections, ${secs}s"
before=$(journal_rows)
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$root/bench/intake.lua" \
    "http://127.0.0.1:$port/api/intake" > "$tmp/wrk.txt"
after=$(journal_rows)
echo "$before $after" > "$tmp/edge-rows.txt"

echo "bench: one plain INSERT of the same raw row with pgbench, $conns clients, ${secs}s"
(cd "$tmp" && pgbench -n -c "$conns" -j 2 -T "$secs" -f "$root/bench/intake.sql" \
    --log --log-prefix=pgb "$conninfo" > "$tmp/pgbench.txt" 2>&1)
# The same INSERT planned once per connection, as the edge runs its own
# (the issue's reference above is pgbench's default, parsed and planned
# each time): a note, so the table's ratio can be read against both.
(cd "$tmp" && pgbench -n -c "$conns" -j 2 -T "$secs" -M prepared -f "$root/bench/intake.sql" \
    "$conninfo" > "$tmp/pgbench-prepared.txt" 2>&1)
# pgbench's rows are no posts: out of the drain's way.
psql_q "DELETE FROM provider_events WHERE provider = 'intake' AND event_id LIKE 'bench:%'" >/dev/null

# ---- a signed Twilio SMS webhook, the same way ----------------------------
# The handler verifies the signature and records the raw body in core's
# inbound journal with its twilio.event job (one statement), then answers;
# the message itself is stored by the job, which is off here. So the pgbench
# reference (bench/twilio.sql) runs that same journal insert, not the
# message write the handler used to do. The pair runs before the end-to-end
# run and the flood, as the edge's does: for a minute or so after their
# minute and a half of writes, every request in flight stalled together a
# few times a run (40-190 ms, while a backend wrote a new WAL segment), and
# that fell on whichever of the pair ran first, the webhook (its p99 1.4-2.5x
# pgbench's there, 0.85-1.12x here). Its twilio.event jobs are set aside
# after: the worker node below would take them up in the middle of filing.
echo "bench: signed Twilio SMS webhooks, $conns connections, ${secs}s"
python3 "$root/bench/twilio_reqs.py" "http://bench.localhost:$port" bench-token-0123456789 \
    "${BENCH_SMS_REQUESTS:-40000}" "$tmp/twilio.lua"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$tmp/twilio.lua" \
    "http://127.0.0.1:$port/twilio/sms" > "$tmp/twilio.txt"
(cd "$tmp" && pgbench -n -c "$conns" -j 2 -T "$secs" -f "$root/bench/twilio.sql" \
    --log --log-prefix=pgt "$conninfo" > "$tmp/pgbench-twilio.txt" 2>&1)
set_aside_jobs

# ---- end to end: posted -> filed in the inbox, a job worker on -----------
# A second Apache on the same database runs the job worker (bench/pos.sh's
# worker node), as a second node would: it first files BENCH_DRAIN_ROWS of
# the edge run's backlog (its drain rate; the rest is set aside), then
# posts come a little above the goal's rate (0.32x the pgbench INSERT's,
# or BENCH_E2E_RATE: at exactly 0.3x a drain that keeps up would still
# measure just under it, the window's last posts being filed after it) for
# BENCH_E2E_SECONDS, an open load as visitors make, with the worker filing
# alongside. Filing latency is each row's received_at to processed_at
# (stamped just before its batch commits: visible from then); a row still
# unfiled counts as waiting until the count is taken.
e2e_secs=${BENCH_E2E_SECONDS:-60}
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$tmp/pgbench.txt" | head -1)
e2e_rate=${BENCH_E2E_RATE:-$(awk -v t="$tps" 'BEGIN { printf "%d", 0.32 * t + 0.5 }')}
psql_q "UPDATE provider_events SET processed_at = now(), last_error = 'bench: set aside'
        WHERE id IN (SELECT id FROM provider_events WHERE provider = 'intake' AND processed_at IS NULL
                     ORDER BY received_at OFFSET ${BENCH_DRAIN_ROWS:-10000})" >/dev/null
# The worker node carries the bench client's vhost too, as every node of a
# fleet does: its drain classifies with that client's settings.
sed '/^ConsultJobWorker/d' "$tmp/var/conf.d/bench.conf" > "$tmp/worker-vhosts.conf"
cat "$pos_dir/vhost.conf" >> "$tmp/worker-vhosts.conf"
pos_worker_start "$tmp/worker-vhosts.conf"
backlog=$(psql_q "SELECT count(*) FROM provider_events WHERE provider = 'intake' AND processed_at IS NULL")
echo "bench: the worker node files $backlog posts of the edge run's backlog"
t_start=$(date +%s.%N)
for _ in $(seq 1 600); do
    [[ $(psql_q "SELECT count(*) FROM provider_events WHERE provider = 'intake' AND processed_at IS NULL AND attempts < 5") == 0 ]] && break
    sleep 0.2
done
t_end=$(date +%s.%N)
echo "$backlog $t_start $t_end" > "$tmp/drain.txt"
# The backlog's classification jobs are the drain's, not the next run's.
set_aside_jobs
echo "bench: intake end to end, worker on, $e2e_rate posts/s offered for ${e2e_secs}s"
cat "$root/bench/pace.lua" "$root/bench/intake.lua" > "$tmp/intake-paced.lua"
w0=$(psql_q "SELECT now()")
wrk -t2 -c"$conns" -d"${e2e_secs}s" --latency -s "$tmp/intake-paced.lua" \
    "http://127.0.0.1:$port/api/intake" -- $(( (e2e_rate + 1) / 2 )) > "$tmp/wrk-e2e.txt"
w1=$(psql_q "SELECT now()")
psql_q "SELECT count(*) FROM jobs WHERE state = 'queued' AND kind IN ('submission.process', 'notification.send')" \
    > "$tmp/e2e-jobs.txt"
sleep 3
{ echo -n "$e2e_rate "
  psql_q "SELECT count(*),
               count(*) FILTER (WHERE processed_at <= '$w1'),
               count(*) FILTER (WHERE processed_at IS NULL),
               coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(processed_at, now()) - received_at)), 0) * 1000,
               coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(processed_at, now()) - received_at)), 0) * 1000,
               extract(epoch FROM '$w1'::timestamptz - '$w0'::timestamptz)
          FROM provider_events WHERE provider = 'intake' AND received_at >= '$w0' AND received_at <= '$w1'" \
    | tr '|' ' '; } > "$tmp/e2e.txt"
pos_worker_stop
# What the worker node did not file in time is set aside (counted above),
# so the runs that follow measure their own work, not this backlog.
set_aside_posts
set_aside_jobs

# ---- a flood of spam at one client, real visitors at another -------------
flood_bench_run "$(awk '{ printf "%d", $3 / ($7 > 0 ? $7 : 1) }' "$tmp/e2e.txt")"
# Its real posts, unfiled (no worker ran), are set aside like the rest.
set_aside_posts

# ---- resident memory of an Apache child, with and without Consult -------
rss_of_children() {   # pidfile -> average RSS (kB) of its children
    local parent
    parent=$(cat "$1")
    ps -o rss= --ppid "$parent" | awk '{ s += $1; n++ } END { if (n) printf "%d", s / n; else print 0 }'
}
rss_with=$(rss_of_children "$tmp/var/run/httpd.pid")
mkdir -p "$tmp/plain/run" "$tmp/plain/log"
plain_port=$(cs_free_port)
cat > "$tmp/plain/httpd.conf" <<PLAIN
ServerRoot "$tmp/plain"
PidFile "$tmp/plain/run/httpd.pid"
DefaultRuntimeDir "$tmp/plain/run"
ServerName localhost
Listen 127.0.0.1:$plain_port
User $CONSULT_USER
Group $CONSULT_GROUP
LoadModule mpm_event_module     $CONSULT_HTTPD_MODULES/mod_mpm_event.so
LoadModule authz_core_module    $CONSULT_HTTPD_MODULES/mod_authz_core.so
LoadModule mime_module          $CONSULT_HTTPD_MODULES/mod_mime.so
# The same httpd modules as conf/httpd.conf, without Consult's.
LoadModule dir_module           $CONSULT_HTTPD_MODULES/mod_dir.so
LoadModule headers_module       $CONSULT_HTTPD_MODULES/mod_headers.so
LoadModule socache_shmcb_module $CONSULT_HTTPD_MODULES/mod_socache_shmcb.so
StartServers 2
ServerLimit 4
ThreadsPerChild 16
MaxRequestWorkers 64
ErrorLog "$tmp/plain/log/error.log"
TypesConfig /etc/mime.types
DocumentRoot "$CONSULT_HTDOCS/coffee-shop"
<Directory "$CONSULT_HTDOCS">
    Require all granted
</Directory>
PLAIN
apache2 -f "$tmp/plain/httpd.conf" -k start || { cat "$tmp/plain/log/error.log" >&2; cs_die "bench: the plain Apache did not start"; }
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$plain_port/" && break; sleep 0.1; done
wrk -t1 -c4 -d2s "http://127.0.0.1:$plain_port/" >/dev/null
rss_without=$(rss_of_children "$tmp/plain/run/httpd.pid")
apache2 -f "$tmp/plain/httpd.conf" -k stop
echo "$rss_with $rss_without" > "$tmp/rss.txt"

# ---- restaurants: menu, 304, POS webhooks, webhook -> availability ----
# (bench/pos.sh, bench/orders.sh; bench/report.py reads what they leave)
pos_bench_run
orders_bench_run

# ---- the inbox list at 10 thousand and 1 million messages ----------------
printf '%s\n' 'bench password 1' | "$build/consult-admin" --db "$conninfo" user-add bench@agency.example "Bench Owner" --password-stdin >/dev/null
"$build/consult-admin" --db "$conninfo" client-add bench-inbox "Bench Inbox" >/dev/null
"$build/consult-admin" --db "$conninfo" member-add bench@agency.example bench-inbox owner >/dev/null
# Signing in as a browser does: the form's token, with its cookie.
token=$(curl -s -c "$tmp/jar" -H "Host: admin.localhost" "http://127.0.0.1:$port/login" |
    sed -n 's/.*name="_login" value="\([^"]*\)".*/\1/p' | head -1)
cookie=$(curl -s -o /dev/null -D - -b "$tmp/jar" -H "Host: admin.localhost" -H "Origin: http://admin.localhost" \
    --data "email=bench%40agency.example&password=bench+password+1&_login=$token" \
    "http://127.0.0.1:$port/login" | sed -n 's/^Set-Cookie: \(consult_session=[^;]*\).*/\1/p')
[[ -n "$cookie" ]] || cs_die "bench: cannot sign in to the dashboard"
cat > "$tmp/inbox.lua" <<LUA
wrk.headers["Host"] = "admin.localhost"
wrk.headers["Cookie"] = "$cookie"
wrk.headers["HX-Request"] = "true"
LUA
inbox_run() {   # label, messages
    echo "bench: seeding the inbox to $2 messages"
    psql -X -q "$conninfo" -v slug=bench-inbox -v n="$2" -f "$root/bench/seed_inbox.sql"
    wrk -t1 -c4 -d2s -s "$tmp/inbox.lua" "http://127.0.0.1:$port/inbox/list?status=open" >/dev/null
    wrk -t1 -c4 -d"${secs}s" --latency -s "$tmp/inbox.lua" \
        "http://127.0.0.1:$port/inbox/list?status=open" > "$tmp/inbox-$1.txt"
}
inbox_run 10k "${BENCH_INBOX_SMALL:-10000}"
inbox_run 1m "${BENCH_INBOX_LARGE:-1000000}"

python3 "$root/bench/report.py" "$tmp"
echo "bench: done in $(( $(date +%s) - bench_t0 )) s (goal: under 300)"
