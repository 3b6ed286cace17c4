#!/usr/bin/env bash
# Builds the libFuzzer harnesses (ASan + UBSan) in their own build directory
# and runs each (two at a time) for the given number of seconds; prints the executions and
# crashes of each. Exit status 1 when any harness crashed.
#
#   tests/fuzz/run.sh            # smoke run: every harness x 5 s
#   tests/fuzz/run.sh 600        # the longer opt-in run: 10 minutes each
#   tests/fuzz/run.sh 30 fuzz_rkresult fuzz_form   # some harnesses only
#
# PMROBOKASSA_FUZZ_BUILD_DIR overrides the build directory (build-fuzz). A
# directory configured already (scripts/test.sh hands over its clang
# sanitizer build, fuzzing on) keeps its configuration; a new one is
# configured RelWithDebInfo, for more executions per second.
# New inputs found are kept in <build>/fuzz-corpus/<harness> for the next
# run; the seeds in tests/fuzz/corpus/<harness> are only read. A crashing
# input is saved in <build>/fuzz-artifacts/<harness>/ (reproduce with
# `<build>/fuzz/<harness> <that file>`).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-5}
shift || true
all=(fuzz_form fuzz_money fuzz_signature fuzz_request_parser
     fuzz_rkresult fuzz_rkpayment fuzz_rksuccess fuzz_rkfail fuzz_xml)
all+=(fuzz_json fuzz_stwebhook)
harnesses=("${@:-${all[@]}}")
build_dir=${PMROBOKASSA_FUZZ_BUILD_DIR:-build-fuzz}

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPMROBOKASSA_ENABLE_FUZZING=ON -DPMROBOKASSA_ENABLE_TESTING=OFF \
        -DPMROBOKASSA_ENABLE_SANITIZER_ADDRESS=ON -DPMROBOKASSA_ENABLE_SANITIZER_UNDEFINED=ON \
        -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
elif ! grep -q '^PMROBOKASSA_ENABLE_FUZZING:BOOL=ON' "$build_dir/CMakeCache.txt"; then
    echo "run.sh: $build_dir is configured without PMROBOKASSA_ENABLE_FUZZING" >&2
    exit 2
fi
cmake --build "$build_dir" -j2 --target "${harnesses[@]}" >/dev/null

# Leaks, UB and aborts all count as crashes.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Two harnesses at a time: each is one process on one core.
jobs=${PMROBOKASSA_FUZZ_JOBS:-2}

# One harness: its log, and "runs crashes" in <build>/fuzz-logs/HARNESS.result.
fuzz_one() {
    local harness=$1
    local corpus="$build_dir/fuzz-corpus/$harness"
    local artifacts="$build_dir/fuzz-artifacts/$harness"
    local log="$build_dir/fuzz-logs/$harness.log"
    local marker="$build_dir/fuzz-logs/$harness.start"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    touch "$marker"
    local rc=0
    "$build_dir/fuzz/$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$corpus" "tests/fuzz/corpus/$harness" >"$log" 2>&1 || rc=$?
    local runs crashes
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(find "$artifacts" -type f -newer "$marker" | wc -l)
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1 # died without an artifact: still a failure
    fi
    echo "${runs:-0} $crashes" >"$build_dir/fuzz-logs/$harness.result"
}

for harness in "${harnesses[@]}"; do
    rm -f "$build_dir/fuzz-logs/$harness.result"
    fuzz_one "$harness" &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
done
wait

status=0
total_runs=0
total_crashes=0
printf '%-22s %10s %8s %8s\n' harness executions exec/s crashes
for harness in "${harnesses[@]}"; do
    runs=0
    crashes=1 # no result: the harness did not even report
    if [ -f "$build_dir/fuzz-logs/$harness.result" ]; then
        read -r runs crashes <"$build_dir/fuzz-logs/$harness.result"
    fi
    printf '%-22s %10s %8s %8s\n' "$harness" "$runs" "$((runs / (seconds > 0 ? seconds : 1)))" \
        "$crashes"
    if [ "$crashes" -ne 0 ]; then
        status=1
        echo "  see $build_dir/fuzz-logs/$harness.log and $build_dir/fuzz-artifacts/$harness/" >&2
        grep -E 'ERROR|invariant failed|runtime error' "$build_dir/fuzz-logs/$harness.log" \
            | head -5 >&2 || true
    fi
    total_runs=$((total_runs + runs))
    total_crashes=$((total_crashes + crashes))
done
printf '%-22s %10s %8s %8s\n' total "$total_runs" "" "$total_crashes"
exit "$status"
