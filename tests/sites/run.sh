#!/usr/bin/env bash
# make sites-check: the client sites of this checkout, plus one new site per
# vertical made by `consult-admin site-new` (so a new site passes unedited),
# checked by tests/sites/check.mjs against a private Apache and PostgreSQL
# (tests/browser/harness.sh); then the check's own tests (a broken site
# must fail it). The new sites live in a scratch checkout that links the
# real conf/ in and holds a copy of htdocs/ (Apache follows no symbolic
# links there), removed afterwards: the repository is not written.
#   usage: tests/sites/run.sh [check.mjs arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/lib.sh"
cd "$root"

scratch=$(mktemp -d -t consult-sites.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"
mkdir -p "$scratch/conf/sites" "$scratch/htdocs"
for x in conf/httpd.conf conf/presets conf/demo templates modules sql; do
    ln -s "$root/$x" "$scratch/$x"
done
for f in "$root"/conf/sites/*.conf; do ln -s "$f" "$scratch/conf/sites/"; done
cp -r "$root"/htdocs/. "$scratch/htdocs/"
chmod -R a+rX "$scratch/htdocs"

export CS_SERVE_ROOT=$scratch
export CS_HARNESS_SETUP=$root/tests/sites/setup.sh
status=0
tests/browser/harness.sh --run node tests/sites/check.mjs "$@" || status=$?
echo "== sites-check's own tests"
node --test tests/sites/ || status=1
exit $status
