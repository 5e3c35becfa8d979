#!/usr/bin/python3
"""Phones sharing an address (issue 15): without NAT mode, a request without
a MAC whose model contradicts the device bound to its address is another
phone, never an update (the T46S / T48S case); with `nat: true` (switched on
by SIGHUP in the same daemon) an address never finds a device, so two phones
behind one address keep their own devices and files. Bundled Yealink plugin;
distinct clients are loopback source addresses."""
import http.client
import json
import urllib.error
import urllib.request
import socket
import struct
import time

from pphelp import Daemon, TapRunner, to_yaml

t = TapRunner()
UA = "Yealink SIP-T46S 66.86.0.15"
UA48 = "Yealink SIP-T48S 66.86.0.15"


def http_get(src, path, ua=""):
    c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10, source_address=(src, 0))
    try:
        c.request("GET", "/" + path, headers={"User-Agent": ua} if ua else {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def tftp_get(src, name):
    """A whole TFTP read from src (blksize 512); (status, bytes)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(2)
    rrq = struct.pack("!H", 1) + name.encode() + b"\0octet\0"
    data, block, tries = b"", 1, 0
    try:
        s.sendto(rrq, ("127.0.0.1", d.tftp_port))
        while True:
            try:
                pkt, peer = s.recvfrom(65536)
            except socket.timeout:
                tries += 1
                if tries > 5:
                    return "timeout", data
                if block == 1:
                    s.sendto(rrq, ("127.0.0.1", d.tftp_port))  # parked: retransmit
                continue
            op, num = struct.unpack("!HH", pkt[:4])
            if op == 5:
                return "error", pkt[4:]
            if op == 3 and num == block:
                data += pkt[4:]
                s.sendto(struct.pack("!HH", 4, num), peer)
                if len(pkt) - 4 < 512:
                    return "ok", data
                block += 1
    finally:
        s.close()


def dev(mac):
    st, body = api("GET", f"/devices/{macfmt(mac) if ':' not in mac else mac}")
    return json.loads(body) if st == 200 else {}


def settle(mac, key, want, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dev(mac).get(key) == want:
            return True
        time.sleep(0.05)
    return dev(mac).get(key) == want


def api(method, path, body=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{d.api_port}/api/v1{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {d.token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def set_nat(on):
    d.cfg["nat"] = on
    with open(d.config_path, "w") as f:
        f.write(to_yaml(d.cfg))
    n = len(d.log_events("reload.done"))
    d.reload()
    deadline = time.monotonic() + 10
    while len(d.log_events("reload.done")) <= n and time.monotonic() < deadline:
        time.sleep(0.02)


A, B, C = "805ec0000a01", "805ec0000b02", "805ec0000c03"
macfmt = lambda m: ":".join(m[i:i + 2] for i in range(0, 12, 2))  # noqa: E731

d = Daemon(extra={"log_level": "info"})
try:
    d.start()
    # -- without NAT mode ------------------------------------------------------
    st, body = http_get("127.0.0.6", f"{A}.cfg", f"{UA} {macfmt(A)}")
    t.ok(st == 200 and dev(A).get("model") == "T46S" and dev(A).get("ip") == "127.0.0.6",
         "a T46S at 127.0.0.6 is provisioned and bound to its address", (st, dev(A)))
    st, data = tftp_get("127.0.0.6", "y000000000065.cfg")
    t.ok(st == "ok", "TFTP y000000000065.cfg (T48S common file) from the T46S's address is "
         "served", st)
    t.ok(dev(A).get("model") == "T46S",
         "the T46S stays a T46S (another model at its address is another phone)", dev(A))
    ev = d.log_events("device.ip_conflict")
    t.ok(len(ev) == 1 and ev[0].get("bound_model") == "T46S"
         and ev[0].get("requested_model") == "T48S" and ev[0].get("client") == "127.0.0.6",
         "logged as device.ip_conflict", ev)
    st, _ = http_get("127.0.0.6", "y000000000065.cfg", UA48)
    t.ok(st == 200 and dev(A).get("model") == "T46S", "the same over HTTP with a T48S User-Agent",
         (st, dev(A)))
    # the address still identifies the same phone when nothing contradicts it
    st, _ = http_get("127.0.0.6", "y000000000028.cfg", "Yealink SIP-T46S 66.86.0.20")
    t.ok(st == 200 and settle(A, "version", "66.86.0.20"),
         "without NAT, the bound address still re-identifies: a firmware upgrade (no MAC in "
         "the request) updates the T46S's version", dev(A))

    # -- nat: true in a config subtree ----------------------------------------
    D = "805ec0000d04"
    st, _ = http_get("127.0.0.8", f"{D}.cfg", f"{UA} {macfmt(D)}")
    s1, _ = api("POST", "/configs", {"id": "branch", "raw_config": {"nat": True}})
    s2, _ = api("POST", "/configs", {"id": "desk", "parent_ids": ["branch"], "raw_config": {}})
    s3, _ = api("PATCH", f"/devices/{macfmt(D)}", {"config": "desk"})
    t.ok(st == 200 and (s1, s2) == (201, 201) and s3 in (200, 207),
         "a T46S at 127.0.0.8 under a config whose parent says nat: true", (st, s1, s2, s3))
    http_get("127.0.0.8", "y000000000028.cfg", "Yealink SIP-T46S 66.86.0.40")
    t.ok(dev(D).get("version") == "66.86.0.15",
         "its address no longer re-identifies it (the global nat is still off)", dev(D))
    http_get("127.0.0.6", "y000000000028.cfg", "Yealink SIP-T46S 66.86.0.21")
    t.ok(settle(A, "version", "66.86.0.21"),
         "while a device outside that subtree still is", dev(A))

    # -- NAT mode ----------------------------------------------------------------
    set_nat(True)
    st, _ = http_get("127.0.0.7", f"{B}.cfg", f"{UA} {macfmt(B)}")
    st2, _ = http_get("127.0.0.7", f"{C}.cfg", f"{UA48} {macfmt(C)}")
    t.ok(st == 200 and st2 == 200 and dev(B).get("model") == "T46S"
         and dev(C).get("model") == "T48S",
         "nat: two phones behind 127.0.0.7 (a T46S and a T48S) get their own devices",
         (dev(B), dev(C)))
    t.ok(dev(B).get("ip") == "127.0.0.7" and dev(C).get("ip") == "127.0.0.7",
         "both record the shared address", (dev(B).get("ip"), dev(C).get("ip")))
    http_get("127.0.0.7", "y000000000028.cfg", "Yealink SIP-T46S 66.86.0.99")
    tftp_get("127.0.0.7", "y000000000065.cfg")
    t.ok(dev(B).get("version") == "66.86.0.15" and dev(C).get("version") == "66.86.0.15"
         and dev(B).get("model") == "T46S" and dev(C).get("model") == "T48S",
         "nat: requests without a MAC from the shared address change neither device",
         (dev(B), dev(C)))
    sb, fb = http_get("127.0.0.7", f"{B}.cfg")
    sc, fc = http_get("127.0.0.7", f"{C}.cfg")
    t.ok(sb == 200 and sc == 200 and fb != fc and b"T46S" in fb and b"T48S" in fc,
         "nat: each phone keeps its own rendered file", (sb, sc, fb[:80], fc[:80]))
    st, _ = http_get("127.0.0.6", "y000000000028.cfg", "Yealink SIP-T46S 66.86.0.30")
    t.ok(dev(A).get("version") == "66.86.0.21",
         "nat: even the address bound before is no longer used to re-identify", dev(A))
    t.ok(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
t.done()
