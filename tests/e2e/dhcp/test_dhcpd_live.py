#!/usr/bin/python3
"""ISC dhcpd on the configuration phoneprov generates, answering real DHCP
clients in network namespaces the test creates (needs root):

  netns S: veth vS 192.0.2.1/24, ISC dhcpd (-f -d, bound to vS only) on
           `phoneprov dhcpd-config --subnet 192.0.2.0/24 ...`
  netns C: veth vC; dhcp_client.py (scapy) sends one DISCOVER per phone
           from the phone's MAC and prints the OFFER

Each phone must get the URL of its family as option 66 (a Digium D40 by its
option 60 "digium_D40_1_4_0_0_57389", a Yealink by its MAC prefix without
option 60, a SoundPoint IP by its RFC 3925 option 60, an Aastra with the
vendor option 43 cfg-server-name), dhcpd must log the class's BOOT line
("BOOT Digium D40"), and a client that is no phone gets no offer (the pool
admits the phone classes only). All traffic stays inside the two namespaces
(192.0.2.0/24 is a documentation range). Skipped, with the reason, only when
the tools are missing or namespaces cannot be created."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from pphelp import Daemon, TapRunner

t = TapRunner()
HERE = os.path.dirname(os.path.abspath(__file__))
tag = f"{os.getpid() % 100000}"
NS_S, NS_C = f"ppisc{tag}s", f"ppisc{tag}c"
V_S, V_C = f"ppi{tag}s", f"ppi{tag}c"
URL = "http://192.0.2.1:8667"
DHCPD = shutil.which("dhcpd") or "/usr/sbin/dhcpd"


def run(*cmd, check=True, timeout=30):
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
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
    for ns, dev in ((NS_S, V_S), (NS_C, V_C)):
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", ns, "link", "set", dev, "up")


def offer(mac, vci=None, vci_hex=None):
    """One DISCOVER from mac inside NS_C; the OFFER as a dict."""
    args = ["ip", "netns", "exec", NS_C, "/usr/bin/python3", os.path.join(HERE, "dhcp_client.py"),
            V_C, mac]
    if vci is not None:
        args += ["--vci", vci]
    if vci_hex is not None:
        args += ["--vci-hex", vci_hex]
    p = run(*args, check=False, timeout=60)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"offer": False, "error": p.stdout + p.stderr}


def opt_text(o, code):
    return bytes.fromhex((o.get("options") or {}).get(str(code), "")).decode(errors="replace")


def suboptions(hexdata):
    """Option 43 as {code: bytes}."""
    b, out, i = bytes.fromhex(hexdata or ""), {}, 0
    while i + 1 < len(b):
        out[b[i]] = b[i + 2:i + 2 + b[i + 1]]
        i += 2 + b[i + 1]
    return out


missing = [x for x in ("ip",) if not shutil.which(x)]
if not os.path.exists(DHCPD):
    missing.append("dhcpd (isc-dhcp-server)")
try:
    import scapy  # noqa: F401
except ImportError:
    missing.append("scapy (python3-scapy)")
if missing:
    t.skip("ISC dhcpd in network namespaces", f"missing tools: {' '.join(missing)}")
    t.done()
try:
    if os.geteuid() != 0:
        raise RuntimeError("not root")
    setup()
except (RuntimeError, OSError, subprocess.SubprocessError) as e:
    cleanup()
    t.skip("ISC dhcpd in network namespaces", f"cannot create network namespaces: {e}")
    t.done()

dhcpd = None
tmp = tempfile.mkdtemp(prefix="ppisc-")
d = Daemon()  # its config only: dhcpd-config needs no running phoneprovd
try:
    p = d.cli("dhcpd-config", "--tftp-server", "192.0.2.1", "--http-url", URL,
              "--subnet", "192.0.2.0/24", "--range", "192.0.2.100-192.0.2.150",
              "--router", "192.0.2.1")
    conf = os.path.join(tmp, "dhcpd.conf")
    with open(conf, "w") as f:
        # site settings around the generated part (what an administrator adds)
        f.write("ddns-update-style none;\nauthoritative;\ndefault-lease-time 600;\n"
                "max-lease-time 600;\n" + p.stdout)
    t.ok(p.returncode == 0 and "BOOT Digium D40" in p.stdout,
         "phoneprov dhcpd-config --subnet writes the configuration", p.stderr)
    chk = run(DHCPD, "-t", "-cf", conf, check=False)
    t.ok(chk.returncode == 0, "dhcpd -t accepts it", chk.stderr[-1500:])
    leases = os.path.join(tmp, "dhcpd.leases")
    open(leases, "w").close()
    log = open(os.path.join(tmp, "dhcpd.log"), "w+")
    dhcpd = subprocess.Popen(["ip", "netns", "exec", NS_S, DHCPD, "-4", "-f", "-d", "-cf", conf,
                              "-lf", leases, "-pf", os.path.join(tmp, "dhcpd.pid"), V_S],
                             stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and dhcpd.poll() is None:
        log.seek(0)
        if "Sending on" in log.read():
            break
        time.sleep(0.1)
    log.seek(0)
    t.ok(dhcpd.poll() is None, f"ISC dhcpd serves {V_S} inside {NS_S}", log.read()[-2000:])

    def dhcpd_log():
        log.seek(0)
        return log.read()

    # a Digium D40 by its option 60 (MAC outside the Digium OUI: option 60 decides)
    o = offer("02:00:5e:00:40:01", vci="digium_D40_1_4_0_0_57389")
    t.ok(o.get("offer") and o.get("yiaddr", "").startswith("192.0.2.1"),
         f"Digium D40 (option 60): an offer ({o.get('yiaddr')})", json.dumps(o))
    t.ok(opt_text(o, 66) == URL + "/Digium/" and opt_text(o, 160) == URL + "/Digium/",
         "Digium D40: option 66 (and 160) is the Digium URL", json.dumps(o))
    time.sleep(0.3)
    lines = [ln for ln in dhcpd_log().splitlines() if "BOOT Digium D40" in ln]
    t.ok(any("[2:0:5e:0:40:1] BOOT Digium D40" in ln for ln in lines),
         "dhcpd logs \"[2:0:5e:0:40:1] BOOT Digium D40\"", dhcpd_log()[-2000:])
    t.ok(not any(ln.rstrip().endswith("BOOT Digium") for ln in dhcpd_log().splitlines()),
         "only the model class matched (the family class leaves digium_D40 to it)")

    # a Yealink by its MAC prefix, without option 60
    o = offer("80:5e:c0:0a:0b:0c")
    t.ok(o.get("offer") and opt_text(o, 66) == URL + "/",
         "Yealink OUI 80:5e:c0, no option 60: an offer with the Yealink URL as option 66",
         json.dumps(o))
    time.sleep(0.3)
    t.ok("[80:5e:c0:a:b:c] BOOT Yealink OUI 80:5e:c0" in dhcpd_log(),
         "dhcpd logs the OUI class's BOOT line", dhcpd_log()[-1500:])

    # a SoundPoint IP 601 by its RFC 3925 option 60 (the administrator guide's bytes)
    poly = ("0000363d6f" "0107" + b"Polycom".hex() + "0215" + b"SoundPointIP-SPIP_601".hex() +
            "0310" + b"2345-11605-001,2".hex() + "041c" + b"SIP/Tip.XXXX/08-Jun-07 10:44".hex() +
            "051d" + b"BR/3.1.0.XXXX/28-Apr-05 13:30".hex() + "ff")
    o = offer("00:04:f2:60:10:01", vci_hex=poly)
    t.ok(o.get("offer") and opt_text(o, 66) == URL + "/",
         "SoundPoint IP 601 (binary RFC 3925 option 60): an offer with the Polycom URL",
         json.dumps(o))

    # an Aastra 6731i: option 66 and the vendor option 43 (space Aastra6700)
    o = offer("00:08:5d:23:74:29", vci="AastraIPPhone6731i")
    sub = suboptions((o.get("options") or {}).get("43"))
    t.ok(o.get("offer") and opt_text(o, 66) == URL + "/Aastra" and
         sub.get(2) == (URL + "/Aastra").encode() and sub.get(3) == b"\x00",
         "Aastra 6731i: option 66 and option 43 cfg-server-name (2) / contact-rcs (3) = false",
         json.dumps(o))
    time.sleep(0.3)
    t.ok("BOOT Aastra 6731i" in dhcpd_log(), "dhcpd logs BOOT Aastra 6731i")

    # a Linksys SPA942: its class names the TFTP server in option 66
    o = offer("00:0e:08:aa:bb:cc", vci="LINKSYS SPA-942")
    t.ok(o.get("offer") and opt_text(o, 66) == "192.0.2.1",
         "Linksys SPA-942: option 66 is the TFTP server (Linksys read it as one)", json.dumps(o))

    # no phone: no class admits it to the pool
    o = offer("02:00:5e:00:99:01")
    t.ok(not o.get("offer"), "a client that is no phone (no option 60, other MAC) gets no offer",
         json.dumps(o))
    o = offer("02:00:5e:00:99:02", vci="MSFT 5.0")
    t.ok(not o.get("offer"), "nor one with another option 60 (\"MSFT 5.0\")", json.dumps(o))
    for ln in dhcpd_log().splitlines():  # the BOOT lines, for whoever reads the test log
        if " BOOT " in ln:
            print(f"# dhcpd: {ln}")
except Exception as e:  # noqa: BLE001
    t.ok(False, "live test ran", repr(e))
finally:
    if dhcpd:
        dhcpd.terminate()
        try:
            dhcpd.wait(5)
        except subprocess.TimeoutExpired:
            dhcpd.kill()
            dhcpd.wait()
    d.cleanup()
    cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
    left = run("ip", "netns", "list", check=False).stdout
    t.ok(NS_S not in left and NS_C not in left, "namespaces removed", left)
sys.stdout.flush()
t.done()
