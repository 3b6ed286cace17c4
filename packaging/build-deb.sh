#!/usr/bin/env bash
# Builds the pmrobokassa Debian package from this source tree, unsigned,
# binary only, and puts the results (.deb, .ddeb, .changes, .buildinfo) in
# OUTDIR (default: the current directory).
#
#   packaging/build-deb.sh [OUTDIR]
#   DEB_BUILD_OPTIONS="nocheck parallel=2" packaging/build-deb.sh /tmp/out
#
# The tree is copied first (without build directories and VCS data), and
# packaging/debian becomes the copy's debian/: the working tree is never
# touched, and no build directory of yours ends up in the package.
# Needs: dpkg-dev, debhelper and the Build-Depends of packaging/debian/control
# (`dpkg-checkbuilddeps packaging/debian/control` lists what is missing).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
outdir=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/pmrobokassa-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/pmrobokassa"
mkdir "$src"

# Everything but build trees, VCS data and caches.
tar -C "$top" -cf - \
    --exclude='./build' --exclude='./build-*' --exclude='./obj-*' --exclude='./debian' \
    --exclude='.git' --exclude='__pycache__' --exclude='*.pyc' . | tar -C "$src" -xf -
cp -a "$here/debian" "$src/debian"

profiles=()
case " ${DEB_BUILD_OPTIONS:-} " in
    *" nocheck "*) profiles=(-Pnocheck) ;;
esac

(cd "$src" && dpkg-buildpackage -us -uc -b "${profiles[@]}")

shopt -s nullglob
artifacts=("$work"/*.deb "$work"/*.ddeb "$work"/*.changes "$work"/*.buildinfo)
if [ "${#artifacts[@]}" -eq 0 ]; then
    echo "build-deb: dpkg-buildpackage produced nothing" >&2
    exit 1
fi
cp "${artifacts[@]}" "$outdir/"
for artifact in "${artifacts[@]}"; do
    echo "$outdir/$(basename "$artifact")"
done
