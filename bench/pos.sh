# Restaurants (mod_consult_pos) in make bench. bench/run.sh sources this
# file, calls pos_bench_setup before its Apache starts (the restaurant's
# client, a generated menu, its vhost in the bench's conf.d), pos_bench_run
# after the memory figure (before the inbox runs), and pos_bench_finish on
# exit. It uses run.sh's root, build, tmp, conninfo, port, conns and secs,
# and leaves its wrk, pgbench and bench/pos_live.py output in $tmp for
# bench/report.py. Knobs: BENCH_POS_ITEMS (120), BENCH_POS_RATE (50
# webhooks/s), BENCH_POS_LIVE_SECONDS (10), BENCH_POS_LIVE_WAIT (180 s for
# the last changes to show), BENCH_POS_REQUESTS (60000 pre-signed),
# BENCH_POS_JOB_POLL (the worker's ConsultJobPollInterval; default as
# deployed, 1s).
#
# The bench's Apache keeps its job worker off, as for every other run. The
# menu sync and the webhook -> availability run need one, so they get a
# second Apache on the same database with the same restaurant vhost and
# ConsultJobWorker On, started only for them; the backlog the earlier runs
# queued (and that nothing in the bench processes) is set aside first, so
# that worker sees only the restaurant's jobs. Order: the sync, the
# webhook -> availability run (the worker is up for both), then with the
# worker off GET /api/menu and its 304 (on the menu as that run left it),
# the menu's reads via pgbench, and the webhook ingestion next to pgbench.

pos_slug=bench-pizza
pos_host=bench-pizza.localhost
pos_secret=bench-pos-webhook-secret-0123456789
pos_dir=
pos_wport=

pos_bench_setup() {
    pos_dir=$tmp/pos
    mkdir -p "$pos_dir/htdocs" "$pos_dir/snapshots"
    chmod 755 "$pos_dir" "$pos_dir/htdocs"
    chmod 777 "$pos_dir/snapshots"          # written by the Apache children
    "$build/consult-admin" --db "$conninfo" client-add "$pos_slug" "Bench Pizzeria" >/dev/null
    python3 "$root/bench/pos_menu.py" "${BENCH_POS_ITEMS:-120}" "$pos_dir/menu.json"
    echo '{"sold_out": {}}' > "$pos_dir/state.json"
    cat > "$pos_dir/vhost.conf" <<CONF
# The bench restaurant: the mock POS, a generated menu; its DocumentRoot
# holds the static copy of /api/menu the reference runs serve.
<VirtualHost \${CONSULT_LISTEN}>
    ServerName $pos_host
    DocumentRoot "$pos_dir/htdocs"
    ConsultClient $pos_slug
    ConsultPOS mock
    ConsultPOSMenuFile "$pos_dir/menu.json"
    ConsultPOSStateFile "$pos_dir/state.json"
    ConsultPOSWebhookSecret $pos_secret
    ConsultPOSSnapshotDir "$pos_dir/snapshots"
</VirtualHost>
<Directory "$pos_dir/htdocs">
    Options None
    AllowOverride None
    Require all granted
</Directory>
CONF
    cp "$pos_dir/vhost.conf" "$tmp/var/conf.d/bench-pos.conf"
}

