#!/usr/bin/python3
"""200 concurrent transfers: 200 raw clients (each its own socket, like 200
phones booting) driven by one selector loop, plus 40 real tftp-hpa/curl
processes at the same time; every file byte-for-byte."""
import hashlib
import os
import selectors
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pphelp import Daemon, TapRunner  # noqa: E402
import rawtftp as R  # noqa: E402

t = TapRunner()
N = 200


class Phone:
    def __init__(self, port, name, sel, blksize):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.setblocking(False)
        self.name = name
        self.buf = bytearray()
        self.expect = 1
        self.done = False
        self.err = None
        self.blksize = blksize
        self.last_rx = time.monotonic()
        opts = {"blksize": blksize} if blksize != 512 else None
        self.s.sendto(R.rrq(name, options=opts), ("127.0.0.1", port))
        sel.register(self.s, selectors.EVENT_READ, self)

    def on_read(self):
        while True:
            try:
                pkt, frm = self.s.recvfrom(70000)
            except BlockingIOError:
                return
            self.last_rx = time.monotonic()
            op, f = R.parse(pkt)
            if op == R.OACK:
                self.s.sendto(R.ack(0), frm)
            elif op == R.DATA:
                blk, payload = f
                if blk == self.expect & 0xFFFF:
                    self.buf += payload
                    self.expect += 1
                self.s.sendto(R.ack(blk), frm)
                if len(payload) < self.blksize and blk == (self.expect - 1) & 0xFFFF:
                    self.done = True
            else:
                self.err = f
                self.done = True
            if self.done:
                return


# 240 transfers from 127.0.0.1 at once: above the per-client default (4)
with Daemon(extra={"log_level": "info", "tftp": {"max_per_client": 1000}}) as d:
    P = d.tftp_port
    files = {}
    for i in range(10):
        data = os.urandom(3000 + i * 7919)
        files[f"phone{i}.cfg"] = data
        with open(os.path.join(d.root, f"phone{i}.cfg"), "wb") as f:
            f.write(data)

    procs = []
    outdir = os.path.join(d.tmp, "out")
    os.makedirs(outdir)
    for i in range(40):
        name = f"phone{i % 10}.cfg"
        dst = os.path.join(outdir, f"p{i}")
        if i % 2:
            cmd = ["tftp", "127.0.0.1", str(P), "-m", "binary", "-c", "get", name, dst]
        else:
            cmd = ["curl", "-sS", "-o", dst, f"tftp://127.0.0.1:{P}/{name}"]
        procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
                      name, dst))

    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    phones = [Phone(P, f"phone{i % 10}.cfg", sel, (512, 1024, 1428)[i % 3]) for i in range(N)]
    pending = set(phones)
    while pending and time.monotonic() - t0 < 60:
        for key, _ in sel.select(timeout=1.0):
            ph = key.data
            ph.on_read()
            if ph.done and ph in pending:
                pending.discard(ph)
                sel.unregister(ph.s)
    dt = time.monotonic() - t0
    good = [p for p in phones if p.done and not p.err and bytes(p.buf) == files[p.name]]
    bad = [(p.name, p.err, len(p.buf)) for p in phones if p not in good]
    t.ok(len(good) == N, f"{N} concurrent raw clients all got their file byte-for-byte",
         f"{len(good)}/{N} in {dt:.1f}s; bad: {bad[:5]}")
    for p in phones:
        p.s.close()
    okp = 0
    errs = []
    for p, name, dst in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
        try:
            with open(dst, "rb") as f:
                same = f.read() == files[name]
        except OSError:
            same = False
        if p.returncode == 0 and same:
            okp += 1
        else:
            errs.append((name, p.returncode, p.stderr.read()[-200:]))
    t.ok(okp == len(procs), f"{len(procs)} real client processes at the same time all byte-for-byte",
         str(errs[:3]))
    ev = d.log_events("tftp.done")
    t.ok(len([e for e in ev if e.get("result") == "ok"]) >= N + len(procs),
         "every transfer logged with result=ok", f"{len(ev)}")
    t.ok(not [e for e in ev if e.get("result") != "ok"], "no transfer failed",
         str([e for e in ev if e.get("result") != "ok"][:3]))
    R.check_clean_exit(t, d)
t.done()
