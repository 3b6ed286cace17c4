#!/usr/bin/env bash
# Installs everything pmrobokassa needs to build, test and demo on Debian 12.
# Idempotent: packages already present are skipped, apt runs only when
# something is missing.
set -euo pipefail

packages=(
  g++ cmake make ninja-build pkg-config
  libboost-program-options-dev libboost-log-dev
  libssl-dev libsqlite3-dev sqlite3 libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev lighttpd curl python3 openssl
  # The browser test: Debian's chromium (no browser is ever downloaded) and
  # a font with Cyrillic glyphs, which chromium does not pull in by itself.
  chromium fonts-dejavu-core
  # The same payment through nginx + fcgiwrap and Apache; spawn-fcgi keeps
  # apt from pulling in systemd for fcgiwrap.
  nginx fcgiwrap spawn-fcgi apache2
  # libFuzzer harnesses (clang's fuzzer and sanitizer runtimes) and the
  # linker of that build, and the suite's checks that the tree follows
  # .clang-format and .clang-tidy.
  clang libclang-rt-14-dev lld clang-format clang-tidy
  # Building, checking and installing the Debian package.
  debhelper dpkg-dev lintian
)
# playwright-core needs node >= 18; a machine that already has node (from
# Debian or NodeSource) keeps it, one without gets Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
if [ "${PMROBOKASSA_EXTRA_PACKAGES:-}" != "" ]; then
  # shellcheck disable=SC2206
  packages+=(${PMROBOKASSA_EXTRA_PACKAGES})
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# lighttpd's package starts a system-wide server on port 80; we only ever
# start our own instances, so leave the system one as the admin chose.
