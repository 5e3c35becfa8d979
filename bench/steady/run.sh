#!/bin/sh
# bench/steady: steady state, in one run, phoneprovd against its peers and
# against a ceiling, every server started here on 127.0.0.1, the same files and
# the same load tools for all:
#   TFTP 2 KiB, 512 in flight (bench/tftp/tftpload.c, blksize 512, a new
#     socket per transfer): phoneprovd, dnsmasq, tftpd-hpa, atftpd, ceiling
#   TFTP 32 MiB, blksize 1468, windowsize 16: phoneprovd, atftpd (dnsmasq and
#     tftpd-hpa have no windowsize; the ceiling serves 2 KiB only)
#   HTTP 2 KiB (wrk -t2, keep-alive) at c=64 and c=512: phoneprovd, nginx, ceiling
# The ceiling is bench/steady/ceiling.c: one thread answering from pre-built
# packets, i.e. what the load tool and the kernel's loopback path allow.
# phoneprovd runs as deployed: every bundled plugin, default log level, default
# limits (the files served are static files, so nothing else needs raising).
# Peers get their concurrency caps raised to the load (dnsmasq --tftp-max,
# atftpd --maxthread: defaults 50 and 100 would turn transfers away).
#
#   bench/steady/run.sh [BUILD_DIR]           (default: build)
#
# Env: REPEAT (rounds of the small cases, 3; servers alternate, their order
#      rotates each round), TOTAL_SMALL (2 KiB transfers per TFTP run, 5120),
#      HPA_TOTAL (the same for tftpd-hpa, 2048: it forks a process per
#      transfer, and on a loaded machine 5120 of them took a minute per run),
#      BIG_RUNS (32 MiB runs per server, 3), DUR (seconds per wrk run, 5),
#      PP_LOG_LEVEL (unset: the default, info; warn drops the line per request,
#      for a diagnosis only: the table is for phoneprovd as deployed),
#      KEEP=1 keeps the tmp dir.
# dnsmasq's TFTP port is fixed (69): dnsmasq runs in a network namespace of
# its own (unshare -n: its own 127.0.0.1 and nothing else) and its load tool
# joins it (nsenter -n); that needs root, without it dnsmasq is left out. atftpd: $ATFTPD, else atftpd on PATH or
# in /usr/sbin, else the copy scripts/deps.sh --bench unpacks (atftpd and
# tftpd-hpa conflict as packages).
# Prints one line per run, then the table: median, min..max of the runs,
# phoneprovd's ratio to each peer (with the goal), each server's ratio to the
# ceiling.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$SRC/$B ;; esac
PPD=$B/phoneprovd
[ -x "$PPD" ] || { echo "build first: meson compile -C $B" >&2; exit 1; }
REPEAT=${REPEAT:-3}
TOTAL_SMALL=${TOTAL_SMALL:-5120}
HPA_TOTAL=${HPA_TOTAL:-2048}
BIG_RUNS=${BIG_RUNS:-3}
DUR=${DUR:-5}
HPA=${TFTPD:-/usr/sbin/in.tftpd}
NGINX=${NGINX:-/usr/sbin/nginx}
DNSMASQ=${DNSMASQ:-$(command -v dnsmasq || echo /usr/sbin/dnsmasq)}
ATFTPD=${ATFTPD:-$(command -v atftpd || true)}
for a in "$ATFTPD" /usr/sbin/atftpd /usr/local/lib/phoneprov-bench/atftpd/usr/sbin/atftpd; do
	[ -n "$a" ] && [ -x "$a" ] && ATFTPD=$a && break
