#!/usr/bin/env bash
# Build (via make) and run every libFuzzer target in tests/fuzz/.
#
#   tests/fuzz/run.sh [target...]      default: every target
#   FUZZ_SECONDS=60 tests/fuzz/run.sh  seconds per target (default 10)
#   make fuzz                          the same, from the Makefile (fuzz.mk)
#
# Each target first replays every file in tests/fuzz/regressions/<target>/
# once, then fuzzes for FUZZ_SECONDS with -max_total_time, starting from
# the committed seeds in tests/fuzz/corpus/<target>/. The committed corpus
# is read-only input: libFuzzer writes new inputs to the first corpus
# folder on its command line, which is a per-target folder in a temp dir
# (`fuzz_x -merge=0 WORKDIR CORPUSDIR`). Crash, leak, timeout and OOM
# inputs and the logs of failing runs are copied to tests/out/fuzz/.
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
build=${FUZZ_BUILD:-build/fuzz}
out=tests/out/fuzz
all_targets="intake text multipart token twilio resend llm tmpl classify json hours conf migrate
             pos_toast pos_square pos_clover calcom jobber stripe cart"
targets=${*:-$all_targets}

case $secs in ''|*[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number of seconds" >&2; exit 2;; esac

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
printf '== fuzzing %s s per target (binaries in %s, failures in %s)\n' "$secs" "$build" "$out"

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
    "$bin" -merge=0 -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
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
        for a in "$art"/*; do [ -e "$a" ] && echo "fuzz_$t:   input saved as $out/$t/$(basename "$a")"; done
    fi
    [ $reg_bad -ne 0 ] && { status="$status, $reg_bad/$reg_total regressions FAIL"; failed=1; }
    line=$(printf '%-10s %-8s execs %-9s (%s/s)  cov %-5s ft %-6s new inputs %-5s regressions %s/%s ok' \
        "$t" "$status" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$new" \
        "$((reg_total - reg_bad))" "$reg_total")
    echo "fuzz_$line"
    summary+=("$line")
done

echo "== summary"
for l in "${summary[@]}"; do echo "  $l"; done
if [ $failed -ne 0 ]; then
    echo "== FAILED: inputs and logs in $out/"
    exit 1
fi
echo "== all targets ok"
