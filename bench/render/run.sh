#!/bin/sh
# Render benchmark: C engine on 100,000 distinct devices, then Jinja2 and
# pystache (Debian's /usr/bin/python3) on a sample of the same devices, with
# byte-equality checks and per-render ratios. Times are CPU times of the
# rendering thread (the machine may be shared).
#   bench/render/run.sh [devices] [peer-sample]
set -eu
cd "$(dirname "$0")/../.."
N=${1:-100000}
SAMPLE=${2:-3000}
BUILD=${BUILD:-build-bench}
[ -d "$BUILD" ] || meson setup "$BUILD" -Dbuildtype=release >/dev/null
ninja -C "$BUILD" bench/render/bench-render >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
BIN="$BUILD/bench/render/bench-render"
TPL=bench/render/phone.mustache
# data built 100 / 5000 devices ahead of rendering: less and less of it is
# still in the CPU caches when it is rendered
"$BIN" "$TPL" "$N" 0 "$WORK" 5000 | grep -v '^RESULT'
"$BIN" "$TPL" "$N" 0 "$WORK" 100 | grep -v '^RESULT'
# as in the daemon (parse a device record, render it right away): the
# headline figure the ratios use
OUT=$("$BIN" "$TPL" "$N" "$SAMPLE" "$WORK" 10)
echo "$OUT" | grep -v '^RESULT'
RATE=$(echo "$OUT" | sed -n 's/^RESULT renders_per_s=//p')
/usr/bin/python3 bench/render/peers.py "$WORK" "$RATE"
