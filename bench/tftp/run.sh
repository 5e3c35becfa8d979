#!/bin/sh
# TFTP benchmark: phoneprovd against tftpd-hpa (in.tftpd), same files, same
# run, loopback only, with our own load generator (bench/tftp/tftpload.c).
#
#   bench/tftp/run.sh [PATH/TO/phoneprovd]
#
# Env: TOTAL_SMALL (transfers of the 2 KiB file per run, default 5120), CONC (512),
#      REPEAT (runs of the small cases, 3), BIG_RUNS (32 MiB runs per case, 7),
#      PIN_SRV / PIN_CLI (e.g. "taskset -c 0" / "taskset -c 1"; default unpinned:
#      on a shared 2-core machine pinning made both servers noisier),
#      KEEP=1 keeps the tmp dir. Servers and cases alternate; the table shows medians.
# Prints one line per case and server, then a table with the ratios.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
PHONEPROVD=${1:-${PHONEPROVD:-}}
if [ -z "$PHONEPROVD" ]; then
	for b in build-tftp build; do
		[ -x "$src/$b/phoneprovd" ] && PHONEPROVD="$src/$b/phoneprovd" && break
	done
fi
[ -x "${PHONEPROVD:-}" ] || { echo "phoneprovd not found (pass its path)" >&2; exit 2; }
TFTPD=${TFTPD:-/usr/sbin/in.tftpd}
[ -x "$TFTPD" ] || { echo "$TFTPD not found (apt-get install tftpd-hpa)" >&2; exit 2; }
TOTAL_SMALL=${TOTAL_SMALL:-5120}
CONC=${CONC:-512}
BIG_RUNS=${BIG_RUNS:-7}
REPEAT=${REPEAT:-3}
PIN_SRV=${PIN_SRV:-}
PIN_CLI=${PIN_CLI:-}
[ "$(nproc)" -ge 2 ] || PIN_SRV= PIN_CLI=

