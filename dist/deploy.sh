#!/usr/bin/env bash
# make deploy TARGET=FILE [PACKAGE=.deb] [REPORT=validate.json]
#
# Puts a Consult package live on a target's nodes without dropping a
# request, and takes it back off a node whose smoke checks fail:
#   1. the package must carry a green make validate report: ok, and the
#      report's package SHA-256 equal to this file's;
#   2. back up the database (pg_dump -Fc) before anything changes;
#   3. migrate once with the NEW release's consult-admin and migrations
#      (they must keep the running release working: see README, "Migrations
#      that keep the running release working");
#   4. node by node: drain it (its /consult/health answers 503, so the
#      balancer stops sending it visitors; wait drain-wait seconds), install
#      the package, apache2 -t, graceful restart (children finish what they
#      hold), smoke checks against the node itself (health, each site's
#      home, a form post, the dashboard and its assets), undrain, wait;
#   5. a node whose config test, restart or smoke check fails gets its
#      previous package back, restarted and checked the same way, and the
#      deploy stops there: nodes after it are untouched.
#
# TARGET file, one setting per line ("#" comments):
#   node NAME local DIR BASE_URL     a node on this machine (the tests; DIR
#                                    holds its unpacked packages and config)
#   node NAME ssh USER@HOST BASE_URL a Debian node with the package installed
#                                    by apt-get (root over SSH)
#   database CONNINFO                for local nodes; ssh nodes read theirs
#                                    from /etc/consult/database
#   backups DIR                      where the dumps go (default build/backups)
#   site HOST                        a client site: its home page must answer 200
#   post HOST                        the site the smoke form post goes to
#   dashboard HOST                   the dashboard: sign-in page and assets
#   drain-wait SECONDS               how long a balancer takes to notice (default 3)
#   ca FILE                          the CA the nodes' https certificates chain to
#                                    (Cloudflare's Origin CA root, for BASE_URL https://)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "deploy: $*" >&2; exit 1; }
say() { echo "deploy: $*"; }

target=${TARGET:-} pkg=${PACKAGE:-} report=${REPORT:-$root/build/validate.json}
[[ -n "$target" && -f "$target" ]] || die "TARGET=FILE is required (see the header of dist/deploy.sh)"
if [[ -z "$pkg" ]]; then
    [[ -s "$root/build/deb/latest" ]] || die "no PACKAGE= and no build/deb/latest: make validate first"
    pkg=$root/build/deb/$(cat "$root/build/deb/latest")
fi
[[ -f "$pkg" ]] || die "$pkg is not a file"
pkg=$(cd "$(dirname "$pkg")" && pwd)/$(basename "$pkg")

# ---- 1. the validate report -----------------------------------------------
[[ -f "$report" ]] || die "no validate report at $report: run make validate"
sha=$(sha256sum "$pkg" | cut -d' ' -f1)
python3 - "$report" "$sha" "$(basename "$pkg")" <<'PY' || die "the validate report does not vouch for this package (above)"
import json, sys
report, sha, name = sys.argv[1:]
doc = json.load(open(report))
bad = [c["name"] for c in doc.get("checks", []) if c.get("status") == "failed"]
if not doc.get("ok") or bad:
    sys.exit(f"deploy: {report} is not green (failed: {', '.join(bad) or '?'})")
p = doc.get("package") or {}
if p.get("sha256") != sha:
    sys.exit(f"deploy: {report} vouches for {p.get('file', 'no package')}, not {name} (SHA-256 differs)")
PY
version=$(dpkg-deb -f "$pkg" Version)
say "package $(basename "$pkg") ($version), validate report green"

# ---- the target ---------------------------------------------------------------
nodes=() sites=() post="" dashboard="" database="" backups=$root/build/backups drain_wait=3 ca=""
while read -r key rest; do
    case "$key" in
        ""|\#*) ;;
        node) nodes+=("$rest") ;;
        site) sites+=("$rest") ;;
        post) post=$rest ;;
        dashboard) dashboard=$rest ;;
        database) database=$rest ;;
        backups) backups=$rest ;;
        drain-wait) drain_wait=$rest ;;
        ca) ca=$rest ;;
        *) die "$target: unknown setting '$key'" ;;
    esac
