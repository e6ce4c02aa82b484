#!/usr/bin/env bash
# make deb: the Debian package libapache2-mod-consult, built by Debian's own
# tools (dpkg-buildpackage, debhelper, dh_apache2) from a copy of this
# checkout in build/deb/, then checked by lintian. Prints the .deb's path
# last; build/deb/latest names it too.
#   usage: dist/deb.sh            (DEB_VERSION=... to choose the version)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$root/build/deb
for tool in dpkg-buildpackage dh lintian; do
    command -v "$tool" >/dev/null || { echo "deb: $tool not found (make deps installs dist/packages.txt)" >&2; exit 1; }
done

# The dashboard and the sites' pages need the vendored files (git-ignored,
# copied in by tools/assets.sh): a package without them is broken.
for f in htdocs/admin/assets/vendor/htmx.min.js htdocs/shared/vendor/cal-embed-snippet.js; do
    [[ -s "$f" ]] || { echo "deb: $f is missing: run tools/assets.sh (make deb does)" >&2; exit 1; }
done

# The version: a release tag vX.Y.Z, else 0.1.0~git<commit time>.<sha>, so
# every commit sorts after the one before it and a rollback names one.
version=${DEB_VERSION:-}
if [[ -z "$version" ]]; then
    if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
        version=${tag#v}
    else
        version=0.1.0~git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M).$(git rev-parse --short=7 HEAD)
    fi
fi
if [[ -n "$(git status --porcelain --untracked-files=no -- . ':!infra')" && -z "${DEB_VERSION:-}" ]]; then
    version=$version+dirty   # uncommitted changes: never mistaken for the commit
fi

stage=$out/consult-$version
rm -rf "$out"
mkdir -p "$stage"
# The tracked and untracked-but-not-ignored files, plus the vendored
# front-end files tools/assets.sh copies in (git-ignored).
{ git ls-files -z --cached --others --exclude-standard -- . ':!infra' ':!tests'
  find htdocs/admin/assets/vendor htdocs/shared/vendor -type f -print0 2>/dev/null
} | tar --null -T - -cf - | tar -xf - -C "$stage"
cp -r dist/debian "$stage/debian"
when=$(date -R -d "@$(git log -1 --format=%ct)")
cat >"$stage/debian/changelog" <<CHANGELOG
consult ($version) unstable; urgency=medium

  * Built from commit $(git rev-parse HEAD).

 -- Consult maintainers <consult@example.org>  $when
CHANGELOG

echo "deb: building libapache2-mod-consult $version"
start=$SECONDS
(cd "$stage" && dpkg-buildpackage -b -us -uc -j"${JOBS:-2}" >"$out/build.log" 2>&1) ||
    { tail -n 40 "$out/build.log" >&2; echo "deb: dpkg-buildpackage failed (log: build/deb/build.log)" >&2; exit 1; }
deb=$(ls "$out"/libapache2-mod-consult_*.deb | grep -v dbgsym)
echo "deb: built $(basename "$deb") in $((SECONDS - start)) s"

# Warnings fail too; each override in dist/debian/*.lintian-overrides says why.
# lintian needs no privilege, but as nobody it cannot enter a checkout in a
# private folder (a mode-700 temporary clone, /root): as root it is told
# --allow-root instead.
root_opt=()
[[ $(id -u) -ne 0 ]] || root_opt=(--allow-root)
if ! lintian "${root_opt[@]}" --fail-on error,warning --tag-display-limit 0 "$out"/consult_*.changes >"$out/lintian.log" 2>&1; then
    cat "$out/lintian.log" >&2
    echo "deb: lintian found problems (above)" >&2
    exit 1
fi
echo "deb: lintian clean ($(grep -c . "$out/lintian.log" || true) notes: build/deb/lintian.log)"
basename "$deb" >"$out/latest"
echo "$deb"
