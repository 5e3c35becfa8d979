#!/usr/bin/python3
"""The identification engine through the real phoneprovd (issue 13), with real
clients (curl over HTTP, tftp-hpa over TFTP) and the REST API:

- an all-zero or broadcast MAC is never a device: Polycom's master file
  000000000000.cfg, Digium's common Digium/000000000000.cfg and a static file
  shaped like a per-device name are served as what they are (common or static
  file), no device 00:00:00:00:00:00 is created and the IP of a real phone is
  not rebound to it; the API refuses to create such a device;
- models are stored under the plugin's canonical name (a Linksys SPA-942 is
  SPA942, a VVX_410 is VVX410), and its per-model files follow;
- a byte of a User-Agent that is not text reaches the rules as sent (and the
  log line escapes it);
- a fact of another vendor's rule is not merged into a request a plugin has
  identified (a Cisco path rule does not give a MAC to a Polycom)."""
import json
import os
import subprocess

import pphelp
from pphelp import Daemon, TapRunner

t = TapRunner()
ZERO = "00:00:00:00:00:00"
VVX_UA = "FileTransport PolycomVVX-VVX_410-UA/5.9.5.0614 Type/Application"


def curl(url, ua=None):
    """GET with curl; returns (status, body bytes)."""
    args = ["curl", "-s", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}", url]
    if ua:
        args[1:1] = ["-A", ua]
    p = subprocess.run(args, capture_output=True, timeout=15)
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code or 0), body


def api(d, method, path, body=None):
    return d.api(method, path, body, timeout=10)


def devices(d):
    st, out = api(d, "GET", "/devices")
    return {x["mac"]: x for x in (out or {}).get("devices", [])} if st == 200 else {}


