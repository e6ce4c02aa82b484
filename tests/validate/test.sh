#!/usr/bin/env bash
# make validate fails on planted faults and its report names them: a
# literal secret (and a changed demo value) in a temporary copy of conf/,
# an applied migration edited in a temporary copy of sql/. The clean tree
# passes the same checks, so neither check fails on everything.
#   usage: tests/validate/test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/consult-validate-test.XXXXXX)
. "$root/tests/check.sh"
trap 'rc=$?; rm -rf "$tmp"; [[ $rc -eq 0 ]] || echo "validate-test: failed after $pass passed" >&2' EXIT

# validate NAME [VAR=VALUE...]: run the checks of VALIDATE_ONLY, report in
# $tmp/NAME.json, output in $tmp/NAME.out; sets rc.
validate() {
    local name=$1; shift
    rc=0
    env "$@" VALIDATE_REPORT="$tmp/$name.json" "$root/dist/validate.py" >"$tmp/$name.out" 2>&1 || rc=$?
}
# check REPORT NAME STATUS [TEXT...]: the report's check NAME has STATUS and
# every TEXT in its failure lines.
check() {
    python3 - "$@" <<'PY'
import json, sys
report, name, status, *texts = sys.argv[1:]
doc = json.load(open(report))
c = next((c for c in doc["checks"] if c["name"] == name), None)
assert c, f"no check {name} in the report"
assert c["status"] == status, f"{name} is {c['status']}, not {status}: {c['failure']}"
assert doc["ok"] == (status != "failed"), f"report ok={doc['ok']} with {name} {status}"
assert isinstance(c["seconds"], (int, float))
joined = "\n".join(c["failure"])
for t in texts:
    assert t in joined, f"{t!r} not in the failure lines:\n{joined}"
PY
}

echo "== validate: planted faults"
validate clean-secrets VALIDATE_ONLY=secrets
[[ $rc == 0 ]] || { cat "$tmp/clean-secrets.out"; fail "the secrets check fails on the clean conf/"; }
check "$tmp/clean-secrets.json" secrets passed || fail "clean report"
ok "the clean conf/ passes the secrets lint (exit 0, report ok)"

cp -r "$root/conf" "$tmp/conf"
sed -i 's|^\(\s*\)ConsultPOSTaxRate 8.5|&\n\1ConsultPOSToken "EAAAEsecretlookingtoken1234567890"|' "$tmp/conf/sites/pizzeria.conf"
sed -i 's|demo-taqueria-mock-pos-secret|demo-taqueria-mock-pos-secret-2|' "$tmp/conf/sites/taqueria.conf"
printf 'Header set X-Debug "sk_live_0123456789abcdefghij"\n' >>"$tmp/conf/httpd.conf"
validate planted-secrets VALIDATE_ONLY=secrets VALIDATE_CONF="$tmp/conf"
[[ $rc == 1 ]] || { cat "$tmp/planted-secrets.out"; fail "validate exited $rc with literal secrets planted"; }
grep -q 'FAIL  secrets' "$tmp/planted-secrets.out" || fail "no FAIL progress line for secrets"
check "$tmp/planted-secrets.json" secrets failed \
    "conf/sites/pizzeria.conf:" "ConsultPOSToken" "conf/sites/taqueria.conf:17: ConsultPOSWebhookSecret" \
    "conf/httpd.conf:" "a live Stripe key" || fail "planted secrets report"
ok "planted literal secrets fail validate (exit 1) and the report names each file, line and directive"

cp -r "$root/sql" "$tmp/sql"
printf -- '-- edited after it was applied\n' >>"$tmp/sql/001_clients_contacts_submissions.sql"
validate planted-migration VALIDATE_ONLY=migrations VALIDATE_SQL="$tmp/sql" VALIDATE_BASE=HEAD
[[ $rc == 1 ]] || { cat "$tmp/planted-migration.out"; fail "validate exited $rc with an applied migration edited"; }
check "$tmp/planted-migration.json" migrations failed "001_clients_contacts_submissions.sql changed after it was applied" ||
    fail "planted migration report"
ok "an edited applied migration fails validate and the report names the file"

validate clean-migrations VALIDATE_ONLY=migrations VALIDATE_BASE=HEAD
[[ $rc == 0 ]] || { cat "$tmp/clean-migrations.out"; fail "the migrations check fails on the clean sql/"; }
check "$tmp/clean-migrations.json" migrations passed || fail "clean migrations report"
ok "the clean sql/ passes the migrations check"
echo "validate-test: $pass passed, 0 failed"