tmp=$(mktemp -d /tmp/pp-tftp-bench.XXXXXX)
pp_pid= hpa_pid= mon_pid=
cleanup() {
	for p in $mon_pid $pp_pid $hpa_pid; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cc -O2 -Wall -Wextra -o "$tmp/tftpload" "$here/tftpload.c"

. "$src/bench/lib.sh"
PP_BENCH_PORTS=$tmp/ports

mkdir -p "$tmp/root" "$tmp/var"
chmod 755 "$tmp" "$tmp/root"
head -c 2048 /dev/urandom >"$tmp/root/small.cfg"
head -c $((32 * 1024 * 1024)) /dev/urandom >"$tmp/root/big.bin"
chmod 644 "$tmp/root/"*

pp_port=$(free_port)
hpa_port=$(free_port)
while [ "$hpa_port" = "$pp_port" ]; do hpa_port=$(free_port); done
cat >"$tmp/pp.yml" <<EOF
data_dir: $tmp/var
log_level: info
# every load client is 127.0.0.1: the per-client cap raised
tftp: { listen: "127.0.0.1:$pp_port", root: $tmp/root, max_blksize: 65464, max_windowsize: 64, max_per_client: 65536 }
http: { listen: "127.0.0.1:$(free_port)", root: $tmp/root }
api: { listen: "127.0.0.1:$(free_port)", token_file: $tmp/var/api-token, admin_token_file: $tmp/var/admin-token }
plugins: { dir: $src/plugins }
EOF
$PIN_SRV "$PHONEPROVD" -c "$tmp/pp.yml" 2>"$tmp/pp.log" &
pp_pid=$!
$PIN_SRV "$TFTPD" --foreground --listen --user "$(id -un)" --address "127.0.0.1:$hpa_port" --secure "$tmp/root" &
hpa_pid=$!
i=0
until grep -q "event=ready" "$tmp/pp.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "phoneprovd did not start:"; cat "$tmp/pp.log"; exit 1; }
	sleep 0.05
done
sleep 0.2

# RSS / CPU monitor of phoneprovd: max VmRSS sampled every 20 ms
monitor() {
	max=0 amax=0
	while kill -0 "$pp_pid" 2>/dev/null; do
		set -- $(awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} END {print r+0, a+0}' \
			"/proc/$pp_pid/status" 2>/dev/null || echo 0 0)
		[ "$1" -gt "$max" ] && max=$1
		[ "$2" -gt "$amax" ] && amax=$2
		echo "$max $amax" >"$tmp/rss.max"
		sleep 0.02
	done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pp_pid/stat"; }

hz=$(getconf CLK_TCK)
results="$tmp/results"
: >"$results"
# CPU ticks used by phoneprovd so far (tftpd-hpa forks a child per transfer
# and ignores SIGCHLD, so its children's CPU time is not visible: not shown)
srv_ticks() {
	if [ "$1" = pp ]; then awk '{print $14 + $15}' "/proc/$pp_pid/stat"; else echo 0; fi
}
run_case() { # case server port args...
	case_name=$1 server=$2 port=$3
	shift 3
	k0=$(srv_ticks "$server")
	line=$($PIN_CLI "$tmp/tftpload" -p "$port" -l "$case_name/$server" "$@") || true
	sleep 0.1 # let tftpd-hpa reap its children
	k1=$(srv_ticks "$server")
	echo "$line cpu_ticks=$((k1 - k0))"
	echo "$case_name $server $line cpu_ticks=$((k1 - k0))" >>"$results"
}

echo "# phoneprovd: $PHONEPROVD (port $pp_port)   tftpd-hpa: $TFTPD (port $hpa_port)"
echo "# small: 2 KiB x $TOTAL_SMALL transfers, $CONC concurrent;  big: 32 MiB x $BIG_RUNS"

# warm the page cache and both servers
"$tmp/tftpload" -p "$pp_port" -f big.bin -n 1 -t 1 -b 1468 >/dev/null
"$tmp/tftpload" -p "$hpa_port" -f big.bin -n 1 -t 1 -b 1468 >/dev/null

base=$(awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {print r, a, f}' \
	"/proc/$pp_pid/status")
monitor &
mon_pid=$!
t0=$(date +%s.%N); c0=$(cpu_ticks)
run_case small pp "$pp_port" -f small.cfg -n "$CONC" -t "$TOTAL_SMALL" -s 2048
c1=$(cpu_ticks); t1=$(date +%s.%N)
kill "$mon_pid" 2>/dev/null || true
mon_pid=
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pp_pid/status")
run_case small hpa "$hpa_port" -f small.cfg -n "$CONC" -t "$TOTAL_SMALL" -s 2048
for r in $(seq 2 "$REPEAT"); do
	run_case small pp "$pp_port" -f small.cfg -n "$CONC" -t "$TOTAL_SMALL" -s 2048
	run_case small hpa "$hpa_port" -f small.cfg -n "$CONC" -t "$TOTAL_SMALL" -s 2048
done
for r in $(seq 1 "$REPEAT"); do
	run_case small1468 pp "$pp_port" -f small.cfg -n "$CONC" -t "$TOTAL_SMALL" -s 2048 -b 1468
	run_case small1468 hpa "$hpa_port" -f small.cfg -n "$CONC" -t "$TOTAL_SMALL" -s 2048 -b 1468
done
size=$((32 * 1024 * 1024))
# one 32 MiB transfer per run, alternating servers, BIG_RUNS times: the
# machine is shared, so the table shows the median of the runs
for r in $(seq 1 "$BIG_RUNS"); do
	for w in 1 16; do
		run_case "big1468w$w" pp "$pp_port" -f big.bin -n 1 -t 1 -s $size -b 1468 -w $w
		run_case "big1468w$w" hpa "$hpa_port" -f big.bin -n 1 -t 1 -s $size -b 1468 -w $w
	done
done

rss_max=$(cat "$tmp/rss.max" 2>/dev/null || echo 0 0)
cpu=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
	'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
fails=$(grep -c "level=warn event=tftp.done" "$tmp/pp.log" || true)

echo
/usr/bin/python3 - "$results" "$rss_max" "$hwm" "$cpu" "$fails" "$base" "$hz" <<'EOF'
import sys
hz = int(sys.argv[7])
res, hwm, cpu, fails = sys.argv[1], int(sys.argv[3]), sys.argv[4], sys.argv[5]
rss, anon = (int(x) for x in sys.argv[2].split())
b_rss, b_anon, b_file = (int(x) for x in sys.argv[6].split())
import statistics
rows = {}
for line in open(res):
    case, server, rest = line.split(" ", 2)
    kv = dict(x.split("=", 1) for x in rest.split() if "=" in x)
    rows.setdefault(case, {}).setdefault(server, []).append(kv)


def med(runs, key):
    vals = [float(r[key]) for r in runs if key in r]
    return statistics.median(vals) if vals else float("nan")


print(f"{'case':<11} {'server':<11} {'runs':>4} {'xfers/s':>9} {'MB/s':>8} {'best MB/s':>9} "
      f"{'p99 ms':>8} {'fail':>5} {'CPU ms/MiB':>10}")
for case, s in rows.items():
    agg = {}
    for server in ("pp", "hpa"):
        runs = s.get(server, [])
        name = "phoneprovd" if server == "pp" else "tftpd-hpa"
        fails = sum(int(r.get("failures", 1)) for r in runs) + sum(1 for r in runs if not r)
        mib = sum(float(r.get("mb_per_s", 0)) * float(r.get("seconds", 0)) for r in runs)
        ticks = sum(int(r.get("cpu_ticks", 0)) for r in runs)
        cpu_mib = 1000.0 * ticks / hz / mib if mib else float("nan")
        best = max((float(r.get("mb_per_s", 0)) for r in runs), default=0.0)
        agg[server] = (med(runs, "transfers_per_s"), med(runs, "mb_per_s"), med(runs, "p99_ms"),
                       cpu_mib, best)
        cpu_txt = f"{cpu_mib:.1f}" if server == "pp" else "n/a"
        print(f"{case:<11} {name:<11} {len(runs):>4} {agg[server][0]:>9.1f} {agg[server][1]:>8.2f} "
              f"{best:>9.2f} {agg[server][2]:>8.1f} {fails:>5} {cpu_txt:>10}")
    a, b = agg["pp"], agg["hpa"]
    if b[0] and b[1] and a[2]:
        print(f"{'':<11} {'ratio':<11} {'':>4} {a[0]/b[0]:>8.2f}x {a[1]/b[1]:>7.2f}x "
              f"{a[4]/b[4]:>8.2f}x {b[2]/a[2]:>7.2f}x  (p99: hpa/pp)")
print(f"phoneprovd idle before the run: VmRSS {b_rss/1024:.1f} MiB "
      f"(RssAnon {b_anon/1024:.1f} MiB, RssFile {b_file/1024:.1f} MiB = shared libraries)")
print(f"phoneprovd with {sys.argv[0] and ''}512 transfers in flight: max VmRSS {rss/1024:.1f} MiB, "
      f"VmHWM {hwm/1024:.1f} MiB, max RssAnon {anon/1024:.1f} MiB (goal < 10 MiB); "
      f"growth over idle {(rss - b_rss)/1024:.1f} MiB")
print(f"phoneprovd CPU during the small case: {cpu}% of one core; "
      f"transfers logged as failed: {fails}")
EOF
