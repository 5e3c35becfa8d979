#!/bin/sh
# Install what is missing to build (not the test tools), build, and run
# phoneprovd on the shipped phoneprov.yml (127.0.0.1: TFTP 6969, HTTP 8667,
# API 8666). Everything it writes at run time (store, rendered files, the
# static tree, tokens) is under var/, which git ignores. Extra arguments go
# to phoneprovd (e.g. --check).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ ! -f build/build.ninja ]; then
	echo "run: configuring build/ (meson setup)" >&2
	meson setup build >/dev/null
fi
echo "run: building (meson compile -C build; the first time takes a minute or two)" >&2
mkdir -p build/meson-logs
meson compile -C build >build/meson-logs/compile.log 2>&1 || { cat build/meson-logs/compile.log >&2; exit 1; }
echo "run: starting build/phoneprovd -c phoneprov.yml (Ctrl-C stops it)" >&2
exec build/phoneprovd -c phoneprov.yml "$@"