done <"$target"
((${#nodes[@]} > 0)) || die "$target lists no node"
# The deploy's own health checks go to a client site's vhost: a drained
# node's first vhost, the one balancers ask, answers 503 on purpose.
health_host=${post:-${sites[0]:-}}

# ---- the node drivers -------------------------------------------------------
# A local node (DIR): packages unpacked in DIR/pkg/VERSION, DIR/current the
# live one, Apache run by DIR/apache.sh (start|graceful|test|running), which
# loads the modules and serves the dashboard from DIR/current.
ssh_opts=(-o BatchMode=yes -o ConnectTimeout=15)
node_do() { # node_do OP NODE_LINE [ARG]
    local op=$1 name driver where url arg=${3:-}
    read -r name driver where url <<<"$2"
    case "$driver:$op" in
        local:drain) touch "$where/drain" ;;
        local:undrain) rm -f "$where/drain" ;;
        local:current) [[ -L "$where/current" ]] && basename "$(readlink "$where/current")" || true ;;
        local:install)
            local v
            v=$(dpkg-deb -f "$arg" Version)
            if [[ ! -d "$where/pkg/$v" ]]; then
                rm -rf "$where/pkg/$v.new"
                dpkg-deb -x "$arg" "$where/pkg/$v.new" && cp "$arg" "$where/pkg/$v.new/package.deb"
                mv "$where/pkg/$v.new" "$where/pkg/$v"
            fi
            ln -sfn "pkg/$v" "$where/current.new" && mv -T "$where/current.new" "$where/current" ;;
        local:configtest) "$where/apache.sh" test ;;
        local:restart) "$where/apache.sh" graceful ;;
        local:package) echo "$where/pkg/$arg/package.deb" ;;
        local:migrate)
            local tmp
            tmp=$(mktemp -d)
            dpkg-deb -x "$arg" "$tmp"
            "$tmp/usr/bin/consult-admin" --db "$database" migrate "$tmp/usr/share/consult/sql" | sed 's/^/    /'
            local rc=${PIPESTATUS[0]}
            rm -rf "$tmp"
            return "$rc" ;;
        local:backup) pg_dump -Fc -d "$database" -f "$arg" ;;
        ssh:drain) ssh "${ssh_opts[@]}" "$where" 'mkdir -p /etc/consult && touch /etc/consult/drain' ;;
        ssh:undrain) ssh "${ssh_opts[@]}" "$where" 'rm -f /etc/consult/drain' ;;
        ssh:current) ssh "${ssh_opts[@]}" "$where" "dpkg-query -W -f='\${Version}' libapache2-mod-consult 2>/dev/null || true" ;;
        ssh:install)
            # A local .deb is copied over; a previous one (HOST:PATH) is there already.
            local remote=${arg#"$where":}
            if [[ "$remote" == "$arg" ]]; then
                local v base
                v=$(dpkg-deb -f "$arg" Version) base=$(basename "$arg")
                remote=/var/cache/consult/packages/$base
                ssh "${ssh_opts[@]}" "$where" 'mkdir -p /var/cache/consult/packages'
                scp -q "${ssh_opts[@]}" "$arg" "$where:$remote"
                # shellcheck disable=SC2029 # expanded here on purpose
                ssh "${ssh_opts[@]}" "$where" "ln -sfn $base /var/cache/consult/packages/$v.deb"
            fi
            # shellcheck disable=SC2029
            ssh "${ssh_opts[@]}" "$where" "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades $remote" ;;
        ssh:configtest) ssh "${ssh_opts[@]}" "$where" 'apache2ctl -t' ;;
        ssh:restart) ssh "${ssh_opts[@]}" "$where" 'apache2ctl graceful' ;;
        ssh:package) echo "$where:/var/cache/consult/packages/$arg.deb" ;;
        ssh:migrate)
            local base
            base=$(basename "$arg")
            ssh "${ssh_opts[@]}" "$where" 'mkdir -p /var/cache/consult/packages'
            scp -q "${ssh_opts[@]}" "$arg" "$where:/var/cache/consult/packages/$base"
            # shellcheck disable=SC2029
            ssh "${ssh_opts[@]}" "$where" "set -e; t=\$(mktemp -d); dpkg-deb -x /var/cache/consult/packages/$base \$t;
                \$t/usr/bin/consult-admin --db \"\$(cat /etc/consult/database)\" migrate \$t/usr/share/consult/sql; rm -rf \$t" ;;
        ssh:backup)
            # shellcheck disable=SC2029
            ssh "${ssh_opts[@]}" "$where" "mkdir -p /var/backups/consult &&
                pg_dump -Fc -d \"\$(cat /etc/consult/database)\" -f /var/backups/consult/$(basename "$arg")" ;;
        *) die "node $name: unknown driver '$driver'" ;;
    esac
}
node_url() { local name driver where url; read -r name driver where url <<<"$1"; echo "$url"; }
node_name() { local name; read -r name _ <<<"$1"; echo "$name"; }

