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
# The long fuzz run is scheduled, covers every target the runner knows and
# asks for the executions the fuzz README promises.
fz=$root/.github/workflows/fuzz.yml
[[ -f "$fz" ]] || { echo "  FAIL - no .github/workflows/fuzz.yml" >&2; exit 1; }
grep -q '^  schedule:' "$fz" && grep -q "cron:" "$fz" || { echo "  FAIL - fuzz.yml has no schedule" >&2; exit 1; }
grep -q "FUZZ_RUNS: .*10000000" "$fz" || { echo "  FAIL - fuzz.yml does not ask for 10M executions" >&2; exit 1; }
known=$(eval "$(sed -n '/^all_targets=/,/"$/p' "$root/tests/fuzz/run.sh")"; echo $all_targets)
for t in $known; do
    grep -Eq "[[ ,]$t[],]" "$fz" || { echo "  FAIL - fuzz.yml's matrix lacks $t" >&2; exit 1; }
done
pass=$((pass + 1)); echo "  ok - fuzz.yml runs nightly, every target ($(wc -w <<<"$known")), to 10M executions"
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
