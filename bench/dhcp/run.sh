#!/bin/sh
# DHCP parser + extractors throughput on one core, over a generated capture of
# 1,000,000 DHCP packets (goal: >= 500,000 packets/s), and scapy's DHCP
# decoding of a 20,000-packet sample of the same capture as the reference peer.
#   bench/dhcp/run.sh [BUILD_DIR] [N]
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
N=${2:-1000000}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/ppbench-dhcp.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
ninja -C "$BUILD" bench/dhcp/bench-dhcp >/dev/null
echo "generating $N DHCP packets..."
$PY "$SRC/bench/dhcp/gen_bench_pcap.py" "$TMP/bench.pcap" "$N"
ls -l "$TMP/bench.pcap" | awk '{printf "capture: %.1f MB\n", $5 / 1e6}'
taskset -c 0 "$BUILD/bench/dhcp/bench-dhcp" "$TMP/bench.pcap" "$SRC" | tee "$TMP/out.txt"
# peer: scapy decoding the same packets (first 20,000), options included
$PY - "$TMP/bench.pcap" <<'PYEOF' | tee -a "$TMP/out.txt"
import sys, time
from scapy.all import PcapReader, DHCP
t0 = time.perf_counter(); n = 0; vc = 0
with PcapReader(sys.argv[1]) as r:
    for p in r:
        d = p.getlayer(DHCP)
        if d is not None:
            vc += any(isinstance(o, tuple) and o[0] == "vendor_class_id" for o in d.options)
        n += 1
        if n == 20000:
            break
dt = time.perf_counter() - t0
print(f"{'scapy read + decode (peer, 20k sample)':40s} {n:9d} packets {dt:7.3f} s {n/dt:10.0f} packets/s")
PYEOF
awk '/^parse \+ extractors  /{pe=$(NF-3)} /^scapy/{sc=$(NF-1)} /^parse \(in memory\)/{p=$(NF-3)}
     END {if (sc>0) printf "ratio: parse+extractors / scapy = %.0fx, parser alone / scapy = %.0fx\n", pe/sc, p/sc;
          printf "goal >= 500000 packets/s (parse + extractors): %s\n", (pe >= 500000 ? "MET" : "NOT MET")}' "$TMP/out.txt"
