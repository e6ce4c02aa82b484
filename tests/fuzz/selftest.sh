#!/usr/bin/env bash
# The fuzz runner's own test (make test-fuzz-runner): a target built here
# that aborts on the input "CRASH!", run through a copy of run.sh in
# a scratch tree. A crash must fail the run and land in regressions/ with
# the git add line printed; the next run must fail on replaying it even
# with no seed that crashes; without it the run passes; and the long mode
# must fail a target that cannot reach its executions in time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/consult-fuzz-selftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tests/fuzz/corpus/selftest" "$tmp/bin"
cp "$root/tests/fuzz/run.sh" "$tmp/tests/fuzz/run.sh"
cat >"$tmp/selftest.c" <<'C'
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* FNV-1a: a crash libFuzzer cannot find by itself (it reads memcmp's
 * arguments), only from the seed or the regression input. */
static uint64_t fnv(const uint8_t *d, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    while (n--) h = (h ^ *d++) * 1099511628211ULL;
    return h;
}
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n == 6 && fnv(d, n) == fnv((const uint8_t *)"CRASH!", 6)) abort();
    if (n >= 4 && !memcmp(d, "SLOW", 4)) usleep(20000);
    return 0;
}
C
clang -g -fsanitize=fuzzer -o "$tmp/bin/fuzz_selftest" "$tmp/selftest.c"
run() { (cd "$tmp" && FUZZ_NO_BUILD=1 FUZZ_BUILD="$tmp/bin" bash tests/fuzz/run.sh selftest) >"$tmp/out" 2>&1; }
pass=0
ok() { pass=$((pass + 1)); echo "  ok - $1"; }
fail() { cat "$tmp/out" >&2; echo "  FAIL - $1" >&2; exit 1; }

printf 'hello' >"$tmp/tests/fuzz/corpus/selftest/a"
printf 'CRASH!' >"$tmp/tests/fuzz/corpus/selftest/b"
FUZZ_SECONDS=5 run && fail "a crashing target passed"
kept=$(ls "$tmp"/tests/fuzz/regressions/selftest/crash-* 2>/dev/null | head -1)
[[ -n "$kept" && "$(head -c5 "$kept")" == CRASH ]] || fail "the crash was not kept as a regression input"
grep -q "git add tests/fuzz/regressions/selftest/crash-" "$tmp/out" || fail "no git add line for the new regression"
ok "a crash fails the run and becomes tests/fuzz/regressions/selftest/$(basename "$kept")"

rm "$tmp/tests/fuzz/corpus/selftest/b"
FUZZ_SECONDS=2 run && fail "a run passed with a failing regression input"
grep -q "regression input FAILS" "$tmp/out" || fail "the failing regression was not named"
ok "the next run replays it and fails, with no crashing seed left"

rm -r "$tmp/tests/fuzz/regressions/selftest"
FUZZ_SECONDS=2 run || fail "a clean target failed"
ok "without it the run passes"

printf 'SLOW' >"$tmp/tests/fuzz/corpus/selftest/c"
FUZZ_SECONDS=2 FUZZ_RUNS=100000000 run && fail "the long mode passed short of its executions"
grep -q "only .* of 100000000 executions" "$tmp/out" || fail "the long mode did not say how far it got"
FUZZ_SECONDS=30 FUZZ_RUNS=2000 run || fail "the long mode failed a target that reached its executions"
ok "the long mode fails a target short of FUZZ_RUNS and passes one that reaches it"
echo "fuzz runner: $pass passed, 0 failed"
