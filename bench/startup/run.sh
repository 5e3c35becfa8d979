#!/bin/sh
# bench/startup: time from exec to READY=1 of phoneprovd as deployed (every
# bundled plugin, default log level), N starts (default 20), on 127.0.0.1.
#   bench/startup/run.sh [BUILD_DIR] [N]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
[ -x "$B/phoneprovd" ] || { echo "build $B first (meson compile -C $B)" >&2; exit 1; }
PHONEPROVD=$PWD/$B/phoneprovd PYTHONPATH=$PWD/tests/lib exec /usr/bin/python3 - "${2:-20}" <<'PY'
import statistics, sys
import pphelp
n = int(sys.argv[1])
times = []
for _ in range(n):
    d = pphelp.Daemon(extra={"log_level": "info"})
    try:
        d.start()
        times.append(d.ready_s * 1000)
        d.stop()
    finally:
        d.cleanup()
times.sort()
print(f"phoneprovd exec -> READY=1 over {n} starts (every bundled plugin): "
      f"min {times[0]:.1f} ms, median {statistics.median(times):.1f} ms, "
      f"p90 {times[int(0.9 * (n - 1))]:.1f} ms, max {times[-1]:.1f} ms")
PY
