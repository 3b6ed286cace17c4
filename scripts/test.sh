#!/usr/bin/env bash
# Every test: installs what is missing, builds, and runs
#   1. the whole CTest suite on a Release build (unit tests, the CGIs and
#      the module through real lighttpd/nginx/Apache on 127.0.0.1, the
#      browser test, the Debian package, format, tidy and layering);
#   2. on an ASan + UBSan build (clang): the unit tests, one whole payment
#      path through lighttpd (e2e_test_cgi), and a fuzzing smoke run of
#      every libFuzzer harness (5 s each).
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

# Ninja for a new build directory: it builds the targets named together
# side by side, and it compiles a program's sources while the library they
# link is still building (make does neither). One made by make before
# keeps its generator.
generator_for() {
  if [ ! -f "$1/CMakeCache.txt" ]; then
    echo "-GNinja"
  fi
}

echo "== 1. Release build and the whole suite"
build_dir=${PMROBOKASSA_BUILD_DIR:-build}
cmake -S . -B "$build_dir" $(generator_for "$build_dir") -DCMAKE_BUILD_TYPE=Release \
  -DPMROBOKASSA_ENABLE_TESTING=ON -DPMROBOKASSA_WARNINGS_AS_ERRORS="$werror" "$@"
cmake --build "$build_dir" -j2
# Three at a time on 2 cores: a quarter of the suite's time is spent
# waiting (on servers, browsers, timeouts that are the point of a test),
# and with two at a time a core sat idle through it.
ctest --test-dir "$build_dir" -j3 --output-on-failure

echo "== 2. ASan + UBSan build (clang): unit tests, one payment path, a fuzzing smoke run"
# One clang build serves both: every target carries the sanitizers and
# libFuzzer's coverage instrumentation, so the harnesses link the same
# libraries the unit tests run. lld and line tables only (all a sanitizer
# report shows) take a quarter off its build; it builds only what runs
# below. (Started in the background at the lowest priority during stage 1
# instead, it made the whole run slower, 576 s against 503 s: the idle
# time it was to fill was not idle enough.)
asan_dir=${PMROBOKASSA_ASAN_BUILD_DIR:-build-asan}
cmake -S . -B "$asan_dir" $(generator_for "$asan_dir") -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS_DEBUG=-gline-tables-only -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only \
  -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld \
  -DPMROBOKASSA_ENABLE_TESTING=ON -DPMROBOKASSA_WARNINGS_AS_ERRORS="$werror" \
  -DPMROBOKASSA_ENABLE_SANITIZER_ADDRESS=ON -DPMROBOKASSA_ENABLE_SANITIZER_UNDEFINED=ON \
  -DPMROBOKASSA_ENABLE_FUZZING=ON "$@"
# The unit tests, e2e_test_cgi's module and CGIs, the harnesses.
cmake --build "$asan_dir" -j2 --target unit_tests fuzzers pmrobokassa \
  rkpayment rkresult rksuccess rkfail rkrecurring
# The end-to-end suites ran above on the optimised build that ships; here
# only e2e_test_cgi (every algorithm, the refusals, concurrent repeats)
# walks the real programs under the sanitizers. The whole set again,
# sanitized, took 225 s of the run on 2 cores; the harnesses below feed
# hostile input to every CGI's handler on a real store hundreds of
# thousands of times in a fifth of that.
ctest --test-dir "$asan_dir" -j2 --output-on-failure -R '^(unit[.].*|e2e_test_cgi)$'
# Every libFuzzer harness, 5 s each, two at a time. (Beside the suite
# above they saved no time worth their executions: two at a time there
# made a third of them and saved 16 s of 73, one at a time 60% and saved
# nothing.)
PMROBOKASSA_FUZZ_BUILD_DIR="$asan_dir" bash tests/fuzz/run.sh 5
