#!/bin/sh
# bench/bootstorm: a site powering up after an outage. phoneprovd as deployed
# (every bundled plugin, log_level info; only the unknown-MAC ban raised, since
# every phone here is unknown and comes from 127.0.0.1) on 127.0.0.1:
#   1. idle: a prober fetching a known device's file (HTTP) and a static file
#      (TFTP), one request at a time: its p99;
#   2. storm: PHONES never-seen phones (half HTTP with a per-MAC path and
#      User-Agent, half TFTP with per-MAC file names) at CONC in flight, with
#      the same prober running: phones/s, p50/p99, failures, the prober's p99
#      against its idle p99, phoneprovd's peak RSS;
#   3. check: every phone has its device and its rendered file (LMDB and the
#      disk mirror).
#   bench/bootstorm/run.sh [BUILD_DIR] [PHONES] [CONC]     (default build 10000 512)
# Steady-state ratios against dnsmasq, tftpd-hpa, atftpd, nginx and a ceiling:
# bench/steady/run.sh.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$SRC/$B ;; esac
PHONES=${2:-10000}
CONC=${3:-512}
PPD=$B/phoneprovd
CLI=$B/phoneprov
[ -x "$PPD" ] && [ -x "$CLI" ] || { echo "build first: meson compile -C $B" >&2; exit 1; }
TMP=$(mktemp -d /tmp/ppbench-storm.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
cc -O2 -Wall -Wextra -o "$TMP/stormload" "$SRC/bench/bootstorm/stormload.c"
. "$SRC/bench/lib.sh"
HP=$(free_port); TP=$(free_port); AP=$(free_port)
mkdir -p "$TMP/root"
head -c 2048 /dev/urandom | base64 -w 64 | head -c 2048 > "$TMP/root/static.cfg"
cat > "$TMP/pp.yml" <<YML
data_dir: $TMP/var
# every simulated phone is 127.0.0.1: per-client caps raised
tftp: { listen: "127.0.0.1:$TP", root: $TMP/root, max_per_client: 65536 }
http: { listen: "127.0.0.1:$HP", root: $TMP/root, max_connections_per_ip: 65536, max_connections: 65536 }
api: { listen: "127.0.0.1:$AP" }
security: { unknown_mac_limit: 1000000, unknown_mac_limit_per_net: 0 }
plugins: { dir: $SRC/plugins }
YML
ulimit -n 65536 2>/dev/null || true
"$PPD" -c "$TMP/pp.yml" 2>"$TMP/pp.log" &
PID=$!
i=0
until grep -q "event=ready" "$TMP/pp.log" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 200 ] || { cat "$TMP/pp.log"; exit 1; }
	sleep 0.05
done
echo "# phoneprovd $("$PPD" --version | cut -d' ' -f2), $(ls -d "$SRC"/plugins/*/ | wc -l) plugins, $(nproc) cores; $PHONES phones, $CONC in flight"
# a known device the prober fetches (its first fetch creates it)
KNOWN=805ec0ffffff.cfg
curl -s -o /dev/null -A "Yealink SIP-T46S 66.86.0.15 80:5e:c0:ff:ff:ff" "http://127.0.0.1:$HP/$KNOWN"
sleep 0.5
IDLE=$("$TMP/stormload" probe -H "$HP" -T "$TP" -p "$KNOWN" -f static.cfg -d 5)
echo "idle   probe: $IDLE"
RSS0=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
"$TMP/stormload" probe -H "$HP" -T "$TP" -p "$KNOWN" -f static.cfg -d 3600 > "$TMP/probe.out" &
PROBE=$!
STORM=$("$TMP/stormload" storm -H "$HP" -T "$TP" -n "$PHONES" -c "$CONC") || true
kill -INT "$PROBE" 2>/dev/null || true
kill "$PROBE" 2>/dev/null || true
wait "$PROBE" 2>/dev/null || true
echo "storm:        $STORM"
# CPU seconds per phoneprovd thread so far (the storm dominates them)
HZ=$(getconf CLK_TCK)
echo "cpu_s by thread: $(for t in /proc/$PID/task/*; do
	printf '%s ' "$(cat "$t/comm")"; awk '{print $14 + $15}' "$t/stat"; done |
	awk -v hz="$HZ" '{c[$1] += $2} END {for (n in c) if (c[n]) printf "%s=%.2f ", n, c[n] / hz}')"
HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
echo "rss after the storm (KiB): $(grep -E '^(RssAnon|RssFile|RssShmem)' "/proc/$PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
# the prober was killed: measure it again during a second, shorter storm
"$TMP/stormload" probe -H "$HP" -T "$TP" -p "$KNOWN" -f static.cfg -d 8 > "$TMP/probe2.out" &
PROBE=$!
STORM2=$("$TMP/stormload" storm -H "$HP" -T "$TP" -n "$((PHONES / 2))" -c "$CONC" -o 1000000) || true
wait "$PROBE" || true
echo "storm 2:      $STORM2"
echo "storm  probe: $(cat "$TMP/probe2.out")"
# the disk mirror trails LMDB by design (docs/provisioning.md): wait for it
metric() {
	curl -s -H "Authorization: Bearer $(cat "$TOKEN")" "http://127.0.0.1:$AP/api/v1/metrics" |
		awk -v m="phoneprov_$1" '$1 == m {print $2}'
}
TOKEN=$(sed -n 's/^ *token_file: *//p' "$TMP/pp.yml")
[ -n "$TOKEN" ] || TOKEN=$TMP/var/api-token
T0=$(date +%s.%N)
i=0
until [ "$(metric provision_pending)" = 0 ] && [ "$(metric mirror_pending)" = 0 ]; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "the disk mirror did not catch up in 60 s" >&2; break; }
	sleep 0.1
done
echo "mirror caught up $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s after the storm"
N=$("$CLI" -c "$TMP/pp.yml" --json devices list | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for x in d if (x.get("render") or {}).get("files")))')
F=$(find "$TMP/var/tftpboot" -type f \( -name '805ec0*.cfg' -o -name '249ad8*.cfg' \) | wc -l)
TMPF=$(find "$TMP/var/tftpboot" -name '.*.tmp.*' | wc -l)
WANT=$((PHONES + PHONES / 2 + 1))
echo "check: devices with rendered files $N of $WANT, files in the disk mirror $F, temporary files $TMPF"
/usr/bin/python3 - "$IDLE" "$(cat "$TMP/probe2.out")" "$STORM" "$HWM" "$RSS0" <<'PY'
import sys
kv = lambda s: dict(x.split("=", 1) for x in s.split())
idle, busy, storm = kv(sys.argv[1]), kv(sys.argv[2]), kv(sys.argv[3])
hwm, rss0 = int(sys.argv[4]), int(sys.argv[5])
ratio = float(busy["p99_ms"]) / max(float(idle["p99_ms"]), 0.001)
print(f"result: new_phones_per_s={storm['phones_per_s']} (goal >= 2000)  failures={storm['failed']}"
      f"  p50_ms={storm['p50_ms']} p99_ms={storm['p99_ms']}  known_p99_ratio={ratio:.2f} (goal <= 3)"
      f"  rss_peak_mib={hwm / 1024:.1f} (goal < 32; {rss0 / 1024:.1f} before the storm)")
PY
