#!/bin/sh
# Install what is missing, build, and run phoneprovd on the shipped
# phoneprov.yml (127.0.0.1: TFTP 6969, HTTP 8667, API 8666; data in var/).
# Extra arguments go to phoneprovd (e.g. --check).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >build/meson-logs/compile.log 2>&1 || { cat build/meson-logs/compile.log >&2; exit 1; }
exec build/phoneprovd -c phoneprov.yml "$@"