done
command -v wrk >/dev/null || { echo "wrk not installed (scripts/deps.sh --test)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/ppbench-steady.XXXXXX)
PIDS=""
HPA_PID=
cleanup() {
	[ -z "$HPA_PID" ] || kill -- "-$HPA_PID" 2>/dev/null || true
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
ulimit -n 65536 2>/dev/null || true

cc -O2 -Wall -Wextra -o "$TMP/tftpload" "$SRC/bench/tftp/tftpload.c"
CEIL=$B/bench/steady/ceiling
[ -x "$CEIL" ] || { CEIL=$TMP/ceiling; cc -O2 -Wall -Wextra -o "$CEIL" "$SRC/bench/steady/ceiling.c"; }

. "$SRC/bench/lib.sh"

mkdir -p "$TMP/root" "$TMP/ng/logs"
chmod 755 "$TMP" "$TMP/root"
head -c 2048 /dev/urandom | base64 -w 64 | head -c 2048 >"$TMP/root/static.cfg"
head -c $((32 * 1024 * 1024)) /dev/urandom >"$TMP/root/big.bin"
chmod 644 "$TMP/root/"*
SMALL=2048 BIG=$((32 * 1024 * 1024))

# phoneprovd as deployed (bench/bootstorm writes the same configuration)
PP_T=$(free_port) PP_H=$(free_port) PP_A=$(free_port)
LOG_LINE=""
[ -z "${PP_LOG_LEVEL:-}" ] || LOG_LINE="log_level: $PP_LOG_LEVEL"
cat >"$TMP/pp.yml" <<YML
data_dir: $TMP/var
$LOG_LINE
tftp: { listen: "127.0.0.1:$PP_T", root: $TMP/root }
http: { listen: "127.0.0.1:$PP_H", root: $TMP/root }
api: { listen: "127.0.0.1:$PP_A" }
plugins: { dir: $SRC/plugins }
YML
"$PPD" -c "$TMP/pp.yml" 2>"$TMP/pp.log" &
PP_PID=$!
PIDS="$PIDS $PP_PID"

CE_T=$(free_port) CE_H=$(free_port)
"$CEIL" -f "$TMP/root/static.cfg" -t "$CE_T" -H "$CE_H" 2>"$TMP/ceiling.log" &
PIDS="$PIDS $!"

HPA_T=
if [ -x "$HPA" ]; then
	HPA_T=$(free_port)
	# a process group of its own: it forks a child per transfer, and a child
	# still retransmitting to a finished load tool would outlive the run
	setsid "$HPA" --foreground --listen --user "$(id -un)" --address "127.0.0.1:$HPA_T" --secure \
		"$TMP/root" 2>"$TMP/hpa.log" &
	HPA_PID=$!
	PIDS="$PIDS $HPA_PID"
else
	echo "# tftpd-hpa ($HPA) not installed: left out" >&2
fi

DQ_T='' DQ_NS=''
if [ "$(id -u)" = 0 ] && [ -x "$DNSMASQ" ] && command -v nsenter >/dev/null &&
	unshare -n true 2>/dev/null; then
	# dnsmasq's TFTP port is fixed (69): it gets a network namespace of its
	# own (its own 127.0.0.1 and nothing else); its load runs in there too
	DQ_T=69
	unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
		"$DNSMASQ" --no-daemon --conf-file=/dev/null --port=0 --no-resolv --no-hosts \
		--listen-address=127.0.0.1 --bind-interfaces --pid-file= --user="$(id -un)" \
		--enable-tftp --tftp-root="$TMP/root" --tftp-max=1024 --quiet-tftp \
		2>"$TMP/dnsmasq.log" &
	DQ_PID=$!
	PIDS="$PIDS $DQ_PID"
	DQ_NS="nsenter -t $DQ_PID -n"
	i=0 # until it is in its namespace
	while [ "$(readlink "/proc/$DQ_PID/ns/net")" = "$(readlink /proc/self/ns/net)" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "dnsmasq did not start" >&2; exit 1; }
		sleep 0.05
	done
else
	echo "# dnsmasq left out (its TFTP port is fixed at 69: needs root, unshare and nsenter)" >&2
fi

AT_T=
if [ -n "$ATFTPD" ] && [ -x "$ATFTPD" ]; then
	AT_T=$(free_port)
	"$ATFTPD" --daemon --no-fork --port "$AT_T" --bind-address 127.0.0.1 \
		--user "$(id -un).$(id -gn)" --maxthread 1024 --logfile "$TMP/atftpd.log" "$TMP/root" &
	PIDS="$PIDS $!"
else
	echo "# atftpd not found (scripts/deps.sh --bench unpacks it): left out" >&2
fi

NG_H=
if [ -x "$NGINX" ]; then
	NG_H=$(free_port)
	# the same nginx configuration as bench/http
	nginx_conf "$TMP/ng" "$NG_H" "$TMP/root"
	"$NGINX" -c "$TMP/ng/nginx.conf" -p "$TMP/ng" 2>"$TMP/ng/stderr" &
	PIDS="$PIDS $!"
else
	echo "# nginx ($NGINX) not installed: left out" >&2
fi

i=0
until grep -q "event=ready" "$TMP/pp.log" 2>/dev/null ||
	curl -sf -o /dev/null "http://127.0.0.1:$PP_H/static.cfg"; do
	i=$((i + 1)); [ $i -lt 200 ] || { echo "phoneprovd did not start:" >&2; cat "$TMP/pp.log" >&2; exit 1; }
	sleep 0.05
done
for port in $PP_H $CE_H $NG_H; do
	i=0
	until curl -sf -o "$TMP/got" "http://127.0.0.1:$port/static.cfg" && cmp -s "$TMP/got" "$TMP/root/static.cfg"; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "HTTP server on $port did not serve static.cfg" >&2; exit 1; }
		sleep 0.1
	done
done
# every TFTP server serves the file, whole (and its page cache is warm)
for sp in pp:$PP_T ce:$CE_T ${HPA_T:+hpa:$HPA_T} ${DQ_T:+dq:$DQ_T} ${AT_T:+at:$AT_T}; do
	port=${sp#*:} ns=
	[ "${sp%%:*}" != dq ] || ns=$DQ_NS
	i=0
	until $ns "$TMP/tftpload" -p "$port" -f static.cfg -n 1 -t 1 -s $SMALL -T 200 >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 50 ] || { echo "TFTP server on $port did not serve static.cfg" >&2; exit 1; }
		sleep 0.1
	done
done
for port in $PP_T $AT_T; do "$TMP/tftpload" -p "$port" -f big.bin -n 1 -t 1 -b 1468 -w 16 >/dev/null || true; done

RES=$TMP/results
: >"$RES"
tftp_run() { # case server port args...
	c=$1 s=$2 p=$3
	shift 3
	ns=
	[ "$s" != dq ] || ns=$DQ_NS
	line=$($ns "$TMP/tftpload" -p "$p" -l "$c/$s" "$@" 2>>"$TMP/tftpload.err") || true
	[ -n "$line" ] || line="label=$c/$s failures=1"
	echo "$line"
	echo "$c $s $line" >>"$RES"
}
http_run() { # case server port conns
	out=$(wrk -t2 -c"$4" -d"${DUR}s" --latency "http://127.0.0.1:$3/static.cfg" 2>&1) || true
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}')
	sock=$(echo "$out" | awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}')
	non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
	line="label=$1/$2 requests_per_s=${rps:-0} p99_ms=${p99:-0} failures=$((${sock:-0} + ${non2xx:-0}))"
	echo "$line"
	echo "$1 $2 $line" >>"$RES"
}
rotate() { # ROUND WORDS...: the words, starting at word ROUND (mod their count)
	k=$(( ($1 - 1) % ($# - 1) ))
	shift
	while [ "$k" -gt 0 ]; do x=$1; shift; set -- "$@" "$x"; k=$((k - 1)); done
	echo "$@"
}

echo "# phoneprovd $("$PPD" --version | cut -d' ' -f2) ($(ls -d "$SRC"/plugins/*/ | wc -l) plugins, log level ${PP_LOG_LEVEL:-info}), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# ports: phoneprovd tftp $PP_T http $PP_H; ceiling $CE_T/$CE_H; tftpd-hpa ${HPA_T:--}; dnsmasq ${DQ_T:--}; atftpd ${AT_T:--}; nginx ${NG_H:--}${DQ_NS:+ (in a network namespace of its own)}"
TSERV="pp:$PP_T ce:$CE_T${DQ_T:+ dq:$DQ_T}${HPA_T:+ hpa:$HPA_T}${AT_T:+ at:$AT_T}"
HSERV="pp:$PP_H ce:$CE_H${NG_H:+ ng:$NG_H}"
for r in $(seq 1 "$REPEAT"); do
	for sp in $(rotate "$r" $TSERV); do
		n=$TOTAL_SMALL
		[ "${sp%%:*}" != hpa ] || n=$HPA_TOTAL
		tftp_run tftp2k "${sp%%:*}" "${sp#*:}" -f static.cfg -n 512 -t "$n" -s $SMALL
	done
	for c in 64 512; do
		for sp in $(rotate "$r" $HSERV); do http_run "http2k_c$c" "${sp%%:*}" "${sp#*:}" $c; done
	done
done
for r in $(seq 1 "$BIG_RUNS"); do
	for sp in $(rotate "$r" "pp:$PP_T" ${AT_T:+at:$AT_T}); do
		tftp_run tftp32m_w16 "${sp%%:*}" "${sp#*:}" -f big.bin -n 1 -t 1 -s $BIG -b 1468 -w 16
	done
done
echo "# load after the runs: $(cut -d' ' -f1-3 /proc/loadavg); phoneprovd VmHWM $(awk '/^VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$PP_PID/status")"
echo
/usr/bin/python3 - "$RES" <<'PY'
import statistics, sys
names = {"pp": "phoneprovd", "ce": "ceiling", "dq": "dnsmasq", "hpa": "tftpd-hpa", "at": "atftpd",
         "ng": "nginx"}
goals = {("tftp2k", "dq"): 1.5, ("tftp2k", "hpa"): 5.0, ("tftp32m_w16", "at"): 1.0,
         ("http2k_c64", "ng"): 1.0, ("http2k_c512", "ng"): 1.0}
titles = {"tftp2k": "TFTP 2 KiB, 512 in flight (transfers/s)",
          "tftp32m_w16": "TFTP 32 MiB, blksize 1468, windowsize 16 (MB/s)",
          "http2k_c64": "HTTP 2 KiB, wrk c=64 (requests/s)",
          "http2k_c512": "HTTP 2 KiB, wrk c=512 (requests/s)"}
rows = {}
for line in open(sys.argv[1]):
    case, server, rest = line.split(" ", 2)
    kv = dict(x.split("=", 1) for x in rest.split() if "=" in x)
    rows.setdefault(case, {}).setdefault(server, []).append(kv)
key = lambda case: "mb_per_s" if case.startswith("tftp32m") else (
    "transfers_per_s" if case.startswith("tftp") else "requests_per_s")
print(f"{'server':<12} {'runs':>4} {'median':>9} {'min..max':>17} {'p99 ms':>8} {'fail':>5}"
      f" {'phoneprovd/it':>14} {'goal':>8} {'it/ceiling':>10}")
allok = True
for case in ("tftp2k", "tftp32m_w16", "http2k_c64", "http2k_c512"):
    if case not in rows:
        continue
    print(titles[case])
    k = key(case)
    med = {}
    for s, runs in rows[case].items():
        v = [float(r.get(k, 0)) for r in runs]
        med[s] = (statistics.median(v), min(v), max(v),
                  statistics.median(float(r.get("p99_ms", 0)) for r in runs),
                  sum(int(r.get("failures", 1)) for r in runs))
    for s in [x for x in names if x in med]:
        m, lo, hi, p99, fail = med[s]
        ratio = med["pp"][0] / m if s != "pp" and m else None
        goal = goals.get((case, s))
        mark = ""
        if goal is not None:
            ok = ratio is not None and ratio >= goal
            mark = f">={goal:g}" + ("" if ok else " !")
            allok &= ok
        ceil = f"{m / med['ce'][0]:.2f}x" if "ce" in med and med["ce"][0] else "-"
        rng = f"{lo:.0f}..{hi:.0f}" if k != "mb_per_s" else f"{lo:.1f}..{hi:.1f}"
        val = f"{m:.0f}" if k != "mb_per_s" else f"{m:.1f}"
        print(f"  {names[s]:<10} {len(rows[case][s]):>4} {val:>9} {rng:>17} {p99:>8.1f} {fail:>5}"
              f" {(f'{ratio:.2f}x' if ratio else '-'):>14} {mark:>8} {ceil:>10}")
        if s == "pp" and fail:
            allok = False
print("every goal met, phoneprovd without failures" if allok else
      "NOT every goal met ('!' marks a ratio under its goal; or phoneprovd had failures)")
PY
