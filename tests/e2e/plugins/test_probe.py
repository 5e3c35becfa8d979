#!/usr/bin/python3
"""Probers (issue 15): the provisioning key (provisioning.url_key) and the
unknown-MAC ban. One daemon with a key and unknown_mac_limit 3: the key is
the first path segment of every HTTP request and is in the rendered URLs; a
wrong key counts like an unknown MAC; a prober gets at most the limit in
devices; a banned address gets nothing (static files included) but the
device bound to it; the fail2ban filter shipped in docs/fail2ban/ finds the
prober in the daemon's real log (fail2ban-regex). Clients are loopback
source addresses (127.0.0.x)."""
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess

from pphelp import Daemon, TapRunner, PHONEPROVD, SRC, to_yaml

t = TapRunner()
KEY = "k3y-" + "a1b2c3d4e5f60718"
LIMIT = 3
UA = "Yealink SIP-T46S 66.86.0.15"
macfmt = lambda m: ":".join(m[i:i + 2] for i in range(0, 12, 2))  # noqa: E731


def http_get(src, path, ua=""):
    c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10, source_address=(src, 0))
    try:
        c.request("GET", path, headers={"User-Agent": ua} if ua else {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def tftp_first(src, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(3)
    rrq = struct.pack("!H", 1) + name.encode() + b"\0octet\0"
    try:
        s.sendto(rrq, ("127.0.0.1", d.tftp_port))
        for _ in range(3):
            try:
                pkt, peer = s.recvfrom(65536)
            except socket.timeout:
                s.sendto(rrq, ("127.0.0.1", d.tftp_port))
                continue
            op = struct.unpack("!H", pkt[:2])[0]
            if op == 3:
                s.sendto(struct.pack("!HH", 5, 0) + b"done\0", peer)
                return "data", pkt[4:]
            return "error", pkt[4:]
        return "timeout", b""
    finally:
        s.close()


def devices():
    p = d.cli("devices", "list", "--json")
    out = json.loads(p.stdout) if p.returncode == 0 else []
    return out["devices"] if isinstance(out, dict) else out


d = Daemon(extra={"log_level": "info", "autoprov": True,
                  "provisioning": {"url_key": KEY},
                  "security": {"unknown_mac_limit": LIMIT, "unknown_mac_limit_per_net": 0,
                               "unknown_mac_window_s": 600, "ban_s": 600}})

# -- configuration -----------------------------------------------------------
bad = os.path.join(d.tmp, "bad.yml")
for key in ("short", "has space in it 0123", "a/b-0123456789abcdef"):
    c = dict(d.cfg)
    c["provisioning"] = {"url_key": key}
    with open(bad, "w") as f:
        f.write(to_yaml(c))
    p = subprocess.run([PHONEPROVD, "-c", bad, "--check"], capture_output=True, text=True,
                       timeout=30)
    t.ok(p.returncode == 1 and "provisioning.url_key must be 16 to 128" in p.stderr
         and bad + ":" in p.stderr, f"url_key {key!r} is a FILE:LINE:COL error", p.stderr)

try:
    d.start()
    with open(os.path.join(d.root, "static.cfg"), "wb") as f:
        f.write(b"static=1\n")
    base = f"http://127.0.0.1:{d.http_port}/{KEY}"

    # -- the key ---------------------------------------------------------------
    A = "805ec0000a11"
    st, body = http_get("127.0.0.11", f"/{KEY}/{A}.cfg", f"{UA} {macfmt(A)}")
    t.ok(st == 200 and f"static.auto_provision.server.url = {base}/".encode() in body,
         "with the key: the rendered file, whose server URL carries the key", (st, body[:300]))
    p = d.cli("render", macfmt(A), "--explain")
    t.ok(base in p.stdout and "provisioning.url_key" in p.stdout,
         "render --explain shows http_base_url with the key and where it came from",
         p.stdout[-1500:])
    st, body = http_get("127.0.0.11", f"/{KEY}/static.cfg")
    t.ok(st == 200 and body == b"static=1\n", "a static file with the key", (st, body))
    p = d.cli("dhcpd-config")
    t.ok(p.returncode == 0 and f'"http://127.0.0.1:{d.http_port}/{KEY}/"' in p.stdout,
         "dhcpd-config hands the phones a boot URL with the key", p.stdout[:1500] + p.stderr)
    acc = [e for e in d.log_events("http.request") if e.get("client") == "127.0.0.11"]
    t.ok(acc and all(KEY not in e.get("path", "") for e in acc)
         and KEY not in "".join(l for l in d.read_log().splitlines() if "http.request" in l),
         "the key never reaches the access log", acc)
    st, _ = http_get("127.0.0.11", "/static.cfg")
    st2, _ = http_get("127.0.0.11", f"/{A}.cfg", f"{UA} {macfmt(A)}")
    t.ok(st == 403 and st2 == 403, "without the key: 403, static and device files alike",
         (st, st2))
    kind, _ = tftp_first("127.0.0.11", f"{A}.cfg")
    t.ok(kind == "data", "TFTP does not take the key (docs/security.md)", kind)

    # -- a wrong key counts like an unknown MAC -------------------------------
    codes = [http_get("127.0.0.12", f"/wrong-key-{i:012d}/static.cfg")[0]
             for i in range(LIMIT + 2)]
    t.ok(codes == [403] * (LIMIT + 2), "wrong keys: 403", codes)
    bans = [e for e in d.log_events("security.ban") if e.get("client") == "127.0.0.12"]
    t.ok(len(bans) == 1 and bans[0].get("unknown_mac_requests") == str(LIMIT + 1),
         f"the {LIMIT + 1}th wrong key bans the address", bans)
    st, _ = http_get("127.0.0.12", f"/{KEY}/static.cfg")
    t.ok(st == 403, "then even the right key is refused from it", st)
    t.ok(KEY not in d.read_log(), "the key is in no log line (refusals included)",
         [l for l in d.read_log().splitlines() if KEY in l][:3])

    # -- a prober with the key: count first, create after ----------------------
    codes = []
    for i in range(LIMIT + 3):
        m = f"805ec0f0{i:04x}"
        codes.append(http_get("127.0.0.13", f"/{KEY}/{m}.cfg", f"{UA} {macfmt(m)}")[0])
    probed = [x for x in devices() if x["mac"].startswith("80:5e:c0:f0")]
    t.ok(codes == [200] * LIMIT + [403] * 3 and len(probed) == LIMIT,
         f"a prober of unknown MACs gets {LIMIT} devices created, not {LIMIT + 3}",
         (codes, len(probed)))
    st, _ = http_get("127.0.0.13", f"/{KEY}/static.cfg")
    t.ok(st == 403, "a banned address gets no static file", st)
    kind, _ = tftp_first("127.0.0.13", "static.cfg")
    t.ok(kind == "error", "nor over TFTP", kind)
    mine = f"805ec0f0{LIMIT - 1:04x}"  # the address is bound to the last device it created
    st, body = http_get("127.0.0.13", f"/{KEY}/{mine}.cfg", f"{UA} {macfmt(mine)}")
    t.ok(st == 200 and b"T46S" in body,
         "but the device bound to that address, named by the request, is still served", st)
    st, _ = http_get("127.0.0.13", f"/{KEY}/y000000000028.cfg", f"{UA}")
    t.ok(st == 403, "a common file without a MAC proves nothing: refused", st)
    st, _ = http_get("127.0.0.13", f"/{KEY}/805ec0f00000.cfg", f"{UA} {macfmt('805ec0f00000')}")
    st2, _ = http_get("127.0.0.13", f"/{KEY}/{A}.cfg", f"{UA} {macfmt(A)}")
    t.ok(st == 403 and st2 == 403,
         "other known devices (no longer or never bound to it) are refused", (st, st2))

    # -- the fail2ban-ready lines ---------------------------------------------
    sens = d.log_events("security.sensitive_file")
    t.ok(any(e.get("client") == "127.0.0.13" and e.get("known") == "0" for e in sens)
         and any(e.get("client") == "127.0.0.11" and e.get("known") == "1" for e in sens),
         "each sensitive-file request is logged with client and known=0|1", sens[:4])
    created = [e for e in d.log_events("device.created") if e.get("source") == "phone"]
    t.ok(len(created) == 1 + LIMIT and all(e.get("ip") for e in created),
         "each new device is logged with its address", created)
    f2b = shutil.which("fail2ban-regex")
    t.ok(f2b is not None, "fail2ban-regex (Debian fail2ban) is installed")
    if f2b:
        filt = os.path.join(SRC, "docs", "fail2ban", "phoneprov.conf")
        p = subprocess.run([f2b, "--print-all-matched", d.log_path, filt], capture_output=True,
                           text=True, timeout=60)
        hosts = re.findall(r"event=\S+ (?:client|mac=\S+ ip)=(127\.0\.0\.\d+)", p.stdout)
        m = re.search(r"Lines: \d+ lines, \d+ ignored, (\d+) matched", p.stdout)
        matched = int(m.group(1)) if m else -1
        bad_keys = d.log_events("security.bad_key")
        t.ok(len(bad_keys) == LIMIT + 2 + 2, "each request without the right key is logged "
             "(security.bad_key)", bad_keys)
        want = (len([e for e in sens if e.get("known") == "0"]) + len(bad_keys)
                + len(d.log_events("security.ban")) + len(created))
        t.ok(p.returncode == 0 and matched == want and want > 10,
             f"fail2ban-regex with docs/fail2ban/phoneprov.conf matches the {want} prober "
             "lines of the real log", f"matched={matched}\n" + p.stdout[-1500:] + p.stderr[-500:])
        t.ok("127.0.0.12" in hosts and "127.0.0.13" in hosts and
             not [h for h in hosts if h not in ("127.0.0.11", "127.0.0.12", "127.0.0.13")],
             "and finds the probers' addresses", sorted(set(hosts)))
        hits = re.search(r"\[(\d+)\] \{\^LN-BEG\}ts=Year", p.stdout)
        lines = re.search(r"Lines: (\d+) lines", p.stdout)
        t.ok(hits and lines and hits.group(1) == lines.group(1),
             "with the ts= time stamp of every line read by the filter's datepattern",
             p.stdout[:1200])
    t.ok(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
t.done()
