#!/usr/bin/python3
"""Live DHCP sniffing in network namespaces the test creates (needs root):

  netns S: veth vS 192.0.2.1/24, dnsmasq (bound to vS only) and phoneprovd
           sniffing vS (dhcp_sniffer.interface)
  netns C: veth vC with a Yealink MAC, busybox udhcpc -V "yealink SIP-T46S 66.86.0.15"

The phone must appear in `phoneprov devices list` with the leased IP, vendor,
model, version and plugin. All traffic stays inside the two namespaces
(192.0.2.0/24 is a documentation range). Skipped, with the reason, only when
namespaces cannot be created."""
import json
import os
import shutil
import subprocess
import sys
import time

import pphelp
from pphelp import Daemon, TapRunner

t = TapRunner()
tag = f"{os.getpid() % 100000}"
NS_S, NS_C = f"ppdhcp{tag}s", f"ppdhcp{tag}c"
V_S, V_C = f"ppv{tag}s", f"ppv{tag}c"
PHONE_MAC = "80:5e:c0:0a:0b:0c"
VCI = "yealink SIP-T46S 66.86.0.15"


def run(*cmd, check=True):
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip()}")
    return p


def cleanup():
    for ns in (NS_S, NS_C):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def setup():
    run("ip", "netns", "add", NS_S)
    run("ip", "netns", "add", NS_C)
    run("ip", "link", "add", V_S, "type", "veth", "peer", "name", V_C)
    run("ip", "link", "set", V_S, "netns", NS_S)
    run("ip", "link", "set", V_C, "netns", NS_C)
    run("ip", "-n", NS_S, "addr", "add", "192.0.2.1/24", "dev", V_S)
    run("ip", "-n", NS_C, "link", "set", V_C, "address", PHONE_MAC)
    for ns, dev in ((NS_S, V_S), (NS_C, V_C)):
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", ns, "link", "set", dev, "up")


missing = [b for b in ("ip", "dnsmasq", "busybox") if not shutil.which(b) and
           not os.path.exists(f"/usr/sbin/{b}")]
if missing:
    t.skip("live DHCP in network namespaces", f"missing tools: {' '.join(missing)}")
    t.done()
try:
    if os.geteuid() != 0:
        raise RuntimeError("not root")
    setup()
except (RuntimeError, OSError, subprocess.SubprocessError) as e:
    cleanup()
    t.skip("live DHCP in network namespaces", f"cannot create network namespaces: {e}")
    t.done()

dnsmasq = None
d = None
try:
    # phoneprovd runs inside NS_S: a wrapper the Daemon helper executes
    d = Daemon(extra={"dhcp_sniffer": {"interface": V_S}})
    wrapper = os.path.join(d.tmp, "phoneprovd-in-netns")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec ip netns exec {NS_S} {pphelp.PHONEPROVD} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    pphelp.PHONEPROVD = wrapper
    d.start()
    t.ok(any(e.get("interface") == V_S for e in d.log_events("dhcp.start")),
         f"phoneprovd sniffs {V_S} inside {NS_S}", d.read_log()[-2000:])

    leases = os.path.join(d.tmp, "dnsmasq.leases")
    dnsmasq = subprocess.Popen(
        ["ip", "netns", "exec", NS_S, shutil.which("dnsmasq") or "/usr/sbin/dnsmasq",
         "--no-daemon", "--conf-file=/dev/null", f"--interface={V_S}", "--bind-interfaces",
         "--except-interface=lo", "--port=0", "--user=root",
         "--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,10m",
         f"--dhcp-leasefile={leases}", f"--pid-file={os.path.join(d.tmp, 'dnsmasq.pid')}",
         "--log-dhcp"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.5)
    t.ok(dnsmasq.poll() is None, "dnsmasq serves DHCP on the server veth only",
         dnsmasq.stdout.read() if dnsmasq.poll() is not None else "")

    cl = run("ip", "netns", "exec", NS_C, "busybox", "udhcpc", "-i", V_C, "-V", VCI, "-q", "-n",
             "-f", "-t", "5", "-T", "1", "-s", "/bin/true", check=False)
    lease_ip = ""
    try:
        for line in open(leases):
            parts = line.split()
            if len(parts) >= 3 and parts[1].lower() == PHONE_MAC:
                lease_ip = parts[2]
    except OSError:
        pass
    t.ok(cl.returncode == 0 and lease_ip.startswith("192.0.2."),
         f"udhcpc got a lease ({lease_ip})", cl.stdout + cl.stderr)

    dev = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        p = d.cli("devices", "list", "--json")
        try:
            devs = {x["mac"]: x for x in json.loads(p.stdout)}
        except (ValueError, KeyError, TypeError):
            devs = {}
        dev = devs.get(PHONE_MAC)
        if dev and dev.get("ip") == lease_ip:
            break
        time.sleep(0.2)
    t.ok(dev is not None, f"phone {PHONE_MAC} appears in phoneprov devices list",
         d.read_log()[-3000:])
    dev = dev or {}
    t.ok(lease_ip and dev.get("ip") == lease_ip, f"with its leased IP {lease_ip}", json.dumps(dev)[:800])
    t.ok(dev.get("vendor") == "Yealink" and dev.get("model") == "T46S" and
         dev.get("version") == "66.86.0.15" and dev.get("plugin") == "yealink",
         "identified from option 60 as Yealink T46S 66.86.0.15 (plugin yealink)",
         json.dumps(dev)[:800])
    p = d.cli("devices", "list")
    t.ok(PHONE_MAC in p.stdout and lease_ip in p.stdout, "plain `phoneprov devices list` shows it",
         p.stdout)
    kinds = {e.get("type") for e in d.log_events("dhcp.packet") if e.get("mac") == PHONE_MAC}
    t.ok({"discover", "request", "ack"} <= kinds, "sniffer saw DISCOVER, REQUEST and ACK",
         sorted(kinds))
    t0 = time.monotonic()
    rc = d.stop()
    t.ok(rc == 0 and time.monotonic() - t0 < 3, "phoneprovd stops promptly while sniffing",
         f"rc={rc}")
except Exception as e:  # noqa: BLE001
    t.ok(False, "live test ran", repr(e) + "\n" + (d.read_log()[-3000:] if d else ""))
finally:
    if dnsmasq:
        dnsmasq.terminate()
        try:
            dnsmasq.wait(5)
        except subprocess.TimeoutExpired:
            dnsmasq.kill()
            dnsmasq.wait()
    if d:
        d.cleanup()
    cleanup()
    left = run("ip", "netns", "list", check=False).stdout
    t.ok(NS_S not in left and NS_C not in left, "namespaces removed", left)
sys.stdout.flush()
t.done()
