#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts lighttpd with the four
# CGIs and the Robokassa emulator on 127.0.0.1 in a temporary MGR5_ROOT, adds
# a payment method, creates an invoice and pays it end to end, printing each
# step. `--stay` keeps the servers up and prints the link to open in a browser.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build_dir=${PMROBOKASSA_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j2 --target pmrobokassa rkpayment rkresult rksuccess rkfail rkrecurring
exec python3 scripts/demo.py --bin "$build_dir/bin" "$@"
