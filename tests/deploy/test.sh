#!/usr/bin/env bash
# make deploy against a second Consult on this machine, under a stream of
# form posts: two Apache nodes (Debian's apache2 binary, the package's
# modules unpacked per node) on one private PostgreSQL, behind an Apache
# balancer (mod_proxy_balancer, mod_proxy_hcheck on /consult/health) the
# posts go through. Release 1 runs; release 2 is deployed (0 failed posts);
# a broken release 3 (its dashboard assets missing) fails its smoke checks
# on the first node and is rolled back to 2 (0 failed posts); deploy refuses
# a package whose validate report is red or is another package's.
#   usage: tests/deploy/test.sh PACKAGE.deb
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/lib.sh"
[[ $# -eq 1 && -f "$1" ]] || cs_die "usage: tests/deploy/test.sh PACKAGE.deb"
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
. "$root/tests/check.sh"

tmp=$(mktemp -d /tmp/consult-deploy.XXXXXX)
chmod 755 "$tmp"
pg_port=$(cs_free_port) front=$(cs_free_port)
db=$(cs_conninfo "$pg_port")
user=$(cs_pg_user)
if [[ $(id -u) -eq 0 ]]; then run_user=www-data run_group=www-data; else run_user=$(id -un) run_group=$(id -gn); fi
stream_pid=""

finish() {
    local rc=$?
    # Everything below runs whatever fails: a killed stream's status, say.
    set +e
    [[ -n "$stream_pid" ]] && { kill "$stream_pid" 2>/dev/null; wait "$stream_pid" 2>/dev/null; }
    for d in "$tmp"/node-* "$tmp/front"; do
        [[ -x "$d/apache.sh" ]] && "$d/apache.sh" stop 2>/dev/null
    done
    cs_pg_stop "$tmp/pg"
    if [[ $rc -ne 0 ]]; then
        mkdir -p "$root/tests/out" && rm -rf "$root/tests/out/deploy-logs" && mkdir -p "$root/tests/out/deploy-logs"
        for d in "$tmp"/node-* "$tmp/front"; do cp "$d/log/error.log" "$root/tests/out/deploy-logs/$(basename "$d").error.log" 2>/dev/null || true; done
        cp "$tmp"/*.out "$root/tests/out/deploy-logs/" 2>/dev/null || true
        echo "deploy-test: logs kept in tests/out/deploy-logs" >&2
    fi
    rm -rf "$tmp"
    [[ $rc -eq 0 ]] && echo "deploy-test: $pass passed, 0 failed" || echo "deploy-test: failed after $pass passed" >&2
    exit $rc
}
trap finish EXIT INT TERM

echo "== deploy test"
# ---- three releases ---------------------------------------------------------
# release N: the package under test with version N (dpkg-deb repacks it);
# the broken one ships without the dashboard's htmx.
repack() { # repack VERSION OUT [broken]
    local dir=$tmp/repack
    rm -rf "$dir" && dpkg-deb -R "$deb" "$dir"
    sed -i "s/^Version: .*/Version: $1/" "$dir/DEBIAN/control"
    [[ "${3:-}" == broken ]] && rm -f "$dir/usr/share/consult/htdocs/admin/assets/vendor/htmx.min.js"
    dpkg-deb --root-owner-group -Zgzip -b "$dir" "$2" >/dev/null
}
repack 1.0.0 "$tmp/consult_1.0.0.deb"
repack 2.0.0 "$tmp/consult_2.0.0.deb"
repack 3.0.0 "$tmp/consult_3.0.0.deb" broken
# What make validate writes for a package it passed.
green_report() { # green_report DEB OUT
    python3 -c 'import hashlib, json, os, sys
deb, out = sys.argv[1:]
sha = hashlib.sha256(open(deb, "rb").read()).hexdigest()
json.dump({"ok": True, "checks": [{"name": "package", "status": "passed", "seconds": 1, "failure": []}],
           "package": {"file": os.path.basename(deb), "sha256": sha}}, open(out, "w"))' "$1" "$2"
}

# ---- the database -------------------------------------------------------------
cs_pg_start "$tmp/pg" "$pg_port"
tmpx=$tmp/x1 && mkdir -p "$tmpx" && dpkg-deb -x "$tmp/consult_1.0.0.deb" "$tmpx"
"$tmpx/usr/bin/consult-admin" --db "$db" migrate "$tmpx/usr/share/consult/sql" >/dev/null
"$tmpx/usr/bin/consult-admin" --db "$db" client-add coffee-shop "Ember & Oak Coffee" >/dev/null
(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/secret")
[[ $(id -u) -ne 0 ]] || chown root: "$tmp/secret"
mkdir -p "$tmp/www" && cp -r "$root/htdocs/coffee-shop" "$tmp/www/coffee-shop"

# ---- an Apache instance: DIR/apache.sh start|graceful|test|stop -----------------
apache_script() { # apache_script DIR
    cat >"$1/apache.sh" <<EOF
#!/usr/bin/env bash
# This test's Apache in $1: start, graceful, test, stop.
set -euo pipefail
a=(/usr/sbin/apache2 -d "$1" -f "$1/httpd.conf")
case "\$1" in
    start) "\${a[@]}" -k start ;;
    test) "\${a[@]}" -t ;;
    graceful)
        # A restart whose new config does not start leaves no parent: say so.
        "\${a[@]}" -k graceful
        sleep 0.5
        kill -0 "\$(cat "$1/run/httpd.pid" 2>/dev/null)" 2>/dev/null ;;
    stop)
        [[ -s "$1/run/httpd.pid" ]] || exit 0
        "\${a[@]}" -k stop
        for _ in \$(seq 1 50); do [[ -e "$1/run/httpd.pid" ]] || exit 0; sleep 0.1; done ;;
