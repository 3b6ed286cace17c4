#!/usr/bin/env bash
# Every test: installs what is missing, builds, runs the whole CTest suite
# (unit tests, CGI black-box tests through real lighttpd, the emulator's own
# tests). Idempotent; run as root on Debian 12 (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The browser test's one npm dependency, exactly as locked.
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

build_dir=${PMROBOKASSA_BUILD_DIR:-build}
# Warnings are errors in CI, where nobody is waiting on a half-done build.
werror=OFF
if [ "${CI:-}" = "true" ]; then
  werror=ON
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DPMROBOKASSA_ENABLE_TESTING=ON -DPMROBOKASSA_WARNINGS_AS_ERRORS="$werror" \
  "$@"
cmake --build "$build_dir" -j2
ctest --test-dir "$build_dir" -j2 --output-on-failure --timeout 600
