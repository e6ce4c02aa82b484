#!/usr/bin/env bash
# deploy.sh — roll a Consult release onto the stack's app nodes, one node at
# a time, with no request dropped; stop at the first node that fails.
#
#   usage: infra/deploy.sh [-s STACK] [--node INDEX] SOURCE [SHA256]
#     SOURCE   a release tarball: a local file (copied to each node), or an
#              https URL the nodes fetch themselves (then SHA256 is required)
#     -s       the Pulumi stack (default: the selected one)
#     --node   only this node (e.g. a new one, before it joins the rotation)
#
# For each node, in order: wait for its first boot to finish, send it the
# stack's node configuration (the secret output nodeFiles, piped over SSH
# into consult-apply-bundle: nothing secret is written on this machine),
# then run consult-release there: build if need be, migrate, check the
# config, switch, graceful restart, health check, or roll back. With a
# database server of our own, its role and password are set first.
#
# Needs: pulumi (logged in to the stack's backend), node, ssh and scp, and
# SSH access as root from an address in consult:adminIps.
set -euo pipefail

die() { echo "deploy: $*" >&2; exit 1; }
stack_args=()
only=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -s|--stack) [[ $# -ge 2 ]] || die "$1 needs a stack name"; stack_args=(--stack "$2"); shift 2 ;;
        --node) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "--node needs a node index"; only=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) break ;;
    esac
done
[[ $# -ge 1 && $# -le 2 ]] || die "usage: deploy.sh [-s STACK] [--node INDEX] SOURCE [SHA256]"
source=$1 sha=${2:-}
for tool in pulumi node ssh scp; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH"
done

local_file=""
case "$source" in
    https://*) [[ "$sha" =~ ^[0-9a-fA-F]{64}$ ]] || die "an https SOURCE needs its SHA-256 as the second argument" ;;
    *)
        [[ -f "$source" ]] || die "$source is not a file (nor an https URL)"
        local_file=$source
        got=$(sha256sum "$source" | cut -d' ' -f1)
        [[ -z "$sha" || "${sha,,}" == "$got" ]] || die "$source has SHA-256 $got, not $sha"
        sha=$got ;;
esac
sha=${sha,,}

ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=15)

# One read of the outputs, kept in memory only.
outputs=$(pulumi stack output --json --show-secrets "${stack_args[@]}") || die "pulumi stack output failed"
field() { # field EXPR: evaluate EXPR over the outputs (o) and print it
    printf '%s' "$outputs" | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
            const o = JSON.parse(s); const v = (0, eval)("(o) => " + process.argv[1])(o);
            process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
        });' "$1"
}
# What to deploy where, as plain lines: "db NAME IP" (a database server of
# our own) and "node INDEX NAME IP IN_ROTATION", one per app node.
# shellcheck disable=SC2016 # JavaScript template literals, not shell
plan=$(field '(Array.isArray(o.appNodes) && typeof o.nodeFiles === "object" ? [
    ...(o.database && o.database.managed === false ? [`db ${o.database.name} ${o.database.ipv4}`] : []),
    ...o.appNodes.map((n) => `node ${n.index} ${n.name} ${n.ipv4} ${n.inRotation}`),
].join("\n") : "")')
[[ -n "$plan" ]] || die "the stack has no appNodes/nodeFiles outputs: run pulumi up first"
mapfile -t nodes < <(sed -n 's/^node //p' <<<"$plan")
((${#nodes[@]} > 0)) || die "the stack has no app nodes"
bundle=$(field 'o.nodeFiles')

# ---- the database server's role -------------------------------------------
if read -r _ db_name db_ip < <(grep '^db ' <<<"$plan"); then
    echo "== database $db_name ($db_ip)"
    ssh "${ssh_opts[@]}" "root@$db_ip" 'cloud-init status --wait >/dev/null 2>&1 || true'
    field 'o.dbPassword' | ssh "${ssh_opts[@]}" "root@$db_ip" /usr/local/sbin/consult-db-role ||
        die "the database role was not set up"
fi

# ---- the app nodes, one at a time -----------------------------------------
done_count=0
for line in "${nodes[@]}"; do
    read -r index name ip in_rotation <<<"$line"
    [[ -z "$only" || "$only" == "$index" ]] || continue
    echo "== node $index: $name ($ip)$([[ $in_rotation == true ]] || echo ', drained')"
    ssh "${ssh_opts[@]}" "root@$ip" 'cloud-init status --wait >/dev/null 2>&1 || true'
    printf '%s' "$bundle" | ssh "${ssh_opts[@]}" "root@$ip" /usr/local/sbin/consult-apply-bundle ||
        die "node $index: the configuration was not applied; nodes after it are untouched"
    src=$source
    # A local tarball is copied over unless the node has that release already.
    if [[ -n "$local_file" ]] && ! ssh "${ssh_opts[@]}" "root@$ip" test -d "/opt/consult/releases/${sha:0:12}"; then
        src=/var/cache/consult/incoming-$sha.tar.gz
        scp -q "${ssh_opts[@]}" "$local_file" "root@$ip:$src" || die "node $index: copying the release failed"
    elif [[ -n "$local_file" ]]; then
        src=/var/cache/consult/incoming-$sha.tar.gz  # not read: the release is unpacked already
    fi
    # ssh hands the remote shell one command line: quote the URL for it.
    # shellcheck disable=SC2029
    ssh "${ssh_opts[@]}" "root@$ip" "/usr/local/sbin/consult-release $(printf '%q' "$src") $sha" ||
        die "node $index: the release did not go live (it rolled back); nodes after it are untouched"
    done_count=$((done_count + 1))
done
((done_count > 0)) || die "no node matched --node $only"
echo "deploy: release ${sha:0:12} live on $done_count node(s)"
if [[ -z "$local_file" ]]; then
    echo "deploy: new nodes build consult:release at first boot; to make it this one:"
    echo "  pulumi config set --path release.url '$source' && pulumi config set --path release.sha256 $sha"
fi
