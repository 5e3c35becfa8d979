"""The unknown-MAC ban per network (issue 19): the daemon counts sensitive
requests for unknown MACs per client address (security.unknown_mac_limit) and
per /24 (security.unknown_mac_limit_per_net), both over the same window and
banned for the same ban_s.

127.0.0.0/8 is loopback on Linux, so 127.0.1.1 .. 127.0.1.60 are distinct
client addresses of one /24: every request is sent to the daemon on 127.0.0.1
from a socket bound to such a source address (HTTP and TFTP)."""
import http.client
import json
import os
import socket
import struct
import urllib.request

from pphelp import Daemon, TapRunner, SRC

FIX = os.path.join(SRC, "tests", "e2e", "plugins", "fixtures")
t = TapRunner()

PER_IP = 3
PER_NET = 10
CFG = {"autoprov": True,
       "security": {"unknown_mac_limit": PER_IP, "unknown_mac_limit_per_net": PER_NET,
                    "unknown_mac_window_s": 600, "ban_s": 600}}


def http_get(d, src, path):
    c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10, source_address=(src, 0))
    try:
        c.request("GET", "/" + path)
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        c.close()


def tftp_first(d, src, name):
    """Sends an RRQ from src; returns ("data", bytes) or ("error", message)
    for the first answer, and aborts the transfer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(5)
    try:
        s.sendto(struct.pack("!H", 1) + name.encode() + b"\0octet\0", ("127.0.0.1", d.tftp_port))
        for _ in range(3):
            try:
                pkt, peer = s.recvfrom(65536)
            except socket.timeout:
                # parked while the device is created: the phone retransmits
                s.sendto(struct.pack("!H", 1) + name.encode() + b"\0octet\0",
                         ("127.0.0.1", d.tftp_port))
                continue
            op = struct.unpack("!H", pkt[:2])[0]
            if op == 3:
                s.sendto(struct.pack("!HH", 5, 0) + b"done\0", peer)
                return "data", pkt[4:]
            if op == 5:
                return "error", pkt[4:].rstrip(b"\0").decode(errors="replace")
            return "other", pkt
        return "timeout", b""
    finally:
        s.close()


def api_devices(d):
    req = urllib.request.Request(f"http://127.0.0.1:{d.api_port}/api/v1/devices?limit=10000",
                                 headers={"Authorization": f"Bearer {d.token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read().decode())["devices"]


def mac_file(n):
    return f"acme/0004f2{n:06x}.cfg"


def mac_of(n):
    h = f"0004f2{n:06x}"
    return ":".join(h[i:i + 2] for i in range(0, 12, 2))


def bans(d):
    return [e for e in d.log_events() if e.get("event") == "security.ban"]


with Daemon(plugins_dir=FIX, extra=CFG) as d:
    # a device known before the prober comes, bound to an address of its /24
    r = d.cli("devices", "add", mac_of(0xa00001), "--ip", "127.0.1.200", "--plugin", "acme")
    t.ok(r.returncode == 0, "known device at 127.0.1.200 added", r.stderr)

    # ---- a prober spreading over 60 addresses of 127.0.1.0/24 ------------
    codes = []
    n = 0x100000
    for i in range(1, 61):
        for _ in range(2):
            n += 1
            codes.append(http_get(d, f"127.0.1.{i}", mac_file(n))[0])
    ok200 = codes.count(200)
    t.ok(ok200 == PER_NET, f"60 addresses x 2 unknown MACs over one /24: {PER_NET} served "
         f"(per-net limit), the rest refused", f"200s={ok200} codes={codes}")
    t.ok(codes[:PER_NET] == [200] * PER_NET and set(codes[PER_NET:]) == {403},
         "refusals are 403 (banned), from the request over the limit on", codes)
    probed = [x for x in api_devices(d) if x["mac"].startswith("00:04:f2:1")]
    t.ok(len(probed) == PER_NET, f"devices created by the prober: {PER_NET} (not 120)",
         len(probed))
    ev = [e for e in bans(d) if e.get("scope") == "net"]
    t.ok(len(ev) == 1 and ev[0].get("net") == "127.0.1.0/24" and
         ev[0].get("unknown_mac_requests") == str(PER_NET + 1) and
         ev[0].get("limit") == str(PER_NET),
         "one security.ban scope=net net=127.0.1.0/24 logged", ev)
    t.ok(not [e for e in bans(d) if e.get("scope") == "ip"],
         "no per-address ban: every address stayed under its own limit", bans(d))

    # the banned /24 gets what a banned address gets
    code, _ = http_get(d, "127.0.1.61", mac_file(0x1fffff))
    t.ok(code == 403, "a fresh address of the banned /24: unknown MAC refused", code)
    code, _ = http_get(d, "127.0.1.62", "acme/common.cfg")
    t.ok(code == 403, "a fresh address of the banned /24: common file refused too", code)
    kind, what = tftp_first(d, "127.0.1.63", mac_file(0x1ffffe))
    t.ok(kind == "error", "tftp from the banned /24 refused", (kind, what))
    code, body = http_get(d, "127.0.1.200", mac_file(0xa00001))
    t.ok(code == 200 and mac_of(0xa00001) in body,
         "the known device at its own address in the banned /24 is still served", code)

    # ---- another /24 is not affected ---------------------------------------
    res = [http_get(d, f"127.0.2.{i}", mac_file(0x200000 + i))[0] for i in range(1, 6)]
    kind, what = tftp_first(d, "127.0.2.6", mac_file(0x200006))
    t.ok(res == [200] * 5 and kind == "data",
         "127.0.2.0/24: new phones served over HTTP and TFTP", (res, kind, what))
    mine = [x for x in api_devices(d) if x["mac"].startswith("00:04:f2:20")]
    t.ok(len(mine) == 6, "127.0.2.0/24: 6 devices created", len(mine))

    # ---- the per-address limit still works ---------------------------------
    res = [http_get(d, "127.0.3.1", mac_file(0x300000 + i))[0] for i in range(1, PER_IP + 3)]
    t.ok(res == [200] * PER_IP + [403, 403],
         f"one address: {PER_IP} unknown MACs served, then banned", res)
    ev = [e for e in bans(d) if e.get("scope") == "ip"]
    t.ok(len(ev) == 1 and ev[0].get("client") == "127.0.3.1" and
         ev[0].get("unknown_mac_requests") == str(PER_IP + 1),
         "security.ban scope=ip client=127.0.3.1 logged", ev)
    code, _ = http_get(d, "127.0.3.2", mac_file(0x3000ff))
    t.ok(code == 200, "a neighbour of the banned address (same /24, under its limit) served",
         code)

# ---- per-net off (0): only the per-address limit counts ------------------
off = {"autoprov": True,
       "security": {"unknown_mac_limit": PER_IP, "unknown_mac_limit_per_net": 0,
                    "unknown_mac_window_s": 600, "ban_s": 600}}
with Daemon(plugins_dir=FIX, extra=off) as d:
    codes = [http_get(d, f"127.0.4.{i}", mac_file(0x400000 + i))[0] for i in range(1, 31)]
    t.ok(codes == [200] * 30, "unknown_mac_limit_per_net: 0 counts no network", codes)
    t.ok(not bans(d), "no ban logged", bans(d))

t.done()
