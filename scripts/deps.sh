#!/bin/sh
# Install the Debian packages phoneprov needs to build, run and test.
# Idempotent: only missing packages are installed. Services shipped by the
# peer packages (tftpd-hpa, nginx, isc-dhcp-server, kea) are never started by
# the install: tests and benchmarks start their own copies on loopback.
# dnsmasq-base is the dnsmasq binary alone (no service). atftpd (a peer of
# bench/steady) cannot be installed as a package: it conflicts with tftpd-hpa
# (both ship /usr/sbin/in.tftpd, and apt removes tftpd-hpa to install it),
# so --bench unpacks its .deb into $ATFTPD_DIR instead: a binary, no service,
# no maintainer scripts; its libraries come from libwrap0 and libpcre2-8-0.
set -eu
ATFTPD_DIR=${ATFTPD_DIR:-/usr/local/lib/phoneprov-bench/atftpd}
# BUILD: what scripts/run.sh needs to build and run phoneprovd. TEST: what
# scripts/test.sh needs besides (clang for the fuzzers, the peers and
# clients of the integration tests, the packaging tools of tests/e2e/package).
BUILD="build-essential meson ninja-build pkg-config python3
 libmicrohttpd-dev libgnutls28-dev libpcap-dev liblmdb-dev lmdb-utils libyaml-dev libpcre2-dev
 libcurl4-openssl-dev libarchive-dev nettle-dev libjansson-dev libcmocka-dev"
TEST="clang libclang-rt-14-dev
 tftp-hpa atftp busybox curl tftpd-hpa nginx-light wrk isc-dhcp-server
 kea-dhcp4-server python3-scapy python3-seccomp python3-jinja2 python3-pystache valgrind
 iproute2 dnsmasq-base systemd procps psmisc zip bsdextrautils libarchive-tools
 python3-jsonschema openapi-specification bash-completion man-db git
 dpkg-dev debhelper devscripts lintian sip-tester libwrap0 libpcre2-8-0 fail2ban
 chromium chromium-driver python3-selenium"
# --bench: what --test installs, plus atftpd for bench/steady (kept out of
# --test so that CI never depends on that download).
want="$BUILD"
case "${1:-}" in --test | --bench) want="$BUILD $TEST" ;; esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
need_atftpd=
[ "${1:-}" = "--bench" ] && [ ! -x "$ATFTPD_DIR/usr/sbin/atftpd" ] && need_atftpd=1
[ -z "$missing" ] && [ -z "$need_atftpd" ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps: missing packages:$missing" >&2
		echo "deps: run as root (or install sudo) to install them" >&2
		exit 1
	fi
	SUDO=sudo
fi
[ -z "$missing" ] || echo "deps: installing:$missing" >&2
# Keep package scripts from starting daemons on this machine.
prc=/usr/sbin/policy-rc.d
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$prc" >/dev/null
	$SUDO chmod 755 "$prc"
	trap '$SUDO rm -f "$prc"' EXIT
fi
$SUDO apt-get update -qq
[ -z "$missing" ] ||
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
if [ -n "$need_atftpd" ]; then
	echo "deps: unpacking atftpd into $ATFTPD_DIR" >&2
	dl=$(mktemp -d)
	chmod 777 "$dl" # apt-get download runs as _apt where it can
	(cd "$dl" && apt-get download -qq atftpd >&2)
	$SUDO mkdir -p "$ATFTPD_DIR"
	$SUDO dpkg-deb -x "$dl"/atftpd_*.deb "$ATFTPD_DIR"
	rm -rf "$dl"
fi
