#!/usr/bin/env bash
# Every test: installs what is missing, builds, and runs
#   1. the whole CTest suite on a Release build (unit tests, the CGIs and
#      the module through real lighttpd/nginx/Apache on 127.0.0.1, the
#      browser test, the Debian package);
#   2. the suite again on an ASan + UBSan build (clang), and a fuzzing
#      smoke run of every libFuzzer harness (8 s each) from that build.
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

echo "== 1. Release build and the whole suite"
build_dir=${PMROBOKASSA_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DPMROBOKASSA_ENABLE_TESTING=ON -DPMROBOKASSA_WARNINGS_AS_ERRORS="$werror" "$@"
cmake --build "$build_dir" -j2
ctest --test-dir "$build_dir" -j2 --output-on-failure

echo "== 2. ASan + UBSan build (clang), the suite again, and a fuzzing smoke run"
# One clang build serves both: every target carries the sanitizers and
# libFuzzer's coverage instrumentation, so the harnesses link the same
# libraries the sanitized suite runs (clang's sanitizer runtime also starts
# a process in about half gcc's time, and the suite starts thousands).
# The package test builds its own Release package from the tree, and the
# format, tidy and layering checks read the sources: nothing of this build
# to check there, so they run once, above.
asan_dir=${PMROBOKASSA_ASAN_BUILD_DIR:-build-asan}
cmake -S . -B "$asan_dir" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DPMROBOKASSA_ENABLE_TESTING=ON -DPMROBOKASSA_WARNINGS_AS_ERRORS="$werror" \
  -DPMROBOKASSA_ENABLE_SANITIZER_ADDRESS=ON -DPMROBOKASSA_ENABLE_SANITIZER_UNDEFINED=ON \
  -DPMROBOKASSA_ENABLE_FUZZING=ON "$@"
cmake --build "$asan_dir" -j2
ctest --test-dir "$asan_dir" -j2 --output-on-failure -E '^(e2e_test_package|tidy|tidy_runner|format|layers)$'
# Every libFuzzer harness, 8 s each.
PMROBOKASSA_FUZZ_BUILD_DIR="$asan_dir" bash tests/fuzz/run.sh 8
