# Sourced by bench/run.sh: a spam flood at one client. A bot posts to the
# flood client's form (the honeypot filled) at 10x the rate the first node
# filed posts end to end (or BENCH_FLOOD_RATE), for BENCH_FLOOD_SECONDS
# (30; the goal's 60 with BENCH_FLOOD_SECONDS=60), while real visitors post
# to another client at BENCH_FLOOD_LEGIT_RATE (200/s); the same real load
# alone first (BENCH_FLOOD_BASE_SECONDS, 10) gives their normal latency.
# Goals: their p99 within 2x of normal, every real post stored, and the
# spam cheap: past ConsultIntakeSpamKeep (20 an hour) counted at the edge,
# not a journal row, contact or message. The job worker is off, as for the
# edge run: this measures what the flood costs the edge.

flood_bench_setup() {   # before Apache starts: the flood client's vhost
    "$build/consult-admin" --db "$conninfo" client-add flood "Flooded Plumbing" >/dev/null
    cat >> "$tmp/var/conf.d/bench.conf" <<CONF
<VirtualHost \${CONSULT_LISTEN}>
    ServerName flood.localhost
    DocumentRoot "\${CONSULT_HTDOCS}/coffee-shop"
    ConsultClient flood
    ConsultIntake On
    ConsultIntakeFormToken Off
    ConsultIntakeClientRateLimit 0 1h
</VirtualHost>
CONF
}

flood_journal() {   # intake journal rows of client $1
    psql_q "SELECT count(*) FROM provider_events e JOIN clients c ON c.id = e.client_id
            WHERE e.provider = 'intake' AND c.slug = '$1'"
}

flood_bench_run() {   # $1: the end-to-end filed rate (posts/s)
    local fsecs=${BENCH_FLOOD_SECONDS:-30} base_secs=${BENCH_FLOOD_BASE_SECONDS:-10}
    local legit=${BENCH_FLOOD_LEGIT_RATE:-200}
    local spam legit_before legit_after spam_before spam_after counted
    spam=${BENCH_FLOOD_RATE:-$(awk -v r="$1" 'BEGIN { r = r < 50 ? 50 : r; printf "%d", 10 * r + 0.5 }')}
    cat "$root/bench/pace.lua" "$root/bench/intake.lua" > "$tmp/flood-paced.lua"
    echo "bench: flood: real visitors alone, $legit posts/s for ${base_secs}s"
    wrk -t1 -c8 -d"${base_secs}s" --latency -s "$tmp/flood-paced.lua" \
        "http://127.0.0.1:$port/api/intake" -- "$legit" > "$tmp/flood-base.txt"
    echo "bench: flood: $spam spam posts/s at one client for ${fsecs}s, the same real visitors at another"
    legit_before=$(flood_journal bench); spam_before=$(flood_journal flood)
    wrk -t1 -c8 -d"${fsecs}s" --latency -s "$tmp/flood-paced.lua" \
        "http://127.0.0.1:$port/api/intake" -- "$legit" > "$tmp/flood-legit.txt" &
    local legit_pid=$!
    BENCH_INTAKE_HOST=flood.localhost BENCH_INTAKE_SPAM=1 \
        wrk -t2 -c"$conns" -d"${fsecs}s" --latency -s "$tmp/flood-paced.lua" \
        "http://127.0.0.1:$port/api/intake" -- $(( (spam + 1) / 2 )) > "$tmp/flood-spam.txt"
    wait "$legit_pid"
    legit_after=$(flood_journal bench); spam_after=$(flood_journal flood)
    # Each process writes its counts once a second (a child the flood made
    # and the MPM retires after it, as it ends): the same sum twice, over a
    # second apart, is all of it; a database slow to take the writes just
    # after the run gets up to 10 s.
    local prev=-1 k
    for k in $(seq 1 8); do
        sleep 1.25
        counted=$(psql_q "SELECT coalesce(sum(posts), 0) FROM intake_edge_counts e JOIN clients c
                          ON c.id = e.client_id WHERE c.slug = 'flood'")
        [[ $counted == "$prev" ]] && break
        prev=$counted
    done
    echo "$spam $legit $((legit_after - legit_before)) $((spam_after - spam_before)) $counted" > "$tmp/flood.txt"
}
