#!/bin/sh
# Install the Debian packages phoneprov needs to build, run and test.
# Idempotent: only missing packages are installed. Services shipped by the
# peer packages (tftpd-hpa, nginx, isc-dhcp-server, kea) are never started by
# the install: tests and benchmarks start their own copies on loopback.
set -eu
BUILD="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
 libmicrohttpd-dev libpcap-dev liblmdb-dev lmdb-utils libyaml-dev libpcre2-dev
 libcurl4-openssl-dev libarchive-dev libjansson-dev libcmocka-dev"
TEST="tftp-hpa atftp busybox curl tftpd-hpa nginx-light wrk isc-dhcp-server
 kea-dhcp4-server python3-scapy python3-jinja2 python3-pystache valgrind
 iproute2 dnsmasq-base systemd procps psmisc zip bsdextrautils libarchive-tools"
want="$BUILD"
[ "${1:-}" = "--test" ] && want="$BUILD $TEST"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps: missing packages:$missing" >&2
		echo "deps: run as root (or install sudo) to install them" >&2
		exit 1
	fi
	SUDO=sudo
fi
echo "deps: installing:$missing" >&2
# Keep package scripts from starting daemons on this machine.
prc=/usr/sbin/policy-rc.d
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$prc" >/dev/null
	$SUDO chmod 755 "$prc"
	trap '$SUDO rm -f "$prc"' EXIT
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
