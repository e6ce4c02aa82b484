#!/usr/bin/env bash
# The GitHub Actions workflows, checked by action-validator (npm
# @action-validator/cli, pinned in package.json) against the workflow
# schema; and a broken workflow is refused, so the check can fail.
#   usage: tests/workflows/test.sh      (after npm ci: make assets)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lint=$root/node_modules/.bin/action-validator
[[ -x "$lint" ]] || { echo "workflows: $lint is missing (npm ci, or make assets)" >&2; exit 1; }
pass=0
shopt -s nullglob
files=("$root"/.github/workflows/*.yml "$root"/.github/workflows/*.yaml)
((${#files[@]} > 0)) || { echo "workflows: no workflow in .github/workflows" >&2; exit 1; }
for f in "${files[@]}"; do
    if ! out=$("$lint" "$f" 2>&1); then
        printf '%s\n' "$out" >&2
        echo "  FAIL - ${f#"$root"/}" >&2
        exit 1
    fi
    pass=$((pass + 1)); echo "  ok - ${f#"$root"/} is a valid workflow"
done
tmp=$(mktemp -d /tmp/consult-workflows.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# A job with steps but no runs-on, and a key GitHub does not know.
sed -e '/^    runs-on:/d' -e 's/^    timeout-minutes:/    timeout-minute:/' "${files[0]}" >"$tmp/broken.yml"
if "$lint" "$tmp/broken.yml" >"$tmp/out" 2>&1; then
    echo "  FAIL - action-validator accepted a job without runs-on" >&2; exit 1
fi
grep -q "timeout-minute" "$tmp/out" || { cat "$tmp/out" >&2; echo "  FAIL - the refusal does not name the bad key" >&2; exit 1; }
pass=$((pass + 1)); echo "  ok - a broken copy (no runs-on, a misspelt key) is refused, naming the key"
echo "workflows: $pass passed, 0 failed"
