#!/bin/sh
# The benchmarks in one command: builds a Release tree with the
# benchmarks (build-bench/), then runs bench/run.py, which prints the table
# and writes bench/results/latest.json and latest.md. About 5-10 minutes.
#
#   scripts/bench.sh [run.py options...]      e.g. --duration 10, --no-php
#
# Needs lighttpd, wrk, hyperfine, php-cgi with php-sqlite3 and
# libbenchmark-dev; missing ones are installed with apt-get when running as
# root, otherwise the script says what to install. BUILD_DIR and JOBS
# override the build directory and the parallelism.
set -eu

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-bench}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# package:program (or package:file) pairs; "-" means look for the package.
need="lighttpd:lighttpd wrk:wrk hyperfine:hyperfine php-cgi:php-cgi
php-sqlite3:- libbenchmark-dev:/usr/include/benchmark/benchmark.h"
missing=""
for pair in $need; do
    package=${pair%%:*}
    probe=${pair#*:}
    case "$probe" in
    -) dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" && continue ;;
    /*) [ -e "$probe" ] && continue ;;
    *) command -v "$probe" >/dev/null 2>&1 || [ -x "/usr/sbin/$probe" ] && continue ;;
    esac
    missing="$missing $package"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bench.sh: installing$missing" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2 ||
            { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y --no-install-recommends $missing >&2; }
    else
        echo "bench.sh: please install:$missing" >&2
        exit 1
    fi
fi

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DPMROBOKASSA_ENABLE_BENCH=ON \
    -DPMROBOKASSA_ENABLE_TESTING=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target rkresult rkpayment rksuccess rkfail rkrecurring pmrobokassa \
    baseline_cgi baseline_cgi_static hello_cgi hello_cgi_pie evp_floor contract_floor \
    rkresult_nopie rk_micro_bench
exec python3 bench/run.py --bin "$BUILD_DIR/bin" "$@"
