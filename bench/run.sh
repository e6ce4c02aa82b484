#!/usr/bin/env bash
# make bench: intake form posts per second and latency through Apache, next
# to pgbench running the same write at the same concurrency against the
# same Postgres, in the same run. Prints a table and a JSON line.
set -euo pipefail
[[ -n "${BENCH_DEBUG:-}" ]] && set -x
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/lib.sh"
. "$root/bench/pos.sh"      # the restaurant runs (pos_bench_*)
build="$root/${BUILD:-build/release}"
conns=${BENCH_CONNECTIONS:-32}
secs=${BENCH_SECONDS:-10}

tmp=$(mktemp -d /tmp/consult-bench.XXXXXX); chmod 755 "$tmp"
pgport=$(cs_free_port); port=$(cs_free_port)
conninfo=$(cs_conninfo "$pgport")
finish() {
    pos_bench_finish
    [[ -f "$tmp/var/run/httpd.pid" ]] && kill -TERM "$(cat "$tmp/var/run/httpd.pid")" 2>/dev/null
    sleep 1
    cs_pg_stop "$tmp/pg"
    rm -rf "$tmp"
}
trap finish EXIT INT TERM

echo "bench: starting PostgreSQL and Apache (results are for this machine: $(nproc) cores)"
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
cs_httpd -f "$root/conf/httpd.conf" -k start
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

psql_q() { psql -X -q -t -A "$conninfo" -c "$1"; }

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

echo "bench: one plain INSERT of the same raw row with pgbench, $conns clients, ${secs}s"
(cd "$tmp" && pgbench -n -c "$conns" -j 2 -T "$secs" -f "$root/bench/intake.sql" \
    --log --log-prefix=pgb "$conninfo" > "$tmp/pgbench.txt" 2>&1)
# pgbench's rows are no posts: out of the drain's way.
psql_q "DELETE FROM provider_events WHERE provider = 'intake' AND event_id LIKE 'bench:%'" >/dev/null

# ---- end to end: posted -> filed in the inbox, a job worker on -----------
# A second Apache on the same database runs the job worker (bench/pos.sh's
# worker node), as a second node would: it first files the edge run's
# backlog (its drain rate), then intake runs for BENCH_E2E_SECONDS with the
# worker filing alongside. Filing latency is each row's received_at to
# processed_at (stamped just before its batch commits: visible from then).
e2e_secs=${BENCH_E2E_SECONDS:-60}
pos_worker_start
backlog=$(psql_q "SELECT count(*) FROM provider_events WHERE provider = 'intake' AND processed_at IS NULL")
echo "bench: the worker node files the edge run's $backlog posts"
t_start=$(date +%s.%N)
for _ in $(seq 1 600); do
    [[ $(psql_q "SELECT count(*) FROM provider_events WHERE provider = 'intake' AND processed_at IS NULL AND attempts < 5") == 0 ]] && break
    sleep 0.5
done
t_end=$(date +%s.%N)
echo "$backlog $t_start $t_end" > "$tmp/drain.txt"
echo "bench: intake end to end, worker on, $conns connections, ${e2e_secs}s"
w0=$(psql_q "SELECT now()")
wrk -t2 -c"$conns" -d"${e2e_secs}s" --latency -s "$root/bench/intake.lua" \
    "http://127.0.0.1:$port/api/intake" > "$tmp/wrk-e2e.txt"
w1=$(psql_q "SELECT now()")
sleep 3
psql_q "SELECT count(*),
               count(*) FILTER (WHERE processed_at <= '$w1'),
               count(*) FILTER (WHERE processed_at IS NULL),
               coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)), 0) * 1000,
               coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)), 0) * 1000,
               extract(epoch FROM '$w1'::timestamptz - '$w0'::timestamptz)
          FROM provider_events WHERE provider = 'intake' AND received_at >= '$w0' AND received_at <= '$w1'" \
    | tr '|' ' ' > "$tmp/e2e.txt"
pos_worker_stop
# What the worker node did not file in time is set aside (counted above),
# so the runs that follow measure their own work, not this backlog.
psql_q "UPDATE provider_events SET processed_at = now(), last_error = 'bench: set aside'
        WHERE provider = 'intake' AND processed_at IS NULL" >/dev/null

