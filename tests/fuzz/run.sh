#!/usr/bin/env bash
# Builds the libFuzzer harnesses (ASan + UBSan) in their own build directory
# and runs each for the given number of seconds; prints the executions and
# crashes of each. Exit status 1 when any harness crashed.
#
#   tests/fuzz/run.sh            # smoke run: every harness x 8 s
#   tests/fuzz/run.sh 600        # the longer opt-in run: 10 minutes each
#   tests/fuzz/run.sh 30 fuzz_rkresult fuzz_form   # some harnesses only
#
# PMROBOKASSA_FUZZ_BUILD_DIR overrides the build directory (build-fuzz).
# New inputs found are kept in <build>/fuzz-corpus/<harness> for the next
# run; the seeds in tests/fuzz/corpus/<harness> are only read. A crashing
# input is saved in <build>/fuzz-artifacts/<harness>/ (reproduce with
# `<build>/fuzz/<harness> <that file>`).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-8}
shift || true
all=(fuzz_form fuzz_money fuzz_signature fuzz_request_parser
     fuzz_rkresult fuzz_rkpayment fuzz_rksuccess fuzz_rkfail fuzz_xml)
all+=(fuzz_json fuzz_stwebhook)
harnesses=("${@:-${all[@]}}")
build_dir=${PMROBOKASSA_FUZZ_BUILD_DIR:-build-fuzz}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPMROBOKASSA_ENABLE_FUZZING=ON -DPMROBOKASSA_ENABLE_TESTING=OFF \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build_dir" -j2 --target "${harnesses[@]}" >/dev/null

# Leaks, UB and aborts all count as crashes.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
total_runs=0
total_crashes=0
printf '%-22s %10s %8s %8s\n' harness executions exec/s crashes
for harness in "${harnesses[@]}"; do
    corpus="$build_dir/fuzz-corpus/$harness"
    artifacts="$build_dir/fuzz-artifacts/$harness"
    log="$build_dir/fuzz-logs/$harness.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    marker="$build_dir/fuzz-logs/$harness.start"
    touch "$marker"
    rc=0
    "$build_dir/fuzz/$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$corpus" "tests/fuzz/corpus/$harness" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    runs=${runs:-0}
    crashes=$(find "$artifacts" -type f -newer "$marker" | wc -l)
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1 # died without an artifact: still a failure
    fi
    printf '%-22s %10s %8s %8s\n' "$harness" "$runs" "$((runs / (seconds > 0 ? seconds : 1)))" \
        "$crashes"
    if [ "$crashes" -ne 0 ]; then
        status=1
        echo "  see $log and $artifacts/" >&2
        grep -E 'ERROR|invariant failed|runtime error' "$log" | head -5 >&2 || true
    fi
    total_runs=$((total_runs + runs))
    total_crashes=$((total_crashes + crashes))
done
printf '%-22s %10s %8s %8s\n' total "$total_runs" "" "$total_crashes"
exit "$status"