esac
EOF
    chmod +x "$1/apache.sh"
}
common_conf() { # common_conf DIR PORT
    cat <<EOF
ServerRoot "$1"
DefaultRuntimeDir "$1/run"
PidFile "$1/run/httpd.pid"
Listen 127.0.0.1:$2
ServerName localhost
User $run_user
Group $run_group
ErrorLog "$1/log/error.log"
LogLevel warn
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
TypesConfig /etc/mime.types
StartServers 2
ServerLimit 4
ThreadsPerChild 16
MaxRequestWorkers 64
<Directory />
    Require all denied
</Directory>
EOF
}

# Node NAME: the package's modules, templates and assets from DIR/current.
make_node() { # make_node NAME PORT
    local d=$tmp/node-$1
    mkdir -p "$d/run" "$d/log" "$d/pkg"
    {
        common_conf "$d" "$2"
        for m in core intake inbox; do
            echo "LoadModule consult_${m}_module \"$d/current/usr/lib/apache2/modules/mod_consult_$m.so\""
        done
        cat <<EOF
ConsultDatabase "$db"
ConsultSecret "file:$tmp/secret"
ConsultIntakeRateLimit 0 10m
ConsultJobPollInterval 1s
# Drained (DIR/drain exists): health answers 503, so the balancer stops
# sending visitors here while the deploy works on this node.
<VirtualHost 127.0.0.1:$2>
    ServerName localhost
    RewriteEngine On
    RewriteCond "$d/drain" -f
    RewriteRule "^/consult/health$" - [R=503,L]
</VirtualHost>
<VirtualHost 127.0.0.1:$2>
    ServerName coffee-shop.example.com
    DocumentRoot "$tmp/www/coffee-shop"
    ConsultClient coffee-shop
    ConsultIntake On
    ConsultIntakeFormToken Optional
    ConsultIntakeMinFillTime 0s
</VirtualHost>
<VirtualHost 127.0.0.1:$2>
    ServerName admin.example.com
    DocumentRoot "$d/current/usr/share/consult/htdocs/admin"
    ConsultInbox On
    ConsultInboxTemplates "$d/current/usr/share/consult/templates"
</VirtualHost>
<Directory "$tmp/www">
    Require all granted
</Directory>
<Directory "$d/current">
    Require all granted
</Directory>
<Directory "$d/pkg">
    Require all granted
</Directory>
EOF
    } >"$d/httpd.conf"
    apache_script "$d"
    echo "node $1 local $d http://127.0.0.1:$2" >>"$tmp/target"
}
port_a=$(cs_free_port) port_b=$(cs_free_port)
{
    echo "# Two local nodes behind this test's balancer."
    echo "database $db"
    echo "backups $tmp/backups"
    echo "site coffee-shop.example.com"
    echo "post coffee-shop.example.com"
    echo "dashboard admin.example.com"
    echo "drain-wait 3"
} >"$tmp/target"
make_node a "$port_a"
make_node b "$port_b"