with Daemon(extra={"autoprov": True}) as d:
    base = f"http://127.0.0.1:{d.http_port}"
    # a static file shaped like Polycom's per-device <mac>-phone.cfg
    with open(os.path.join(d.root, "000000000000-phone.cfg"), "w") as f:
        f.write("static placeholder\n")

    # ---- a real phone first: it binds 127.0.0.1 to its MAC --------------------
    st, body = curl(base + "/0004f2aabbcc-phone.cfg", VVX_UA)
    devs = devices(d)
    t.ok(st == 200 and "00:04:f2:aa:bb:cc" in devs and devs["00:04:f2:aa:bb:cc"].get("ip") ==
         "127.0.0.1", "a VVX 410 asking for its <mac>-phone.cfg is created with its IP",
         f"{st} {json.dumps(devs)[:600]}")
    dev = devs.get("00:04:f2:aa:bb:cc", {})
    t.ok(dev.get("model") == "VVX410" and dev.get("plugin") == "polycom",
         "stored under the canonical model VVX410 (the User-Agent says VVX_410)",
         json.dumps(dev)[:600])

    # ---- the master file: the common file, no device ------------------------------
    st, body = curl(base + "/000000000000.cfg", VVX_UA)
    t.ok(st == 200 and b"CONFIG_FILES" in body and b"<APPLICATION" in body,
         "GET /000000000000.cfg serves Polycom's master (common) file", f"{st} {body[:300]!r}")
    devs = devices(d)
    t.ok(ZERO not in devs, "no device 00:00:00:00:00:00 after the master file",
         sorted(devs))
    t.ok(devs.get("00:04:f2:aa:bb:cc", {}).get("ip") == "127.0.0.1" and len(devs) == 1,
         "the phone keeps its IP (nothing rebound to the all-zero MAC)", json.dumps(devs)[:600])
    st, body = curl(base + "/000000000000-directory.xml", VVX_UA)
    t.ok(st == 404 and ZERO not in devices(d),
         "GET /000000000000-directory.xml: 404 (no such static file), no device", st)
    st, body = curl(base + "/000000000000-phone.cfg", VVX_UA)
    t.ok(st == 200 and body == b"static placeholder\n" and ZERO not in devices(d),
         "a static file named like a per-device file of the all-zero MAC is served as is",
         f"{st} {body[:200]!r}")
    st, body = curl(base + "/Digium/000000000000.cfg")
    t.ok(st == 200 and b"<config>" in body and b"<accounts>" not in body and
         ZERO not in devices(d),
         "GET /Digium/000000000000.cfg serves Digium's common file, no device",
         f"{st} {body[:300]!r}")
    st, body = curl(base + "/FFFFFFFFFFFF-phone.cfg", VVX_UA)
    t.ok(st == 404 and "ff:ff:ff:ff:ff:ff" not in devices(d),
         "a broadcast MAC in a file name makes no device", st)

    # ---- over TFTP --------------------------------------------------------------
    out = os.path.join(d.tmp, "master.cfg")
    p = subprocess.run(["tftp", "127.0.0.1", str(d.tftp_port), "-m", "binary", "-c", "get",
                        "000000000000.cfg", out], capture_output=True, text=True, timeout=30)
    data = open(out, "rb").read() if os.path.exists(out) else b""
    t.ok(p.returncode == 0 and b"CONFIG_FILES" in data and ZERO not in devices(d),
         "tftp-hpa gets 000000000000.cfg (the common file), no device", p.stdout + p.stderr)

    # ---- the API refuses the all-zero and broadcast MACs --------------------------
    for mac in (ZERO, "ff:ff:ff:ff:ff:ff"):
        st, out = api(d, "POST", "/devices", {"mac": mac})
        t.ok(st == 422 and (out or {}).get("field") == "mac" and mac not in devices(d),
             f"POST /devices {mac}: 422 on field mac", json.dumps(out))

    # ---- canonical models in the record -------------------------------------------
    # a Linksys SPA-942 (User-Agent documented by wazo-provd-plugins cisco-spa)
    ua = "Linksys/SPA-942-6.1.5(a) (88019FA42805)"
    st, body = curl(base + "/000e08aabbcc.xml", ua)
    dev = devices(d).get("00:0e:08:aa:bb:cc", {})
    t.ok(dev.get("model") == "SPA942" and dev.get("plugin") == "cisco-spa",
         "a Linksys SPA-942 is stored as model SPA942", f"{st} {json.dumps(dev)[:600]}")
    p = d.cli("render", "00:0e:08:aa:bb:cc", "--explain", "--json")
    t.ok(p.returncode == 0 and '"SPA942"' in p.stdout and '"SPA-942"' not in p.stdout,
         "render --explain sees the canonical model", p.stdout[-800:] + p.stderr)

    # ---- a byte that is not text in a User-Agent ------------------------------------
    # Avaya 1200 SIP software sends "AVAYA/SIP12x0<0xff>/04.01.13.00"
    # (wazo-provd-plugins wazo_avaya User-Agent examples); rules see the byte
    p = subprocess.run(["curl", "-s", "--max-time", "5", "-o", "/dev/null", "-A",
                        b"AVAYA/SIP12x0\xff/04.01.13.00", base + "/SIP002400AABBCC.cfg"],
                       capture_output=True, timeout=15)
    dev = devices(d).get("00:24:00:aa:bb:cc", {})
    t.ok(dev.get("plugin") == "avaya" and dev.get("version") == "04.01.13.00",
         "an Avaya 1200 User-Agent with its 0xff byte is identified (version 04.01.13.00)",
         json.dumps(dev)[:600])
    t.ok('ua="AVAYA/SIP12x0\\xff/04.01.13.00"' in d.read_log(),
         "the log line escapes the byte (\\xff)",
         [ln for ln in d.read_log().splitlines() if "SIP12x0" in ln][:2])

    # ---- another vendor's rule adds nothing ----------------------------------------
    # a VVX (by its User-Agent) asking for a Cisco trust-list name: the Cisco
    # rule that reads the MAC in CTLSEP<MAC>.tlv stands for Cisco, so the
    # request is Polycom without a MAC (before: a Polycom device 00:1e:4a:...)
    st, body = curl(base + "/CTLSEP001E4A345678.tlv", VVX_UA)
    t.ok("00:1e:4a:34:56:78" not in devices(d),
         "GET /CTLSEP<MAC>.tlv with a Polycom User-Agent creates no device", sorted(devices(d)))
    p = pphelp.run_cli(d.config_path, "identify", "--user-agent", VVX_UA, "--http-path",
                       "/CTLSEP001E4A345678.tlv")
    j = json.loads(p.stdout or "{}")
    t.ok(j.get("vendor") == "Polycom" and j.get("model") == "VVX410" and j.get("mac") is None,
         "identify: the Cisco rule gives no MAC to a request identified as Polycom",
         p.stdout[:900])
    p = pphelp.run_cli(d.config_path, "identify", "--http-path", "/CTLSEP001E4A345678.tlv")
    j = json.loads(p.stdout or "{}")
    t.ok(j.get("vendor") == "Cisco" and j.get("mac") == "00:1e:4a:34:56:78",
         "identify: alone, the same name is a Cisco phone's", p.stdout[:900])
t.done()
