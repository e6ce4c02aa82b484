#!/usr/bin/env bash
# Rewrites src/cloudflare-ips.ts from Cloudflare's published lists and shows
# the difference. Run it by hand from a machine with internet access; the
# tests and `pulumi up` never fetch anything.
#   usage: tools/refresh-cloudflare-ips.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/src/cloudflare-ips.ts"

fetch() {
    local list
    list=$(curl -fsS --max-time 20 "https://www.cloudflare.com/$1") ||
        { echo "refresh-cloudflare-ips: could not fetch https://www.cloudflare.com/$1" >&2; exit 1; }
    # One CIDR a line, nothing else: refuse anything that looks like a page.
    if ! grep -Eq '^[0-9a-f.:]+/[0-9]+$' <<<"$list" || grep -Evq '^([0-9a-f.:]+/[0-9]+)?$' <<<"$list"; then
        echo "refresh-cloudflare-ips: $1 is not a list of CIDRs" >&2; exit 1
    fi
    sed -n 's|^\([0-9a-f.:]*/[0-9]*\)$|    "\1",|p' <<<"$list"
}
v4=$(fetch ips-v4)
v6=$(fetch ips-v6)
checked=$(date -u +%Y-%m)

tmp=$(mktemp)
# Keep the header comment, with today's month as the date checked.
sed -n '1,/^export const CLOUDFLARE_IPV4/p' "$out" | sed '$d' |
    sed "s|^// Checked: .*|// Checked: $checked (fetched from the two lists above)|" >"$tmp"
{
    echo 'export const CLOUDFLARE_IPV4: readonly string[] = ['
    echo "$v4"
    echo '];'
    echo
    echo 'export const CLOUDFLARE_IPV6: readonly string[] = ['
    echo "$v6"
    echo '];'
    echo
    echo 'export const CLOUDFLARE_RANGES: readonly string[] = [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6];'
} >>"$tmp"
if diff -q -I '^// Checked:' "$out" "$tmp" >/dev/null; then
    mv "$tmp" "$out"
    echo "refresh-cloudflare-ips: the ranges are unchanged (marked checked $checked)"
else
    diff -u "$out" "$tmp" || true
    mv "$tmp" "$out"
    echo "refresh-cloudflare-ips: $out rewritten; update conf/remoteip-cloudflare.conf.example to match, then test, pulumi up and deploy.sh"
fi