# The worker Apache: conf/httpd.conf with its own var folder and port,
# only the restaurant vhost (or the vhost file given), ConsultJobWorker On
# (poll interval: the default, or BENCH_POS_JOB_POLL).
pos_worker_start() {
    local w=$pos_dir/worker vhost=${1:-$pos_dir/vhost.conf}
    mkdir -p "$w/log" "$w/run" "$w/conf.d" "$w/pos/snapshots"
    [[ $(id -u) -ne 0 ]] || chown "$CONSULT_USER" "$w/pos" "$w/pos/snapshots"
    cp "$CONSULT_VAR/secret" "$w/secret"
    { echo "ConsultJobWorker On"; [[ -n "${BENCH_DRAIN_THREADS:-}" ]] && echo "ConsultJobDrainThreads $BENCH_DRAIN_THREADS"; cat "$vhost"; } > "$w/conf.d/worker.conf"
    pos_wport=$(cs_free_port)
    ( export CONSULT_VAR=$w CONSULT_LISTEN=127.0.0.1:$pos_wport CONSULT_PORT=$pos_wport
      export CONSULT_JOB_POLL=${BENCH_POS_JOB_POLL:-$CONSULT_JOB_POLL}
      cs_httpd -f "$root/conf/httpd.conf" -k start ) ||
        { cat "$w/log/error.log" >&2; cs_die "bench: the worker Apache did not start"; }
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "http://127.0.0.1:$pos_wport/" && return 0
        sleep 0.1
    done
    cs_die "bench: the worker Apache does not answer"
}

pos_worker_stop() {
    local pidf=$pos_dir/worker/run/httpd.pid pid
    [[ -n "$pos_dir" && -f "$pidf" ]] || return 0
    pid=$(cat "$pidf")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidf"
}

pos_bench_finish() { pos_worker_stop; }

pos_q() { psql -X -q -t -A "$conninfo" -c "$1"; }

# Queued jobs of the earlier runs (intake, SMS): nothing in the bench runs
# them; marked done so the worker Apache does not spend the run on them.
pos_set_backlog_aside() {
    pos_q "UPDATE jobs SET state = 'done', done_at = now(), updated_at = now()
           WHERE state = 'queued' AND kind NOT LIKE 'pos.%'" >/dev/null
    pos_q "VACUUM (ANALYZE) jobs" >/dev/null
}