# ---- a signed Twilio SMS webhook, the same way ----------------------------
# The handler verifies the signature and records the raw body in core's
# inbound journal with its twilio.event job (one statement), then answers;
# the message itself is stored by the job, which is off here. So the pgbench
# reference (bench/twilio.sql) runs that same journal insert, not the
# message write the handler used to do.
echo "bench: signed Twilio SMS webhooks, $conns connections, ${secs}s"
python3 "$root/bench/twilio_reqs.py" "http://bench.localhost:$port" bench-token-0123456789 \
    "${BENCH_SMS_REQUESTS:-40000}" "$tmp/twilio.lua"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$tmp/twilio.lua" \
    "http://127.0.0.1:$port/twilio/sms" > "$tmp/twilio.txt"
(cd "$tmp" && pgbench -n -c "$conns" -j 2 -T "$secs" -f "$root/bench/twilio.sql" \
    --log --log-prefix=pgt "$conninfo" > "$tmp/pgbench-twilio.txt" 2>&1)

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
# (bench/pos.sh; its figures land in $tmp/pos.json and $tmp/pos.table)
pos_bench_run

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

python3 - "$tmp" "$conns" "$secs" "$before" "$after" <<'PY'
import glob, json, re, sys
tmp, conns, secs, before, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
w = open(tmp + "/wrk.txt").read()
def ms(v, unit):
    v = float(v); return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", w).group(1))
lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", w, re.M)}
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", w)
errors = int(non2xx.group(1)) if non2xx else 0
p = open(tmp + "/pgbench.txt").read()
tps = float(re.search(r"tps = ([\d.]+)", p).group(1))
lats = []
for f in glob.glob(tmp + "/pgb.*"):
    for line in open(f):
        parts = line.split()
        if len(parts) >= 3:
            lats.append(int(parts[2]) / 1000.0)
