#!/usr/bin/python3
"""DHCP integration: `phoneprov import-pcap` and phoneprovd replaying a capture
(dhcp_sniffer.pcap_file) over the committed captures (gen_captures.py +
manifest.json): devices appear with the right vendor/model/version/plugin/ip,
malformed packets are counted and harmless. Also the generated dhcpd
configuration, checked by the real `dhcpd -t` and `kea-dhcp4 -t`."""
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.request

from pphelp import Daemon, TapRunner, SRC

CAPS = os.path.join(SRC, "tests", "e2e", "dhcp", "captures")
t = TapRunner()
manifest = json.load(open(os.path.join(CAPS, "manifest.json")))


def counts(cap):
    c = {"ok": 0, "malformed": 0, "not_dhcp": 0}
    for p in cap["packets"]:
        c[p["rc"]] += 1
    return c


def devices(d):
    p = d.cli("devices", "list", "--json")
    if p.returncode != 0:
        return {}, p.stderr
    try:
        return {x["mac"]: x for x in json.loads(p.stdout)}, ""
    except (ValueError, KeyError, TypeError) as e:
        return {}, f"{e}: {p.stdout[:500]}"


def check_devices(d, label, want_macs):
    got, err = devices(d)
    for mac in sorted(want_macs):
        want = manifest["devices"][mac]
        dev = got.get(mac)
        if dev is None:
            t.ok(False, f"{label}: device {mac} ({want['vendor']}) exists", err or sorted(got))
            continue
        bad = {k: (dev.get(k), v) for k, v in want.items() if dev.get(k) != v}
        t.ok(not bad, f"{label}: {mac} is {want.get('vendor')} {want.get('model', '')} "
             f"{want.get('version', '')} plugin={want['plugin']} ip={want.get('ip', '')}",
             json.dumps(bad))
        if want.get("ip"):
            # the ACK that bound the IP carries no option 60: the option 60
            # an earlier packet of this phone gave must still be there
            facts = dev.get("dhcp") or {}
            t.ok(bool(facts.get("vendor_class")),
                 f"{label}: {mac} keeps its option 60 after the ACK", json.dumps(facts))
    # malformed packets never create devices (their MACs are 02:00:00:00:0b:xx)
    junk = [m for m in got if m.startswith("02:00:00:00:0b:")]
    t.ok(not junk, f"{label}: no device from a malformed packet", junk)