# No job of the restaurant due or running.
pos_jobs_idle() {
    [[ $(pos_q "SELECT count(*) FROM jobs WHERE kind LIKE 'pos.%'
                AND ((state = 'queued' AND run_at <= now()) OR state = 'running')") == 0 ]]
}

pos_wrk() {   # out, url path, extra wrk args...
    local out=$1 path=$2; shift 2
    wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Host: $pos_host" "$@" \
        "http://127.0.0.1:$port$path" > "$tmp/$out"
}

pos_etag() {  # path -> the ETag of its answer
    curl -s -D - -o /dev/null -H "Host: $pos_host" "http://127.0.0.1:$port$1" |
        sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' | tr -d '\r'
}

pos_bench_run() {
    local url="http://127.0.0.1:$port" n etag setag code cid before after

    # ---- the first sync, by the worker Apache ----------------------------
    echo "bench: restaurant: syncing a ${BENCH_POS_ITEMS:-120}-item mock POS menu (job worker on)"
    pos_set_backlog_aside
    pos_worker_start
    # The first menu request makes sure of the restaurant and its jobs.
    curl -s -o /dev/null -H "Host: $pos_host" "http://127.0.0.1:$pos_wport/api/menu"
    for _ in $(seq 1 300); do
        [[ $(pos_q "SELECT r.last_sync_at IS NOT NULL AND r.last_poll_at IS NOT NULL
                    FROM restaurants r JOIN clients c ON c.id = r.client_id
                    WHERE c.slug = '$pos_slug'") == t ]] && pos_jobs_idle && break
        sleep 0.1
    done
    n=$(curl -s -H "Host: $pos_host" "$url/api/menu" |
        python3 -c 'import json,sys; print(sum(len(c["items"]) for c in json.load(sys.stdin)["categories"]))')
    [[ "$n" == "${BENCH_POS_ITEMS:-120}" ]] ||
        cs_die "bench: the restaurant's menu has $n items after the sync, not ${BENCH_POS_ITEMS:-120}"

    # ---- webhook -> availability visible, worker on ----------------------
    for _ in $(seq 1 8); do curl -s -o /dev/null -H "Host: $pos_host" "$url/api/menu/availability"; done
    for _ in $(seq 1 50); do pos_jobs_idle && break; sleep 0.1; done
    echo "bench: restaurant: ${BENCH_POS_RATE:-50} signed webhooks/s for ${BENCH_POS_LIVE_SECONDS:-10}s, each 86ing or restoring an item, until /api/menu/availability shows it"
    python3 "$root/bench/pos_live.py" "$url" "$pos_host" "$pos_secret" "$pos_dir/state.json" \
        "$pos_dir/menu.json" "${BENCH_POS_RATE:-50}" "${BENCH_POS_LIVE_SECONDS:-10}" \
        "$tmp/pos-live.json" >/dev/null
    pos_worker_stop

    # ---- GET /api/menu and its 304, next to the same bytes static --------
    curl -s -H "Host: $pos_host" -o "$pos_dir/htdocs/menu.json" "$url/api/menu"
    chmod 644 "$pos_dir/htdocs/menu.json"
    etag=$(pos_etag /api/menu)
    setag=$(pos_etag /menu.json)
    cmp -s "$pos_dir/htdocs/menu.json" <(curl -s -H "Host: $pos_host" "$url/menu.json") ||
        cs_die "bench: the static menu.json is not the bytes /api/menu returned"
    for pair in "/api/menu $etag" "/menu.json $setag"; do
        set -- $pair
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $pos_host" -H "If-None-Match: $2" "$url$1")
        [[ "$code" == 304 ]] || cs_die "bench: $1 with If-None-Match $2 answered $code, not 304"
    done
    echo "$(stat -c %s "$pos_dir/htdocs/menu.json") $etag $setag" > "$tmp/pos-menu-meta.txt"
    echo "bench: restaurant: GET /api/menu ($(stat -c %s "$pos_dir/htdocs/menu.json") bytes) and the same file static, $conns connections, ${secs}s each"
    wrk -t2 -c"$conns" -d2s -H "Host: $pos_host" "$url/api/menu" >/dev/null
    pos_wrk pos-menu.txt /api/menu
    pos_wrk pos-static.txt /menu.json
    echo "bench: restaurant: the 304 path (If-None-Match), API and static"
    pos_wrk pos-304.txt /api/menu -H "If-None-Match: $etag"
    pos_wrk pos-static304.txt /menu.json -H "If-None-Match: $setag"
    # What the API asks of Postgres per request (both paths), alone: its ceiling.
    cid=$(pos_q "SELECT id FROM clients WHERE slug = '$pos_slug'")
    (cd "$tmp" && pgbench -n -M extended -c "$conns" -j 2 -T "$secs" -D cid="$cid" \
        -f "$root/bench/pos_menu_read.sql" --log --log-prefix=pgmenu "$conninfo" \
        > "$tmp/pgbench-pos-menu.txt" 2>&1) || { cat "$tmp/pgbench-pos-menu.txt" >&2; cs_die "bench: pgbench (menu reads) failed"; }

    # ---- journal ingestion: signed webhooks, and the same write ----------
    echo "bench: restaurant: distinct signed POS webhooks, $conns connections, ${secs}s, worker off"
    python3 "$root/bench/pos_reqs.py" "$pos_host" "$pos_secret" "${BENCH_POS_REQUESTS:-60000}" \
        "$pos_dir/webhooks.lua"
    before=$(pos_q "SELECT count(*) FROM provider_events WHERE provider = 'pos.mock'")
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$pos_dir/webhooks.lua" \
        "$url/webhooks/pos" > "$tmp/pos-webhook.txt"
    after=$(pos_q "SELECT count(*) FROM provider_events WHERE provider = 'pos.mock'")
    echo "$((after - before))" > "$tmp/pos-webhook-rows.txt"
    (cd "$tmp" && pgbench -n -M extended -c "$conns" -j 2 -T "$secs" -D cid="$cid" \
        -f "$root/bench/pos_journal.sql" --log --log-prefix=pgpos "$conninfo" \
        > "$tmp/pgbench-pos.txt" 2>&1) || { cat "$tmp/pgbench-pos.txt" >&2; cs_die "bench: pgbench (POS journal) failed"; }

}