# The balancer: health-checks each node every second.
mkdir -p "$tmp/front/run" "$tmp/front/log"
{
    common_conf "$tmp/front" "$front"
    for m in proxy proxy_http proxy_balancer lbmethod_byrequests slotmem_shm proxy_hcheck; do
        echo "LoadModule ${m}_module /usr/lib/apache2/modules/mod_$m.so"
    done
    cat <<EOF
<Proxy "balancer://nodes">
    BalancerMember "http://127.0.0.1:$port_a" hcmethod=GET hcuri=/consult/health hcinterval=1 hcpasses=1 hcfails=1
    BalancerMember "http://127.0.0.1:$port_b" hcmethod=GET hcuri=/consult/health hcinterval=1 hcpasses=1 hcfails=1
</Proxy>
<Location "/">
    Require all granted
</Location>
ProxyPreserveHost On
ProxyPass "/" "balancer://nodes/"
EOF
} >"$tmp/front/httpd.conf"
apache_script "$tmp/front"

# ---- release 1 live on both nodes (as a first install would leave it) -----------
deploy() { # deploy NAME PACKAGE REPORT: make deploy's script, output in $tmp/NAME.out; sets rc
    rc=0
    TARGET=$tmp/target PACKAGE=$2 REPORT=$3 "$root/dist/deploy.sh" >"$tmp/$1.out" 2>&1 || rc=$?
}
for n in a b; do
    d=$tmp/node-$n
    mkdir -p "$d/pkg/1.0.0" && dpkg-deb -x "$tmp/consult_1.0.0.deb" "$d/pkg/1.0.0"
    cp "$tmp/consult_1.0.0.deb" "$d/pkg/1.0.0/package.deb" && ln -s pkg/1.0.0 "$d/current"
    "$d/apache.sh" test >/dev/null 2>&1 || { "$d/apache.sh" test; fail "node $n: apache2 -t"; }
    "$d/apache.sh" start
done
"$tmp/front/apache.sh" start
for _ in $(seq 1 50); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H 'Host: coffee-shop.example.com' "http://127.0.0.1:$front/") == 200 ]] && break
    sleep 0.2
done
sleep 2  # both members health-checked once
ok "release 1.0.0 on nodes a (:$port_a) and b (:$port_b) behind a balancer (:$front)"

# ---- refusals ------------------------------------------------------------------
green_report "$tmp/consult_1.0.0.deb" "$tmp/report-1.json"
deploy wrong-report "$tmp/consult_2.0.0.deb" "$tmp/report-1.json"
[[ $rc -ne 0 ]] && grep -q "SHA-256 differs" "$tmp/wrong-report.out" || { cat "$tmp/wrong-report.out"; fail "deploy took a package its report is not for"; }
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["ok"]=False; d["checks"][0]["status"]="failed"; json.dump(d,open(sys.argv[2],"w"))' \
    "$tmp/report-1.json" "$tmp/report-red.json"
deploy red-report "$tmp/consult_1.0.0.deb" "$tmp/report-red.json"
[[ $rc -ne 0 ]] && grep -q "not green" "$tmp/red-report.out" || { cat "$tmp/red-report.out"; fail "deploy took a red report"; }
[[ $(readlink "$tmp/node-a/current") == pkg/1.0.0 && ! -d "$tmp/backups" ]] || fail "a refused deploy changed something"
ok "deploy refuses a red validate report and a report for another package, changing nothing"

# ---- the stream of form posts (and asset requests) ----------------------------------------------------
python3 - "$front" "$tmp/stream.json" "$tmp/stream.stop" >"$tmp/stream.out" 2>&1 <<'PY' &
import http.client, json, os, sys, threading, time
port, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
counts, errors, lock = {}, [], threading.Lock()
def worker(i):
    conn, n = None, 0
    while not os.path.exists(stop):
        n += 1
        # Alternately a form post (201) and the dashboard's htmx (200): the
        # broken release lacks the latter, so a visitor reaching its node
        # before the rollback would count as a failure here.
        post = n % 2 == 1
        body = json.dumps({"name": "Stream", "email": f"s{i}@example.com", "message": f"stream {i}-{n} {time.time()}"})
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            if post:
                conn.request("POST", "/api/intake", body, {"Host": "coffee-shop.example.com", "Content-Type": "application/json"})
            else:
                conn.request("GET", "/assets/vendor/htmx.min.js", headers={"Host": "admin.example.com"})
            r = conn.getresponse(); r.read()
            key = f"{'POST' if post else 'GET'} {r.status}"
            if r.getheader("Connection", "").lower() == "close":
                conn.close(); conn = None
        except Exception as e:
            key = "error"; conn = None
            with lock: errors.append(repr(e))
        with lock:
            counts[key] = counts.get(key, 0) + 1
            if key not in ("POST 201", "GET 200"): errors.append(key)
        time.sleep(0.02)
threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
json.dump({"counts": counts, "errors": errors[:20]}, open(out, "w"))
PY
stream_pid=$!
stream_mark() { # stream_mark: how many posts so far (the database's count)
    psql -X -tA "$db" -c "SELECT count(*) FROM provider_events WHERE provider = 'intake'"
}
sleep 2
before=$(stream_mark)

# ---- release 2: both nodes, 0 failed -----------------------------------------------
green_report "$tmp/consult_2.0.0.deb" "$tmp/report-2.json"
deploy release-2 "$tmp/consult_2.0.0.deb" "$tmp/report-2.json"
[[ $rc -eq 0 ]] || { cat "$tmp/release-2.out"; fail "deploying 2.0.0 failed"; }
[[ $(readlink "$tmp/node-a/current") == pkg/2.0.0 && $(readlink "$tmp/node-b/current") == pkg/2.0.0 ]] ||
    fail "2.0.0 is not current on both nodes"
ls "$tmp/backups"/consult-*-before-2.0.0.dump >/dev/null || fail "no backup before 2.0.0"
grep -q "migrations: 0 applied" "$tmp/release-2.out" || { cat "$tmp/release-2.out"; fail "migrate did not run"; }
grep -q "ok   admin.example.com htmx" "$tmp/release-2.out" || fail "the smoke checks did not run"
ok "2.0.0 deployed node by node: validated, backed up, migrated, drained, restarted, smoke-checked"

# ---- release 3, broken: rolled back on node a, node b untouched ----------------------
green_report "$tmp/consult_3.0.0.deb" "$tmp/report-3.json"
deploy release-3 "$tmp/consult_3.0.0.deb" "$tmp/report-3.json"
[[ $rc -ne 0 ]] || { cat "$tmp/release-3.out"; fail "deploying the broken 3.0.0 succeeded"; }
grep -q "FAIL admin.example.com htmx (404)" "$tmp/release-3.out" || { cat "$tmp/release-3.out"; fail "no failed smoke check named"; }
grep -q "node a rolled back to 2.0.0" "$tmp/release-3.out" || { cat "$tmp/release-3.out"; fail "no rollback reported"; }
[[ $(readlink "$tmp/node-a/current") == pkg/2.0.0 && $(readlink "$tmp/node-b/current") == pkg/2.0.0 ]] ||
    fail "after the rollback both nodes should be on 2.0.0"
[[ ! -e "$tmp/node-a/drain" ]] || fail "node a stayed drained after its rollback"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: admin.example.com' "http://127.0.0.1:$port_a/assets/vendor/htmx.min.js")
[[ $code == 200 ]] || fail "node a serves htmx $code after the rollback"
ok "broken 3.0.0 fails its smoke check on node a, which is rolled back to 2.0.0; node b never saw it"

# ---- the stream's verdict ------------------------------------------------------------
sleep 2
touch "$tmp/stream.stop"
wait "$stream_pid" || true
stream_pid=""
after=$(stream_mark)
python3 - "$tmp/stream.json" <<'PY' || fail "failed requests during the deploys (above)"
import json, sys
d = json.load(open(sys.argv[1]))
posts, gets = d["counts"].get("POST 201", 0), d["counts"].get("GET 200", 0)
bad = {k: v for k, v in d["counts"].items() if k not in ("POST 201", "GET 200")}
print(f"  stream: {posts} posts answered 201, {gets} asset requests 200, failed: {sum(bad.values())} {bad or ''}")
if bad or posts < 50 or gets < 50:
    print("  errors:", d["errors"]); sys.exit(1)
PY
((after - before >= 50)) || fail "only $((after - before)) posts reached the database during the deploys"
ok "the stream of form posts through the balancer: 0 failed across both deploys ($((after - before)) journaled)"
