#!/usr/bin/env bash
# Every test: installs what is missing, builds, and runs
#   1. the whole CTest suite on a Release build (unit tests, the CGIs and
#      the module through real lighttpd/nginx/Apache on 127.0.0.1, the
#      browser test, the Debian package, format, tidy and layering);
#   2. on an ASan + UBSan build (clang): the unit tests, one whole payment
#      path through lighttpd (e2e_test_cgi), and a fuzzing smoke run of
#      every libFuzzer harness (5 s each). That build runs during 1, in
#      the background at the lowest priority.
# Idempotent; run as root on Debian 12 (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The browser test's one npm dependency, exactly as locked.
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

# Warnings are errors in CI, where nobody is waiting on a half-done build.
werror=OFF
if [ "${CI:-}" = "true" ]; then
  werror=ON
fi
build_dir=${PMROBOKASSA_BUILD_DIR:-build}
asan_dir=${PMROBOKASSA_ASAN_BUILD_DIR:-build-asan}

# Stage 2's build (clang, ASan + UBSan, libFuzzer) starts now, at the lowest
# CPU priority: it gets the cores only when stage 1 leaves them idle (a
# suite waiting on a server, a sleep, one long test at the end), which was
# a quarter of stage 1's time on 2 cores, and it slows no timed test.
# One build serves unit tests, CGIs and harnesses alike, so the harnesses
# link the same libraries the unit tests run. lld and line tables only (all
# a sanitizer report shows) take a third off its build.
echo "== 2a. ASan + UBSan build (clang), in the background: $asan_dir/build.log"
mkdir -p "$asan_dir"
# Its own session (and so process group, to end it with): the kernel
# shares the CPU between sessions first (autogroup) and by nice only inside
# one, so the session gets the lowest weight too, below every server and
# client that stage 1 starts. Without autogroup, nice alone does it.
setsid --wait nice -n 19 bash -c '
  set -euo pipefail
  echo 19 > /proc/self/autogroup 2>/dev/null || true
  asan_dir=$1 werror=$2
  shift 2
  cmake -S . -B "$asan_dir" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS_DEBUG=-gline-tables-only -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only \
    -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld \
    -DPMROBOKASSA_ENABLE_TESTING=ON -DPMROBOKASSA_WARNINGS_AS_ERRORS="$werror" \
    -DPMROBOKASSA_ENABLE_SANITIZER_ADDRESS=ON -DPMROBOKASSA_ENABLE_SANITIZER_UNDEFINED=ON \
    -DPMROBOKASSA_ENABLE_FUZZING=ON "$@"
  # What stage 2 runs: the unit tests, e2e_test_cgi'"'"'s module and CGIs, the harnesses.
  cmake --build "$asan_dir" -j2 --target unit_tests fuzzers pmrobokassa \
    rkpayment rkresult rksuccess rkfail rkrecurring
' asan-build "$asan_dir" "$werror" "$@" > "$asan_dir/build.log" 2>&1 &
asan_build=$!
# A failing stage 1 ends it too.
trap 'kill -TERM -- "-$asan_build" 2>/dev/null || true' EXIT

echo "== 1. Release build and the whole suite"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DPMROBOKASSA_ENABLE_TESTING=ON -DPMROBOKASSA_WARNINGS_AS_ERRORS="$werror" "$@"
cmake --build "$build_dir" -j2
ctest --test-dir "$build_dir" -j2 --output-on-failure

echo "== 2b. On the ASan + UBSan build: unit tests, one payment path, a fuzzing smoke run"
# The end-to-end suites ran above on the optimised build that ships; here
# only e2e_test_cgi (every algorithm, the refusals, concurrent repeats)
# walks the real programs under the sanitizers. The whole set again,
# sanitized, took 225 s of the run on 2 cores; the harnesses below feed
# hostile input to every CGI's handler on a real store hundreds of
# thousands of times in a fifth of that.
if ! wait "$asan_build"; then
  tail -n 60 "$asan_dir/build.log"
  echo "test.sh: the ASan + UBSan build failed (whole log: $asan_dir/build.log)" >&2
  exit 1
fi
trap - EXIT
# (With warnings as errors off, they would be lost in the log.)
grep -F ': warning:' "$asan_dir/build.log" || true
ctest --test-dir "$asan_dir" -j2 --output-on-failure -R '^(unit[.].*|e2e_test_cgi)$'
# Every libFuzzer harness, 5 s each.
PMROBOKASSA_FUZZ_BUILD_DIR="$asan_dir" bash tests/fuzz/run.sh 5
