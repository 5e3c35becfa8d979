#!/bin/sh
# bench/soak: phoneprovd under mixed load for a long while (not in CI; issue 19).
# phoneprovd as deployed (every bundled plugin, log_level info; the per-client
# caps and the unknown-MAC ban raised as in bench/bootstorm, since the load
# comes from 127.0.0.x) on 127.0.0.1 free ports; for SECONDS, all at once:
#   - known devices: stormload probe (an HTTP fetch of a device's file and a
#     TFTP read of a static file, one at a time), in 20 s rounds;
#   - a trickle of never-seen phones: stormload storm, 10 phones (4 in flight)
#     every 2 s, new MACs each batch; the API deletes them afterwards so the
#     store keeps its size;
#   - REST churn with curl: create a config and a device, patch the device,
#     replace the config, delete both (one round about every 0.5 s);
#   - a TFTP flood: 200 RRQ/s with `timeout 255` from 127.0.0.2..51, never
#     acknowledged;
#   - slowloris: 256 HTTP and 16 API connections sending a header byte a second;
#   - SIGHUP every 5 s;
# and samples phoneprovd's VmRSS, RssAnon and open fds every second (CSV).
# At the end: min/median/max over each half, the second half's least-squares
# slope, the load tools' errors, whether phoneprovd still answers, a verdict.
#   bench/soak/run.sh [BUILD_DIR] [SECONDS]        (default build 600)
# KEEP=1 keeps the temporary folder (CSV, logs); rule: docs/provisioning.md, "Soak".
# SKIP="hup flood slowloris api trickle probe" (any of them) leaves those loads
# out, to find which one makes something grow.
set -eu
on() { case " ${SKIP:-} " in *" $1 "*) return 1 ;; esac; }
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$SRC/$B ;; esac
SECS=${2:-600}
PPD=$B/phoneprovd
[ -x "$PPD" ] || { echo "build first: meson compile -C $B" >&2; exit 1; }
H=$SRC/bench/soak/hostile.py
TMP=$(mktemp -d /tmp/ppsoak.XXXXXX)
PID=
KIDS=
cleanup() {
	for k in $KIDS; do kill "$k" 2>/dev/null || true; done
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT INT TERM
cc -O2 -Wall -Wextra -o "$TMP/stormload" "$SRC/bench/bootstorm/stormload.c"
. "$SRC/bench/lib.sh"
HP=$(free_port); TP=$(free_port); AP=$(free_port)
mkdir -p "$TMP/root"
(cd "$TMP" && touch probe.out storm.out api.out flood.out slow.out slowapi.out)
head -c 2048 /dev/urandom | base64 -w 64 | head -c 2048 > "$TMP/root/static.cfg"
cat > "$TMP/pp.yml" <<YML
data_dir: $TMP/var
log_level: info
# every simulated phone is 127.0.0.x: per-client caps raised
tftp: { listen: "127.0.0.1:$TP", root: $TMP/root, max_per_client: 65536 }
http: { listen: "127.0.0.1:$HP", root: $TMP/root, max_connections_per_ip: 65536, max_connections: 65536 }
api: { listen: "127.0.0.1:$AP" }
security: { unknown_mac_limit: 1000000 }
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
TOKEN=$(cat "$TMP/var/api-token")
API=http://127.0.0.1:$AP/api/v1
echo "# phoneprovd $("$PPD" --version | cut -d' ' -f2), $(ls -d "$SRC"/plugins/*/ | wc -l) plugins, $(nproc) cores; soak ${SECS} s"
KNOWN=805ec0ffffff.cfg
curl -s -o /dev/null -A "Yealink SIP-T46S 66.86.0.15 80:5e:c0:ff:ff:ff" "http://127.0.0.1:$HP/$KNOWN"
END=$(($(date +%s) + SECS))

# known devices
on probe && (
	while [ "$(date +%s)" -lt "$END" ]; do
		left=$((END - $(date +%s))); [ $left -gt 20 ] && left=20; [ $left -gt 0 ] || break
		"$TMP/stormload" probe -H "$HP" -T "$TP" -p "$KNOWN" -f static.cfg -d "$left" || true
		sleep 1
	done > "$TMP/probe.out" 2>&1
) &
KIDS="$KIDS $!"
# never-seen phones, deleted afterwards
on trickle && (
	off=0
	while [ "$(date +%s)" -lt "$END" ]; do
		"$TMP/stormload" storm -H "$HP" -T "$TP" -n 10 -c 4 -o "$off" -r 5 || true
		j=0
		while [ $j -lt 10 ]; do
			curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $TOKEN" \
				"$API/devices/$(printf '%s%06x' "$([ $((j % 2)) = 0 ] && echo 805ec0 || echo 249ad8)" $((off + j)))"
			j=$((j + 1))
		done
		off=$((off + 10))
		sleep 2
	done > "$TMP/storm.out" 2>&1
) &
KIDS="$KIDS $!"
# REST churn
on api && (
	n=0 bad=0
	req() { # METHOD PATH [BODY]: prints the status
		if [ $# -gt 2 ]; then
			curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
				-H 'Content-Type: application/json' --data "$3" "$API$2"
		else
			curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" "$API$2"
		fi
	}
	while [ "$(date +%s)" -lt "$END" ]; do
		m=$(printf '02:50:50:%02x:%02x:%02x' $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255)))
		c=soak-$n
		for got in \
			"201 $(req POST /configs "{\"id\":\"$c\",\"parent_ids\":[],\"raw_config\":{\"sip_proxy_ip\":\"192.0.2.1\"}}")" \
			"201 $(req POST /devices "{\"mac\":\"$m\",\"config\":\"$c\",\"description\":\"soak $n\"}")" \
			"200 $(req PATCH "/devices/$m" "{\"description\":\"soak $n patched\",\"ip\":\"192.0.2.$((n % 250 + 1))\"}")" \
			"200 $(req PUT "/configs/$c" "{\"id\":\"$c\",\"parent_ids\":[],\"raw_config\":{\"sip_proxy_ip\":\"192.0.2.2\"}}")" \
			"200 $(req GET "/devices?limit=50")" \
			"204 $(req DELETE "/devices/$m")" \
			"204 $(req DELETE "/configs/$c")"; do
			n_ok=${got%% *}; g=${got#* }
			[ "$g" = "$n_ok" ] || { bad=$((bad + 1)); echo "api round $n: want $n_ok got $g"; }
		done
		n=$((n + 1))
		sleep 0.5
	done > "$TMP/api.out" 2>&1
	echo "rounds=$n requests=$((n * 7)) errors=$bad" >> "$TMP/api.out"
) &
KIDS="$KIDS $!"
on flood && /usr/bin/python3 "$H" tftp "$TP" "$SECS" 200 50 > "$TMP/flood.out" 2>&1 &
KIDS="$KIDS $!"
on slowloris && /usr/bin/python3 "$H" http "$HP" "$SECS" 256 8 > "$TMP/slow.out" 2>&1 &
KIDS="$KIDS $!"
on slowloris && /usr/bin/python3 "$H" http "$AP" "$SECS" 16 1 > "$TMP/slowapi.out" 2>&1 &
KIDS="$KIDS $!"
/usr/bin/python3 "$H" sample "$PID" "$TMP/soak.csv" "$SECS" &
SAMPLER=$!
HUPS=0
while [ "$(date +%s)" -lt "$END" ]; do
	sleep 5
	on hup && kill -HUP "$PID" 2>/dev/null && HUPS=$((HUPS + 1))
done
wait "$SAMPLER" || true
for k in $KIDS; do wait "$k" 2>/dev/null || true; done
KIDS=
sleep 1
echo "sighup sent: $HUPS, reloads logged: $(grep -c 'event=reload.done' "$TMP/pp.log" || true)"
echo "known devices: $(awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); s[kv[1]] += kv[2]}} END {printf "rounds=%d requests=%d failed=%d", NR, s["requests"], s["failed"]}' "$TMP/probe.out")"
echo "worst p99 of a round (ms): $(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$TMP/probe.out" | sort -n | tail -1)"
echo "new phones: $(awk '/^phones=/ {for (i = 1; i <= NF; i++) {split($i, kv, "="); s[kv[1]] += kv[2]}; n++} END {printf "batches=%d phones=%d ok=%d failed=%d", n, s["phones"], s["ok"], s["failed"]}' "$TMP/storm.out")"
echo "rest api: $(tail -1 "$TMP/api.out")"
grep '^api round' "$TMP/api.out" | head -5
echo "tftp flood: $(cat "$TMP/flood.out")"
echo "slowloris http: $(cat "$TMP/slow.out")"
echo "slowloris api: $(cat "$TMP/slowapi.out")"
/usr/bin/python3 "$H" summary "$TMP/soak.csv" || RC=1
ALIVE=no
if kill -0 "$PID" 2>/dev/null; then ALIVE=yes; fi
H1=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$API/health" || true)
H2=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -A "Yealink SIP-T46S 66.86.0.15 80:5e:c0:ff:ff:ff" "http://127.0.0.1:$HP/$KNOWN" || true)
H3=$("$TMP/stormload" probe -H "$HP" -T "$TP" -p "$KNOWN" -f static.cfg -d 1 | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
echo "phoneprovd alive: $ALIVE; /health $H1, known device file $H2, probe failures in 1 s after the soak: ${H3:-?}"
echo "log: $(wc -l < "$TMP/pp.log") lines, $(wc -c < "$TMP/pp.log") bytes; error lines: $(grep -c 'level=error' "$TMP/pp.log" || true)"
[ "$ALIVE" = yes ] && [ "$H1" = 200 ] && [ "$H2" = 200 ] || RC=1
exit "${RC:-0}"
