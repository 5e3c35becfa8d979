#!/usr/bin/python3
"""Hostile file names sent raw (real clients mangle them): every one refused
with an error, never a DATA packet, and the secret outside the root never
leaves the server. Symlinks inside the root that point out are refused too."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pphelp import Daemon, TapRunner  # noqa: E402
import rawtftp as R  # noqa: E402

t = TapRunner()

with Daemon() as d:
    P = d.tftp_port
    secret = b"TOPSECRET-" + os.urandom(8).hex().encode()
    spath = os.path.join(d.tmp, "secret.txt")
    with open(spath, "wb") as f:
        f.write(secret)
    os.makedirs(os.path.join(d.tmp, "outside"), exist_ok=True)
    with open(os.path.join(d.tmp, "outside", "s.cfg"), "wb") as f:
        f.write(secret)
    root = d.root
    os.makedirs(os.path.join(root, "sub", "deep"), exist_ok=True)
    with open(os.path.join(root, "ok.cfg"), "wb") as f:
        f.write(b"fine\n")
    with open(os.path.join(root, "sub", "in.cfg"), "wb") as f:
        f.write(b"inside\n")
    os.symlink("../secret.txt", os.path.join(root, "link_rel"))
    os.symlink(spath, os.path.join(root, "link_abs"))
    os.symlink(os.path.join(d.tmp, "outside"), os.path.join(root, "dirlink"))
    os.symlink("../../../secret.txt", os.path.join(root, "sub", "deep", "up"))
    os.symlink("/etc/passwd", os.path.join(root, "passwd"))
    os.symlink("/proc/self/environ", os.path.join(root, "env"))
    os.symlink("ok.cfg", os.path.join(root, "good_link"))  # stays inside: allowed
    os.symlink("link_rel", os.path.join(root, "chain"))
    os.mkfifo(os.path.join(root, "fifo"))

    rel_secret = os.path.relpath(spath, root)
    cases = [
        "../secret.txt", "/../secret.txt", "..", "../", "/..", "./../secret.txt",
        "sub/../../secret.txt", "sub/../..", "sub/deep/../../../secret.txt", "a/b/../../../secret.txt",
        "..//secret.txt", "//../secret.txt", "../" * 20 + "etc/passwd", "/" + rel_secret,
        rel_secret, spath, "/" + spath, "..\\secret.txt", "sub\\..\\..\\secret.txt",
        "\\..\\secret.txt", "ok.cfg/../../secret.txt", "./ok.cfg", "sub/./in.cfg", ".",
        "link_rel", "link_abs", "dirlink/s.cfg", "/dirlink/s.cfg", "sub/deep/up", "passwd",
        "env", "chain", "fifo", "sub", "/", "", "ok.cfg\x01", "\x1b[31mok.cfg", "ok\ncfg",
        "ok\rcfg", "ok\tcfg", "\x7fok.cfg", "a" * 2000, "x/" * 600, "b" * 300 + "/c",
        "%2e%2e/secret.txt", "..%2fsecret.txt", "..%c0%afsecret.txt", "\xc0\xae\xc0\xae/secret.txt",
        "/proc/self/environ", "/etc/shadow", "~/secret.txt", "...", ".../secret.txt",
        "sub/..", "sub/deep/..", "dirlink/../secret.txt", "link_rel/", "link_abs/", "dirlink/",
    ]
    # a name with an embedded NUL: the packet's first string ends at the NUL
    raw_cases = [
        b"\x00\x01ok.cfg\x00../secret.txt\x00octet\x00",
        b"\x00\x01../secret.txt\x00\x00octet\x00",
        b"\x00\x01link_rel\x00octet",
    ]
    t.ok(len(cases) + len(raw_cases) >= 40, f"{len(cases) + len(raw_cases)} hostile cases")

    leaked = []
    for name in cases:
        for mode in ("octet", "netascii"):
            c = R.Client(P, timeout=2)
            c.sock.sendto(R.rrq(name, mode=mode, options={"tsize": 0, "blksize": 1428}), c.addr)
            pk = []
            try:
                while True:
                    op, f, frm, raw = c.recv()
                    pk.append((op, f, raw))
                    if op != R.ERROR:
                        c.sock.sendto(R.error(0, "stop"), frm)
                    break
            except socket.timeout:
                pass
            c.close()
            if any(secret in raw or b"root:" in raw for _, _, raw in pk):
                leaked.append(name)
            if mode == "octet":
                good = len(pk) == 1 and pk[0][0] == R.ERROR and pk[0][1][0] in (1, 2, 4)
                t.ok(good, f"refused: {name[:60]!r}", str([(o, f) for o, f, _ in pk])[:300])
    for raw in raw_cases:
        c = R.Client(P, timeout=2)
        c.sock.sendto(raw, c.addr)
        try:
            op, f, frm, data = c.recv()
        except socket.timeout:
            op, f, data = None, None, b""
        c.close()
        if secret in data:
            leaked.append(raw)
        t.ok(op == R.ERROR and f[0] in (1, 2, 4), f"refused raw: {raw!r}", str((op, f)))
    t.ok(not leaked, "the secret's bytes never arrived", str(leaked))

    r = R.get(P, "good_link")
    t.ok(r.ok and r.data == b"fine\n", "a symlink staying inside the root is served", str(r.error))
    r = R.get(P, "/sub/in.cfg")
    t.ok(r.ok and r.data == b"inside\n", "leading / is relative to the root", str(r.error))
    r = R.get(P, "sub//in.cfg")
    t.ok(r.ok and r.data == b"inside\n", "// collapsed", str(r.error))

    ev = d.log_events("tftp.refused")
    reasons = {e.get("reason") for e in ev}
    t.ok(len(ev) >= 40 and all(e.get("reason") and e.get("code") for e in ev),
         "every refusal logged as tftp.refused with a reason and code", f"{len(ev)} {reasons}")
    t.ok(not [e for e in d.log_events("tftp.done") if "secret" in e.get("file", "")],
         "no transfer of the secret was ever started")
    R.check_clean_exit(t, d)
t.done()