lats.sort()
pq = lambda q: lats[min(len(lats) - 1, int(q * len(lats)))] if lats else float("nan")
res = {
    "connections": conns, "seconds": secs,
    "intake_rps": round(rps, 1), "intake_p50_ms": round(lat.get("50", 0), 2),
    "intake_p99_ms": round(lat.get("99", 0), 2), "intake_errors": errors,
    "intake_rows": after - before,
    "pgbench_tps": round(tps, 1), "pgbench_p50_ms": round(pq(0.5), 2),
    "pgbench_p99_ms": round(pq(0.99), 2),
}
res["rps_ratio"] = round(rps / tps, 3) if tps else None
res["p99_ratio"] = round(res["intake_p99_ms"] / res["pgbench_p99_ms"], 3) if res["pgbench_p99_ms"] else None
backlog, d0, d1 = open(tmp + "/drain.txt").read().split()
res["drain_rows"], res["drain_s"] = int(backlog), round(float(d1) - float(d0), 2)
res["drain_rps"] = round(int(backlog) / max(float(d1) - float(d0), 0.5), 1)
e = open(tmp + "/wrk-e2e.txt").read()
res["e2e_ack_rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", e).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", e)
res["e2e_errors"] = int(bad.group(1)) if bad else 0
posted, filed, waiting, f50, f99, wsecs = open(tmp + "/e2e.txt").read().split()
res["e2e_posted"], res["e2e_filed_in_window"], res["e2e_unfiled_after_3s"] = int(posted), int(filed), int(waiting)
res["e2e_seconds"] = round(float(wsecs), 1)
res["e2e_filed_rps"] = round(int(filed) / float(wsecs), 1) if float(wsecs) else 0
res["e2e_ratio"] = round(res["e2e_filed_rps"] / tps, 3) if tps else None
res["e2e_file_p50_ms"], res["e2e_file_p99_ms"] = round(float(f50), 1), round(float(f99), 1)
t = open(tmp + "/twilio.txt").read()
l = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", t, re.M)}
res["sms_rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
res["sms_p50_ms"], res["sms_p99_ms"] = round(l.get("50", 0), 2), round(l.get("99", 0), 2)
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
res["sms_errors"] = int(bad.group(1)) if bad else 0
p2 = open(tmp + "/pgbench-twilio.txt").read()
res["sms_pgbench_tps"] = float(re.search(r"tps = ([\d.]+)", p2).group(1))
lats2 = sorted(int(line.split()[2]) / 1000.0 for f in glob.glob(tmp + "/pgt.*") for line in open(f) if len(line.split()) >= 3)
q2 = lambda q: lats2[min(len(lats2) - 1, int(q * len(lats2)))] if lats2 else float("nan")
res["sms_pgbench_p50_ms"], res["sms_pgbench_p99_ms"] = round(q2(0.5), 2), round(q2(0.99), 2)
res["sms_rps_ratio"] = round(res["sms_rps"] / res["sms_pgbench_tps"], 3)
res["sms_p99_ratio"] = round(res["sms_p99_ms"] / res["sms_pgbench_p99_ms"], 3) if res["sms_pgbench_p99_ms"] else None
rw, rwo = open(tmp + "/rss.txt").read().split()
res["child_rss_kb_with_consult"], res["child_rss_kb_without"] = int(rw), int(rwo)
for tag in ("10k", "1m"):
    t = open("%s/inbox-%s.txt" % (tmp, tag)).read()
    l = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", t, re.M)}
    res["inbox_%s_rps" % tag] = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    res["inbox_%s_p50_ms" % tag] = round(l.get("50", 0), 2)
    res["inbox_%s_p99_ms" % tag] = round(l.get("99", 0), 2)
res["inbox_p50_ratio"] = round(res["inbox_1m_p50_ms"] / res["inbox_10k_p50_ms"], 3) if res["inbox_10k_p50_ms"] else None
print()
print("%-34s %12s %10s %10s" % ("", "per second", "p50 ms", "p99 ms"))
print("%-34s %12.1f %10.2f %10.2f" % ("intake POST /api/intake (wrk)", rps, res["intake_p50_ms"], res["intake_p99_ms"]))
print("%-34s %12.1f %10.2f %10.2f" % ("plain INSERT of its row, pgbench", tps, res["pgbench_p50_ms"], res["pgbench_p99_ms"]))
print("%-34s %12.3f %10s %10.3f" % ("ratio intake / pgbench", res["rps_ratio"], "", res["p99_ratio"]))
print("journal rows written by the intake run: %d; non-2xx/3xx answers: %d" % (res["intake_rows"], errors))
print("targets: rps ratio >= 0.5, p99 ratio <= 2")
print("%-34s %12.1f   (%d posts in %.1f s, by the worker node)" % ("filing a backlog", res["drain_rps"], res["drain_rows"], res["drain_s"]))
print("%-34s %12.1f %10s %10s   (%d non-2xx/3xx)" % ("end to end: acknowledged", res["e2e_ack_rps"], "", "", res["e2e_errors"]))
print("%-34s %12.1f %10.1f %10.1f   (posted -> filed ms)" % ("end to end: filed in the window", res["e2e_filed_rps"], res["e2e_file_p50_ms"], res["e2e_file_p99_ms"]))
print("%-34s %12.3f   target >= 0.3 for %.0f s; filing p99 target <= 1000 ms; %d still unfiled 3 s after"
      % ("ratio filed / pgbench INSERT", res["e2e_ratio"], res["e2e_seconds"], res["e2e_unfiled_after_3s"]))
print()
print("%-34s %12s %10s %10s" % ("signed Twilio SMS webhook", "per second", "p50 ms", "p99 ms"))
print("%-34s %12.1f %10.2f %10.2f" % ("POST /twilio/sms (wrk)", res["sms_rps"], res["sms_p50_ms"], res["sms_p99_ms"]))
print("%-34s %12.1f %10.2f %10.2f" % ("same write via pgbench", res["sms_pgbench_tps"], res["sms_pgbench_p50_ms"], res["sms_pgbench_p99_ms"]))
print("%-34s %12.3f %10s %10.3f" % ("ratio webhook / pgbench", res["sms_rps_ratio"], "", res["sms_p99_ratio"] or 0))
print("non-2xx answers: %d" % res["sms_errors"])
print()
print("Apache child resident memory: %d kB with every Consult module, %d kB without (%+d kB)"
      % (res["child_rss_kb_with_consult"], res["child_rss_kb_without"],
         res["child_rss_kb_with_consult"] - res["child_rss_kb_without"]))
print()
print("%-34s %12s %10s %10s" % ("inbox list (4 connections)", "per second", "p50 ms", "p99 ms"))
for tag, label in (("10k", "10 thousand messages"), ("1m", "1 million messages")):
    print("%-34s %12.1f %10.2f %10.2f" % (label, res["inbox_%s_rps" % tag], res["inbox_%s_p50_ms" % tag], res["inbox_%s_p99_ms" % tag]))
print("%-34s %12s %10.3f" % ("ratio 1M / 10k", "", res["inbox_p50_ratio"]))
print("target: ratio <= 1.5")
# ---- restaurants (bench/pos.sh, bench/pos_report.py) ----
res.update(json.load(open(tmp + "/pos.json")))
print(open(tmp + "/pos.table").read(), end="")
print("JSON " + json.dumps(res))
PY