def metrics(d):
    req = urllib.request.Request(f"http://127.0.0.1:{d.api_port}/api/v1/metrics",
                                 headers={"Authorization": f"Bearer {d.token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        out = {}
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.partition(" ")
                out[k] = v
        return out


def merge_pcaps(out, names):
    """Concatenate classic pcaps of the same link type (Ethernet)."""
    with open(out, "wb") as f:
        for i, n in enumerate(names):
            data = open(os.path.join(CAPS, n), "rb").read()
            f.write(data if i == 0 else data[24:])


# ---- import-pcap -------------------------------------------------------------
with Daemon() as d:
    expect_macs = set()
    for cap in manifest["captures"]:
        c = counts(cap)
        p = d.cli("import-pcap", os.path.join(CAPS, cap["file"]), "--json")
        try:
            r = json.loads(p.stdout)
        except ValueError:
            r = {}
        t.ok(p.returncode == 0 and r.get("packets") == len(cap["packets"]) and
             r.get("dhcp") == c["ok"] and r.get("malformed") == c["malformed"] and
             r.get("not_dhcp") == c["not_dhcp"],
             f"import-pcap {cap['file']}: {len(cap['packets'])} packets, {c['ok']} DHCP, "
             f"{c['malformed']} malformed, {c['not_dhcp']} other",
             f"rc={p.returncode} {p.stdout} {p.stderr}")
        for pk in cap["packets"]:
            mac = pk["facts"].get("mac")
            if pk["rc"] == "ok" and mac in manifest["devices"]:
                expect_macs.add(mac)
        if cap["file"] == "vendors.pcap":
            t.ok(r.get("devices", 0) >= len([m for m in r.get("macs", [])
                                              if m in manifest["devices"]]) > 0,
                 "import-pcap reports the devices it touched", p.stdout)
    check_devices(d, "import-pcap", expect_macs)
    t.ok(d.proc.poll() is None, "daemon alive while the CLI imported captures")
    # human output and errors
    p = d.cli("import-pcap", os.path.join(CAPS, "malformed.pcap"))
    t.ok(p.returncode == 0 and "31 malformed" in p.stdout, "import-pcap text output counts",
         p.stdout + p.stderr)
    p = d.cli("import-pcap", os.path.join(d.tmp, "missing.pcap"))
    t.ok(p.returncode == 1 and "missing.pcap" in p.stderr, "import-pcap: missing file is an error",
         p.stderr)
    junk = os.path.join(d.tmp, "junk.pcap")
    open(junk, "wb").write(b"not a capture at all\n" * 5)
    p = d.cli("import-pcap", junk)
    t.ok(p.returncode == 1 and p.stderr.strip(), "import-pcap: garbage file is a clear error",
         p.stderr)
    trunc = os.path.join(d.tmp, "trunc.pcap")
    data = open(os.path.join(CAPS, "vendors.pcap"), "rb").read()
    open(trunc, "wb").write(data[:len(data) // 2])
    p = d.cli("import-pcap", trunc, "--json")
    t.ok(p.returncode == 1 and "packets" in p.stdout, "import-pcap: truncated capture: counts "
         "what it read, exits 1", p.stdout + p.stderr)
    p = d.cli("import-pcap")
    t.ok(p.returncode == 2, "import-pcap without FILE: usage error", p.stderr)

# ---- phoneprovd replaying a capture (the sniffer thread, offline) -------------
tmp = tempfile.mkdtemp(prefix="ppdhcp-")
try:
    merged = os.path.join(tmp, "all.pcap")
    names = ["vendors.pcap", "vlan.pcap", "edge.pcap", "malformed.pcap"]
    merge_pcaps(merged, names)
    caps = {c["file"]: c for c in manifest["captures"]}
    n_pk = sum(len(caps[n]["packets"]) for n in names)
    n_bad = sum(counts(caps[n])["malformed"] for n in names)
    macs = {p["facts"]["mac"] for n in names for p in caps[n]["packets"]
            if p["rc"] == "ok" and p["facts"].get("mac") in manifest["devices"]}
    with Daemon(extra={"dhcp_sniffer": {"pcap_file": merged}}) as d:
        deadline = time.monotonic() + 20
        done = []
        while time.monotonic() < deadline and not done:
            done = d.log_events("dhcp.replay_done")
            time.sleep(0.1)
        t.ok(bool(done) and int(done[0].get("packets", -1)) == n_pk and
             int(done[0].get("malformed", -1)) == n_bad,
             f"sniffer replay: {n_pk} packets, {n_bad} malformed (log dhcp.replay_done)",
             done or d.read_log()[-3000:])
        pk = d.log_events("dhcp.packet")
        t.ok(any(e.get("vci") == "yealink SIP-T46S 66.86.0.15" and e.get("mac") == "80:5e:c0:a1:b2:c3"
                 for e in pk), "debug log event=dhcp.packet with mac and vci", pk[:3])
        # option 60 as sent, escaped in the log line: the NUL a Cisco 7940 ends
        # it with, the binary RFC 3925 vendor class of a SoundPoint IP 601
        log = d.read_log()
        t.ok('vci="Cisco Systems, Inc. IP Phone CP-7940G\\x00"' in log,
             "log: a NUL-terminated option 60 is written with its NUL escaped",
             [ln for ln in log.splitlines() if "CP-7940G" in ln][:2])
        t.ok('vci="\\x00\\x006=o\\x01\\x07Polycom\\x02\\x15SoundPointIP-SPIP_601' in log,
             "log: a binary option 60 is written with \\xNN escapes (no '?')",
             [ln for ln in log.splitlines() if "SPIP_601" in ln][:2])
        got, _ = devices(d)
        t.ok((got.get("00:1e:4a:34:56:78", {}).get("dhcp") or {}).get("vendor_class") ==
             "Cisco Systems, Inc. IP Phone CP-7940G" and
             (got.get("00:04:f2:60:10:01", {}).get("dhcp") or {}).get("vendor_class", "")
             .startswith("\\x00\\x006=o\\x01\\x07Polycom"),
             "the device record keeps option 60 as text (terminator dropped, bytes escaped)",
             json.dumps({m: (got.get(m) or {}).get("dhcp") for m in
                         ("00:1e:4a:34:56:78", "00:04:f2:60:10:01")})[:800])
        t.ok("00:00:00:00:00:00" not in got and "ff:ff:ff:ff:ff:ff" not in got,
             "no device for an all-zero or broadcast chaddr", sorted(got))
        m = metrics(d)
        t.ok(m.get("phoneprov_dhcp_packets_total") == str(n_pk) and
             m.get("phoneprov_dhcp_malformed_total") == str(n_bad),
             "GET /metrics counts DHCP packets and malformed ones",
             {k: v for k, v in m.items() if "dhcp" in k})
        check_devices(d, "sniffer", macs)
        with urllib.request.urlopen(f"http://127.0.0.1:{d.api_port}/api/v1/health", timeout=5) as r:
            t.ok(r.status == 200 and d.proc.poll() is None, "daemon alive after malformed packets")
        t0 = time.monotonic()
        rc = d.stop()
        t.ok(rc == 0 and time.monotonic() - t0 < 3, "clean, prompt stop", f"rc={rc}")

    # a capture that cannot be opened: clear startup error, not READY
    bad = Daemon(extra={"dhcp_sniffer": {"pcap_file": os.path.join(tmp, "nope.pcap")}},
                 ready_timeout=5)
    try:
        bad.start()
        t.ok(False, "missing pcap_file refuses to start")
    except RuntimeError as e:
        t.ok("nope.pcap" in str(e), "missing pcap_file: clear error before READY", str(e)[-500:])
    finally:
        bad.cleanup()

    # ---- dhcpd-config ------------------------------------------------------------
    with Daemon() as d:
        isc = d.cli("dhcpd-config", "--tftp-server", "192.0.2.1", "--http-url",
                    "http://192.0.2.1:8667")
        isc2 = d.cli("dhcpd-config", "--tftp-server", "192.0.2.1", "--http-url",
                     "http://192.0.2.1:8667")
        t.ok(isc.returncode == 0 and isc.stdout == isc2.stdout, "dhcpd-config: deterministic",
             isc.stderr)
        # what the plugins declare (plugin.yml through `phoneprov plugins --json`)
        metas = {p["name"]: p["meta"] for p in json.loads(d.cli("--json", "plugins").stdout)}
        declared = []
        for name in sorted(metas):
            dh = metas[name].get("dhcp") or []
            for c in (dh.get("classes", []) if isinstance(dh, dict) else dh):
                declared.append((name, c))
        vci_decl = [c["name"] for _, c in declared if "ouis" not in c]
        oui_decl = [(c["name"], o.lower()) for _, c in declared for o in c.get("ouis", [])]
        classes = [ln.split('"')[1] for ln in isc.stdout.splitlines()
                   if ln.lstrip().startswith("class ")]
        t.ok(classes[:1] == ["phoneprov-oui"] and classes[1:] == vci_decl,
             f"a class per option-60 class, in plugin order ({len(vci_decl)} classes, "
             f"{len(metas)} plugins), after the OUI spawning class", classes[:5])
        subs = [ln.split()[2] for ln in isc.stdout.splitlines() if ln.startswith("subclass ")]
        t.ok(subs == ["1:" + o for _, o in oui_decl],
             f"a subclass per MAC prefix ({len(subs)} OUIs)", subs[:5])
        models = [c for _, c in declared if c.get("model")]
        t.ok(len(models) >= 100 and all(f'] BOOT {metas[n]["vendor"]} {c["model"]}"' in isc.stdout
                                        for n, c in declared if c.get("model")),
             f"{len(models)} model classes log \"[<mac>] BOOT <Vendor> <Model>\"")
        d40 = isc.stdout.split('class "digium-d40" {', 1)[-1].split("}", 1)[0]
        t.ok('match if substring(option vendor-class-identifier, 0, 10) = "digium_D40";' in d40 and
             'log(info, concat("[", binary-to-ascii(16, 8, ":", substring(hardware, 1, 6)), '
             '"] BOOT Digium D40"));' in d40,
             "digium-d40: matches the 10-byte prefix digium_D40 and logs BOOT Digium D40", d40)
        fam = isc.stdout.split('class "digium" {', 1)[-1].split("}", 1)[0]
        t.ok('= "digium"' in fam and 'and not (' in fam and '"digium_D40"' in fam,
             "the family class digium leaves the model prefixes to their classes", fam)
        grp = isc.stdout.split("# plugin digium (Digium)\ngroup {", 1)[-1].split("class", 1)[0]
        t.ok('option tftp-server-name "http://192.0.2.1:8667/Digium/";' in grp,
             "the Digium group sets option 66 for the whole family", grp)
        t.ok('match if substring(option vendor-class-identifier, 0, 7) = "yealink";' in isc.stdout
             and 'option tftp-server-name "http://192.0.2.1:8667/";' in isc.stdout,
             "yealink class matches the option-60 prefix and gives the URL", isc.stdout[:1500])
        oui = isc.stdout.split('subclass "phoneprov-oui" 1:80:5e:c0 {', 1)[-1].split("\n}", 1)[0]
        t.ok("if not exists vendor-class-identifier {" in oui and
             'option tftp-server-name "http://192.0.2.1:8667/";' in oui and
             "BOOT Yealink OUI 80:5e:c0" in oui,
             "Yealink OUI 80:5e:c0: the URL for a phone without option 60", oui)
        lk = isc.stdout.split('subclass "phoneprov-oui" 1:00:0e:08 {', 1)[-1].split("\n}", 1)[0]
        t.ok('option tftp-server-name "192.0.2.1";' in lk and "BOOT Cisco OUI 00:0e:08" in lk,
             "Linksys OUI 00:0e:08 (cisco-spa): option 66 names the TFTP server", lk)
        t.ok("option space Aastra6700;" in isc.stdout and
             "option Aastra6700.cfg-server-name code 2 = text;" in isc.stdout and
             'option Aastra6700.cfg-server-name "http://192.0.2.1:8667/Aastra";' in isc.stdout and
             "vendor-option-space Aastra6700;" in isc.stdout,
             "Aastra: the vendor option space and cfg-server-name in the family's group")
        t.ok("= 00:00:36:3d;" in isc.stdout, "Polycom RFC 3925 class: a hex prefix (00:00:36:3d)")
        conf = os.path.join(tmp, "dhcpd.conf")
        allow = [line.lstrip("#").strip() for line in isc.stdout.splitlines()
                 if "allow members of" in line]
        with open(conf, "w") as f:
            f.write("ddns-update-style none;\nauthoritative;\ndefault-lease-time 600;\n")
            f.write(isc.stdout)
            f.write("subnet 192.0.2.0 netmask 255.255.255.0 {\n  pool {\n")
            f.write("".join(f"    {a}\n" for a in allow))
            f.write("    range 192.0.2.100 192.0.2.199;\n  }\n}\n")
        dhcpd = shutil.which("dhcpd") or "/usr/sbin/dhcpd"
        if os.path.exists(dhcpd):
            p = subprocess.run([dhcpd, "-t", "-cf", conf], capture_output=True, text=True)
            t.ok(p.returncode == 0, "ISC classes + pool snippet pass dhcpd -t", p.stderr[-2000:])
            sub = d.cli("dhcpd-config", "--subnet", "192.0.2.0/24", "--range",
                        "192.0.2.50-192.0.2.99", "--router", "192.0.2.1")
            conf2 = os.path.join(tmp, "dhcpd-subnet.conf")
            open(conf2, "w").write(sub.stdout)
            p = subprocess.run([dhcpd, "-t", "-cf", conf2], capture_output=True, text=True)
            t.ok(sub.returncode == 0 and p.returncode == 0 and
                 "range 192.0.2.50 192.0.2.99;" in sub.stdout,
                 "dhcpd-config --subnet output is a complete config for dhcpd -t",
                 sub.stderr + p.stderr[-2000:])
            open(conf2, "w").write(sub.stdout.replace("match if", "match iff", 1))
            p = subprocess.run([dhcpd, "-t", "-cf", conf2], capture_output=True, text=True)
            t.ok(p.returncode != 0, "dhcpd -t does reject a broken class (the check can fail)")
        else:
            t.skip("dhcpd -t", "isc-dhcp-server not installed")
        kea = shutil.which("kea-dhcp4") or "/usr/sbin/kea-dhcp4"
        k = d.cli("dhcpd-config", "--format", "kea", "--tftp-server", "192.0.2.1")
        try:
            kj = json.loads(k.stdout)
            names = [c["name"] for c in kj["Dhcp4"]["client-classes"]]
        except (ValueError, KeyError):
            kj, names = {}, []
        kvci = [c["name"] for c in kj.get("Dhcp4", {}).get("client-classes", [])
                if not c["test"].startswith("not option[60].exists")]
        koui = [c for c in kj.get("Dhcp4", {}).get("client-classes", [])
                if c["test"].startswith("not option[60].exists")]
        t.ok(kvci[:-1] == classes[1:] and names[-1:] == ["phoneprov-phones"] and
             len(koui) == len({n for n, _ in oui_decl}),
             "kea client-classes: the same option-60 classes, one class per OUI class", names)
        ky = [c for c in koui if c["name"] == "yealink-oui"]
        t.ok(ky and "substring(pkt4.mac,0,3) == 0x805ec0" in ky[0]["test"] and
             any(o["name"] == "tftp-server-name" and o.get("data", "").startswith("http://")
                 for o in ky[0]["option-data"]),
             "kea: the Yealink OUI class tests pkt4.mac and gives the URL", ky)
        y = [c for c in kj.get("Dhcp4", {}).get("client-classes", []) if c["name"] == "yealink"]
        t.ok(y and y[0]["test"] == "substring(option[60].hex,0,7) == 'yealink'",
             "kea test expression on option 60", y)
        if os.path.exists(kea):
            full = {"Dhcp4": dict(kj["Dhcp4"], **{
                "interfaces-config": {"interfaces": []},
                "lease-database": {"type": "memfile", "persist": False},
                "valid-lifetime": 600,
                "subnet4": [{"id": 1, "subnet": "192.0.2.0/24",
                             "pools": [{"pool": "192.0.2.100 - 192.0.2.199",
                                        "client-class": "phoneprov-phones"}]}]})}
            kf = os.path.join(tmp, "kea.json")
            json.dump(full, open(kf, "w"))
            p = subprocess.run([kea, "-t", kf], capture_output=True, text=True)
            t.ok(p.returncode == 0, "kea client-classes embedded in a full Dhcp4 config pass "
                 "kea-dhcp4 -t", (p.stdout + p.stderr)[-2000:])
            ks = d.cli("dhcpd-config", "--format", "kea", "--subnet", "192.0.2.0/24",
                       "--router", "192.0.2.1")
            open(kf, "w").write(ks.stdout)
            p = subprocess.run([kea, "-t", kf], capture_output=True, text=True)
            t.ok(ks.returncode == 0 and p.returncode == 0,
                 "dhcpd-config --format kea --subnet passes kea-dhcp4 -t",
                 (ks.stderr + p.stdout + p.stderr)[-2000:])
            bad = json.loads(ks.stdout)
            bad["Dhcp4"]["client-classes"][0]["test"] = "substring(option[60].hex,0,7) =="
            json.dump(bad, open(kf, "w"))
            p = subprocess.run([kea, "-t", kf], capture_output=True, text=True)
            t.ok(p.returncode != 0, "kea-dhcp4 -t does reject a broken test expression")
        else:
            t.skip("kea-dhcp4 -t", "kea-dhcp4 not installed")
        for args, why in ((["--format", "bind"], "unknown format"),
                          (["--subnet", "192.0.2.0/33"], "bad prefix"),
                          (["--subnet", "192.0.2.1/24"], "host bits"),
                          (["--subnet", "192.0.2.0/24", "--range", "192.0.3.1-192.0.3.9"],
                           "range outside"),
                          (["--tftp-server", "example.org"], "tftp server not IPv4"),
                          (["--http-url", "ftp://x"], "bad URL"),
                          (["--router", "192.0.2.1"], "router without subnet")):
            p = d.cli("dhcpd-config", *args)
            t.ok(p.returncode in (1, 2) and p.stderr.strip() and not p.stdout,
                 f"dhcpd-config rejects {why}", p.stdout[:200] + p.stderr)
        # the API serves the same document
        req = urllib.request.Request(f"http://127.0.0.1:{d.api_port}/api/v1/dhcpd.conf",
                                     headers={"Authorization": f"Bearer {d.token}"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                body = r.read().decode()
        except Exception as e:  # noqa: BLE001
            body = str(e)
        t.ok(body == d.cli("dhcpd-config").stdout, "GET /api/v1/dhcpd.conf = phoneprov dhcpd-config",
             body[:300])
finally:
    shutil.rmtree(tmp, ignore_errors=True)

t.done()
