#!/usr/bin/env bash
# Build (via make) and run every libFuzzer target in tests/fuzz/.
#
#   tests/fuzz/run.sh [target...]      default: every target
#   FUZZ_SECONDS=60 tests/fuzz/run.sh  seconds per target (default 10)
#   make fuzz                          the same, from the Makefile (fuzz.mk)
#   make fuzz FUZZ_RUNS=10000000 FUZZ_SECONDS=7200
#                                      the long mode: each target runs until
#                                      it made FUZZ_RUNS executions (capped
#                                      at FUZZ_SECONDS) and fails if it did
#                                      not get there in time
#
# Each target first replays every file in tests/fuzz/regressions/<target>/
# once, then fuzzes for FUZZ_SECONDS with -max_total_time, starting from
# the committed seeds in tests/fuzz/corpus/<target>/. The committed corpus
# is read-only input: libFuzzer writes new inputs to the first corpus
# folder on its command line, which is a per-target folder in a temp dir
# (`fuzz_x -merge=0 WORKDIR CORPUSDIR`). Crash, leak, timeout and OOM
# inputs and the logs of failing runs are copied to tests/out/fuzz/, and
# each crashing input also to tests/fuzz/regressions/<target>/ under the
# name of its kind and SHA-1 (crash-3f2a...): commit it (run.sh prints the
# git add line) and every later run replays it first, so a fixed crash
# stays fixed. FUZZ_NO_REGRESS=1 leaves regressions/ alone.
# Exits non-zero when any target or regression input fails.
#
# Other knobs: FUZZ_BUILD (binaries, default build/fuzz), FUZZ_NO_BUILD=1
# (skip make), FUZZ_KEEP=1 (keep the temp dir), FUZZ_ARGS (extra libFuzzer
# flags, e.g. "-jobs=4 -workers=4" or "-dict=...").
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2

secs=${FUZZ_SECONDS:-10}
runs=${FUZZ_RUNS:-0}
build=${FUZZ_BUILD:-build/fuzz}
out=tests/out/fuzz
all_targets="intake text multipart token twilio resend llm tmpl classify json hours conf migrate
             pos_toast pos_square pos_clover calcom jobber stripe cart"
targets=${*:-$all_targets}

case $secs in ''|*[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number of seconds" >&2; exit 2;; esac
case $runs in ''|*[!0-9]*) echo "run.sh: FUZZ_RUNS must be a number of executions" >&2; exit 2;; esac

# A failing input into regressions/<target>/, named by kind and content,
# so the same crash found twice is one file. Prints where it went.
keep_regression() {   # target, artifact file
    local kind sum dest
    kind=$(basename "$2" | sed -n 's/^\(crash\|leak\|timeout\|oom\|slow-unit\)-.*/\1/p')
    [ -n "$kind" ] || kind=input
    sum=$(sha1sum "$2" | cut -c1-16)
    dest=$here/regressions/$1/$kind-$sum
    mkdir -p "$here/regressions/$1"
    cp "$2" "$dest"
    echo "${dest#"$root"/}"
}
if [ "${1:-}" = --self-test-keep ]; then     # used by tests/fuzz/selftest.sh
    keep_regression "$2" "$3"; exit $?
fi

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    # Once the Makefile has `include fuzz.mk`, plain make knows the rules.
    if grep -q '^[[:space:]]*-\{0,1\}include[[:space:]].*fuzz\.mk' Makefile; then
        mkargs=()
    else
        mkargs=(-f Makefile -f fuzz.mk)
    fi
    bins=()
    for t in $targets; do bins+=("$build/fuzz_$t"); done
    make --no-print-directory "${mkargs[@]}" -j"${JOBS:-2}" "${bins[@]}" || {
        echo "run.sh: build failed" >&2; exit 2; }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/consult-fuzz.XXXXXX") || exit 2
if [ "${FUZZ_KEEP:-0}" = 1 ]; then
    echo "run.sh: keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi
