#!/usr/bin/env bash
# Front-end assets: install the pinned npm packages (package-lock.json) when
# node_modules is missing or older than the lockfile, then copy the vendored
# files the dashboard serves into htdocs/admin/assets/vendor/ (git-ignored).
# Idempotent; prints one line.
#   usage: tools/assets.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
umask 022

command -v npm >/dev/null 2>&1 ||
    { echo "assets: npm not found; install Node.js 20+ and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
[[ -f package-lock.json ]] || { echo "assets: package-lock.json is missing in $root" >&2; exit 1; }

# npm writes node_modules/.package-lock.json on every install; npm ci does
# not touch package-lock.json, so after one run the marker is newer.
marker=node_modules/.package-lock.json
did=""
if [[ ! -f "$marker" || package-lock.json -nt "$marker" ]]; then
    log=$(mktemp)
    if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
        cat "$log" >&2; rm -f "$log"
        echo "assets: npm ci failed" >&2; exit 1
    fi
    rm -f "$log"
    touch "$marker"
    did="npm ci, "
fi

# Cal.com's embed snippet, for the sites' booking pages (/_consult/ serves
# htdocs/shared/ on every client vhost).
cal_src=node_modules/@calcom/embed-snippet/dist/snippet.umd.js
cal_dest=htdocs/shared/vendor/cal-embed-snippet.js
[[ -f "$cal_src" ]] || { echo "assets: $cal_src is missing after npm ci" >&2; exit 1; }
if ! cmp -s "$cal_src" "$cal_dest"; then
    mkdir -p "${cal_dest%/*}"
    cp "$cal_src" "$cal_dest.tmp.$$"
    chmod 644 "$cal_dest.tmp.$$"
    mv -f "$cal_dest.tmp.$$" "$cal_dest"
fi

src=node_modules/htmx.org/dist/htmx.min.js
dest=htdocs/admin/assets/vendor/htmx.min.js
[[ -f "$src" ]] || { echo "assets: $src is missing after npm ci" >&2; exit 1; }
version=$(node -p 'require("./node_modules/htmx.org/package.json").version' 2>/dev/null || echo "?")
if cmp -s "$src" "$dest"; then
    echo "assets: ${did}htmx $version up to date in ${dest%/*}/"
else
    mkdir -p "${dest%/*}"
    cp "$src" "$dest.tmp.$$"
    chmod 644 "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
    echo "assets: ${did}htmx $version copied to $dest"
fi