# ask NODE_LINE HOST PATH [CURL_ARGS...]: the status code of https?://HOST/PATH
# asked of that node (curl --connect-to: the site's real name, Host and SNI,
# on the node's address), or of BASE_URL itself without a HOST.
ask() {
    local url=$1 host=$2 path=$3 scheme addr
    shift 3
    scheme=${url%%://*} addr=${url#*://}
    [[ "$addr" == *:* ]] || addr=$addr:$([[ $scheme == https ]] && echo 443 || echo 80)
    # Straight to the node: never through a proxy from the environment.
    local args=(-s -o /dev/null -m 10 -w '%{http_code}' --noproxy '*')
    [[ -n "$ca" ]] && args+=(--cacert "$ca")
    if [[ -n "$host" ]]; then
        curl "${args[@]}" --connect-to "$host::$addr" "$@" "$scheme://$host$path" || true
    else
        curl "${args[@]}" "$@" "$url$path" || true
    fi
}

# smoke NODE_LINE: what a visitor and the staff would notice, asked of the
# node itself (not through the balancer), under the sites' own names.
smoke() {
    local url fails=0 host
    url=$(node_url "$1")
    expect() { # expect WHAT CODE HOST PATH [CURL_ARGS...]
        local what=$1 want=$2 code
        shift 2
        code=$(ask "$url" "$@")
        if [[ "$code" == "$want" ]]; then echo "    ok   $what ($code)"; else echo "    FAIL $what (${code:-000})"; fails=$((fails + 1)); fi
    }
    expect "health" 200 "$health_host" /consult/health
    for host in "${sites[@]}"; do expect "$host home" 200 "$host" /; done
    if [[ -n "$post" ]]; then
        expect "$post form post" 201 "$post" /api/intake -H "Content-Type: application/json" \
            -H "Idempotency-Key: deploy-smoke-$(node_name "$1")-$(date +%s%N)" \
            --data "{\"name\":\"Deploy check\",\"email\":\"deploy-check@example.com\",\"message\":\"Deploy smoke check of $version on $(node_name "$1")\"}"
    fi
    if [[ -n "$dashboard" ]]; then
        expect "$dashboard sign-in" 200 "$dashboard" /login
        expect "$dashboard stylesheet" 200 "$dashboard" /assets/app.css
        expect "$dashboard htmx" 200 "$dashboard" /assets/vendor/htmx.min.js
    fi
    ((fails == 0))
}

# wait_health NODE_LINE: Apache back after a restart (up to 30 s).
wait_health() {
    local url
    url=$(node_url "$1")
    for _ in $(seq 1 150); do
        [[ $(ask "$url" "$health_host" /consult/health -m 2) == 200 ]] && return 0
        sleep 0.2
    done
    return 1
}

# go_live NODE_LINE PACKAGE: install, test, restart, smoke.
go_live() {
    node_do install "$1" "$2" || { echo "    install failed"; return 1; }
    node_do configtest "$1" >/dev/null 2>&1 || { node_do configtest "$1" 2>&1 | sed 's/^/    /'; echo "    apache2 -t failed"; return 1; }
    node_do restart "$1" || { echo "    graceful restart failed"; return 1; }
    wait_health "$1" || { echo "    health did not come back"; return 1; }
    smoke "$1"
}

# ---- 2. backup, 3. migrate ------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
first=${nodes[0]}
mkdir -p "$backups"
dump=$backups/consult-$stamp-before-$version.dump
node_do backup "$first" "$dump" || die "the backup failed: nothing was changed"
read -r _ first_driver _ <<<"$first"
[[ $first_driver == ssh ]] && dump="$(node_name "$first"):/var/backups/consult/$(basename "$dump")"
say "backup: $dump"
say "migrate with $version's migrations"
node_do migrate "$first" "$pkg" || die "migrations failed (the backup is $dump); no node was changed"

# ---- 4. node by node --------------------------------------------------------
for line in "${nodes[@]}"; do
    name=$(node_name "$line")
    prev=$(node_do current "$line")
    say "node $name: $prev -> $version"
    node_do drain "$line"
    sleep "$drain_wait"
    if go_live "$line" "$pkg"; then
        node_do undrain "$line"
        say "node $name: live on $version"
        sleep "$drain_wait"
        continue
    fi
    # ---- 5. roll back -----------------------------------------------------
    [[ -n "$prev" ]] || die "node $name failed on $version and has no previous package; it stays drained"
    say "node $name: failed on $version; rolling back to $prev"
    if go_live "$line" "$(node_do package "$line" "$prev")"; then
        node_do undrain "$line"
        die "node $name rolled back to $prev; the deploy stopped (nodes after it are untouched, nodes before it run $version)"
    fi
    die "node $name: the rollback to $prev failed too; it stays drained"
done
say "$version live on ${#nodes[@]} node(s)"