mkdir -p "$out"
rm -rf "${out:?}"/*

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

failed=0
summary=()
if [ "$runs" -gt 0 ]; then
    printf '== fuzzing each target to %s executions, at most %s s (binaries in %s, failures in %s)\n' \
        "$runs" "$secs" "$build" "$out"
    limit=(-runs="$runs" -max_total_time="$secs")
else
    printf '== fuzzing %s s per target (binaries in %s, failures in %s)\n' "$secs" "$build" "$out"
    limit=(-max_total_time="$secs")
fi
started=$(date +%s)

for t in $targets; do
    bin=$build/fuzz_$t
    corpus=$here/corpus/$t
    regdir=$here/regressions/$t
    work=$tmp/$t/corpus
    art=$tmp/$t/artifacts
    log=$tmp/$t/fuzz.log
    mkdir -p "$work" "$art" "$corpus"
    if [ ! -x "$bin" ]; then
        echo "fuzz_$t: missing $bin"; failed=1
        summary+=("$(printf '%-10s MISSING' "$t")"); continue
    fi

    # 1. regressions: every file once, one process each, so each failing
    #    file is named.
    reg_total=0 reg_bad=0
    if [ -d "$regdir" ]; then
        while IFS= read -r -d '' f; do
            reg_total=$((reg_total + 1))
            if ! "$bin" -runs=1 "$f" >"$tmp/$t/reg.log" 2>&1; then
                reg_bad=$((reg_bad + 1))
                mkdir -p "$out/$t"
                cp "$f" "$out/$t/regression-$(basename "$f")"
                cp "$tmp/$t/reg.log" "$out/$t/regression-$(basename "$f").log"
                echo "fuzz_$t: regression input FAILS: ${f#"$root"/}"
            fi
        done < <(find "$regdir" -type f ! -name 'README*' ! -name '.*' -print0 | sort -z)
    fi

    # 2. fuzz: new inputs go to the temp work dir, seeds are read only.
    printf 'fuzz_%s: running (%s)\n' "$t" "$(date +%H:%M:%S)"
    "$bin" -merge=0 "${limit[@]}" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" ${FUZZ_ARGS:-} \
        "$work" "$corpus" >"$log" 2>&1
    rc=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | awk '{print $2}')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n1 | awk '{print $2}')
    new=$(find "$work" -type f | wc -l)
    status=ok
    if [ $rc -ne 0 ] || [ -n "$(ls -A "$art")" ]; then
        status="FAIL(rc=$rc)"
        failed=1
        mkdir -p "$out/$t"
        cp "$art"/* "$out/$t/" 2>/dev/null
        cp "$log" "$out/$t/fuzz.log"
        what=$(grep -m1 -E '^SUMMARY: |ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error' "$log")
        echo "fuzz_$t: $what"
        for a in "$art"/*; do
            [ -e "$a" ] || continue
            echo "fuzz_$t:   input saved as $out/$t/$(basename "$a")"
            if [ "${FUZZ_NO_REGRESS:-0}" != 1 ]; then
                kept=$(keep_regression "$t" "$a")
                echo "fuzz_$t:   and as a regression input: git add $kept"
            fi
        done
    fi
    if [ "$runs" -gt 0 ] && [ "$status" = ok ] && [ "${execs:-0}" -lt "$runs" ]; then
        status="SHORT"
        failed=1
        echo "fuzz_$t: only ${execs:-0} of $runs executions in $secs s (raise FUZZ_SECONDS)"
    fi
    [ $reg_bad -ne 0 ] && { status="$status, $reg_bad/$reg_total regressions FAIL"; failed=1; }
    line=$(printf '%-10s %-8s execs %-9s (%s/s)  cov %-5s ft %-6s new inputs %-5s regressions %s/%s ok' \
        "$t" "$status" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$new" \
        "$((reg_total - reg_bad))" "$reg_total")
    echo "fuzz_$line"
    summary+=("$line")
done

echo "== summary ($(( $(date +%s) - started )) s)"
for l in "${summary[@]}"; do echo "  $l"; done
if [ $failed -ne 0 ]; then
    echo "== FAILED: inputs and logs in $out/"
    exit 1
fi
echo "== all targets ok"
