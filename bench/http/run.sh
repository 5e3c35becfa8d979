#!/bin/sh
# HTTP file server benchmark: wrk against phoneprovd and nginx (started here on
# 127.0.0.1, same 2 KiB file, same run), at c=64 and c=512, plus a per-MAC file
# rendered into LMDB and served by phoneprovd from the store.
#   bench/http/run.sh [BUILD_DIR] [SECONDS]
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
DUR=${2:-10}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
PPD=$BUILD/phoneprovd
PUT=$BUILD/bench/http/pp-bench-file-put
NGINX=${NGINX:-/usr/sbin/nginx}
for x in "$PPD" "$PUT"; do [ -x "$x" ] || { echo "missing $x (build first)" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$NGINX" ] || { echo "nginx not installed" >&2; exit 1; }

TMP=$(mktemp -d /tmp/ppbench-http.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

. "$SRC/bench/lib.sh"
PP_PORT=$(free_port); API_PORT=$(free_port); TFTP_PORT=$(free_port); NG_PORT=$(free_port)

mkdir -p "$TMP/root" "$TMP/var/db" "$TMP/ng/logs" "$TMP/plugins"
head -c 2048 /dev/urandom | base64 -w 64 | head -c 2048 > "$TMP/root/static.cfg"
cp "$TMP/root/static.cfg" "$TMP/lmdb.cfg"
"$PUT" "$TMP/var/db" "805ec0a1b2c3.cfg" "$TMP/lmdb.cfg"

cat > "$TMP/phoneprov.yml" <<EOF
data_dir: $TMP/var
log_level: warn
# every load client is 127.0.0.1: per-client caps raised
tftp: { listen: "127.0.0.1:$TFTP_PORT", root: $TMP/root, max_per_client: 65536 }
http: { listen: "127.0.0.1:$PP_PORT", root: $TMP/root, max_connections_per_ip: 65536, max_connections: 65536 }
api: { listen: "127.0.0.1:$API_PORT", token_file: $TMP/var/api-token, admin_token_file: $TMP/var/admin-token }
plugins: { dir: $TMP/plugins }
EOF
"$PPD" -c "$TMP/phoneprov.yml" 2>"$TMP/phoneprovd.log" &
PIDS="$PIDS $!"

nginx_conf "$TMP/ng" "$NG_PORT" "$TMP/root"
"$NGINX" -c "$TMP/ng/nginx.conf" -p "$TMP/ng" &
PIDS="$PIDS $!"

for port in $PP_PORT $NG_PORT; do
	i=0
	until curl -sf -o /dev/null "http://127.0.0.1:$port/static.cfg"; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "server on $port did not come up" >&2; cat "$TMP/phoneprovd.log" >&2; exit 1; }
		sleep 0.1
	done
done
curl -sf "http://127.0.0.1:$PP_PORT/805ec0a1b2c3.cfg" | cmp -s - "$TMP/lmdb.cfg" ||
	{ echo "LMDB file not served correctly" >&2; exit 1; }

# run NAME URL CONNS -> "rps p99_ms errors"
run() {
	out=$(wrk -t2 -c"$3" -d"${DUR}s" --latency "$2" 2>&1)
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}')
	sock=$(echo "$out" | awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}')
	non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
	echo "${rps:-0} ${p99:-0} $(( ${sock:-0} + ${non2xx:-0} ))"
}

printf '%-34s %12s %10s %8s\n' "target (2 KiB file, wrk -t2)" "requests/s" "p99 ms" "errors"
for c in 64 512; do
	set -- $(run pp "http://127.0.0.1:$PP_PORT/static.cfg" $c); pp_rps=$1; pp_p99=$2; pp_err=$3
	set -- $(run ng "http://127.0.0.1:$NG_PORT/static.cfg" $c); ng_rps=$1; ng_p99=$2; ng_err=$3
	set -- $(run db "http://127.0.0.1:$PP_PORT/805ec0a1b2c3.cfg" $c); db_rps=$1; db_p99=$2; db_err=$3
	printf '%-34s %12s %10s %8s\n' "phoneprovd static c=$c" "$pp_rps" "$pp_p99" "$pp_err"
	printf '%-34s %12s %10s %8s\n' "nginx static c=$c" "$ng_rps" "$ng_p99" "$ng_err"
	printf '%-34s %12s %10s %8s\n' "phoneprovd LMDB per-MAC c=$c" "$db_rps" "$db_p99" "$db_err"
	awk -v a="$pp_rps" -v b="$ng_rps" -v l="$db_rps" -v c="$c" 'BEGIN {
		printf "  ratio c=%s: phoneprovd/nginx = %.2f (goal >= 0.90), LMDB/static = %.2f (goal >= 1.00)\n",
			c, (b > 0 ? a / b : 0), (a > 0 ? l / a : 0) }'
done
