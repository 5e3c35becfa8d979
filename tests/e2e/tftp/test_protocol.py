#!/usr/bin/python3
"""TFTP protocol behaviour with a raw client: option negotiation and clamping,
WRQ refused, error codes, unknown TID, retransmission, duplicate ACKs, window
sliding, timeouts, shutdown."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pphelp import Daemon, TapRunner  # noqa: E402
import rawtftp as R  # noqa: E402

t = TapRunner()

cfg = {"tftp": {"max_blksize": 1400, "max_windowsize": 8, "timeout_ms": 300, "retries": 2}}
with Daemon(extra=cfg) as d:
    P = d.tftp_port
    data = os.urandom(10000)
    with open(os.path.join(d.root, "ten.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(d.root, "small.txt"), "wb") as f:
        f.write(b"hello\n")

    # -- option negotiation ------------------------------------------------
    r = R.get(P, "ten.bin", options={"blksize": 1024, "tsize": 0, "timeout": 2, "windowsize": 4})
    t.ok(r.ok and r.data == data, "transfer with all options", str(r.error))
    t.ok(r.oack == {"blksize": "1024", "tsize": "10000", "timeout": "2", "windowsize": "4"},
         "OACK carries blksize, tsize (file size), timeout, windowsize", str(r.oack))
    r = R.get(P, "ten.bin", options={"BlkSize": 512, "TSIZE": 0, "WindowSize": 2})
    t.ok(r.ok and r.oack == {"blksize": "512", "tsize": "10000", "windowsize": "2"},
         "option names are case-insensitive", str(r.oack))
    r = R.get(P, "ten.bin", options={"blksize": 65464, "windowsize": 64})
    t.ok(r.ok and r.data == data and r.oack == {"blksize": "1400", "windowsize": "8"},
         "blksize and windowsize clamped to tftp.max_blksize / max_windowsize", str(r.oack))
    sizes = [len(f[1]) for op, f, _ in r.packets if op == R.DATA]
    t.ok(max(sizes) == 1400, "DATA packets use the negotiated blksize", str(sizes[:3]))
    r = R.get(P, "ten.bin", options={"foo": "bar", "multicast": "", "utimeout": 5000})
    t.ok(r.ok and r.data == data and r.oack is None,
         "unknown options ignored (no OACK when none is known)", str(r.packets[:1]))
    r = R.get(P, "ten.bin", options={"foo": "bar", "blksize": 700})
    t.ok(r.ok and r.oack == {"blksize": "700"}, "unknown options left out of the OACK", str(r.oack))
    for opt, val in (("blksize", 7), ("blksize", "abc"), ("timeout", 0), ("windowsize", 0)):
        r = R.get(P, "ten.bin", options={opt: val})
        t.ok(r.error and r.error[0] == 8 and not r.data_packets,
             f"invalid {opt} {val!r} refused with error 8", str(r.error))
    r = R.get(P, "ten.bin", options={"blksize": 8})
    t.ok(r.ok and r.data == data and r.oack == {"blksize": "8"}, "blksize 8 (minimum) works",
         str(r.error))

    # client refuses the OACK with error 8: the server stops without data
    c = R.Client(P)
    c.sock.sendto(R.rrq("ten.bin", options={"blksize": 1024}), c.addr)
    op, f, frm, _ = c.recv()
    c.sock.sendto(R.error(8, "no thanks"), frm)
    c.sock.settimeout(0.8)
    try:
        more = c.recv()
    except socket.timeout:
        more = None
    t.ok(op == R.OACK and more is None, "client error 8 after OACK ends the transfer", str(more))
    c.close()

    # -- requests refused ----------------------------------------------------
    r = R.get(P, "ten.bin", options=None, mode="octet") if False else None
    c = R.Client(P)
    c.sock.sendto(R.rrq("upload.bin", opcode=R.WRQ), c.addr)
    op, f, _, _ = c.recv()
    t.ok(op == R.ERROR and f[0] == 2 and f[1], "WRQ refused with error 2 and a message", str(f))
    t.ok(not os.path.exists(os.path.join(d.root, "upload.bin")), "WRQ created nothing")
    c.sock.sendto(R.rrq("ten.bin", mode="mail"), c.addr)
    op, f, _, _ = c.recv()
    t.ok(op == R.ERROR and f[0] == 4, "mode mail refused with error 4", str(f))
    c.sock.sendto(b"\x00\x01abc", c.addr)
    op, f, _, _ = c.recv()
    t.ok(op == R.ERROR and f[0] == 4, "malformed request answered with error 4", str(f))
    c.sock.sendto(R.ack(1), c.addr)
    op, f, _, _ = c.recv()
    t.ok(op == R.ERROR and f[0] == 4, "ACK to the listen port answered with error 4", str(f))
    c.sock.sendto(R.rrq("nope.bin"), c.addr)
    op, f, _, _ = c.recv()
    t.ok(op == R.ERROR and f[0] == 1, "missing file: error 1", str(f))
    c.close()

    # -- unknown TID -------------------------------------------------------------
    c = R.Client(P)
    intruder = R.Client(P)
    seen = {}

    def meddle(cl, res, block, payload, frm):
        if block == 3 and "done" not in seen:
            seen["done"] = True
            intruder.sock.sendto(R.ack(3), frm)
            intruder.sock.sendto(R.ack(7), frm)
            try:
                seen["err"] = intruder.recv()
            except socket.timeout:
                seen["err"] = None
    r = c.get("ten.bin", on_data=meddle)
    e = seen.get("err")
    t.ok(e and e[0] == R.ERROR and e[1][0] == 5, "packet from an unknown TID gets error 5", str(e))
    t.ok(r.ok and r.data == data and r.data_packets == 20,
         "the transfer goes on undisturbed", f"{r.error} {r.data_packets}")
    c.close()
    intruder.close()

    # -- a retransmitted RRQ does not start a second transfer ----------------------
    c = R.Client(P, timeout=0.5)
    c.sock.sendto(R.rrq("ten.bin"), c.addr)
    c.sock.sendto(R.rrq("ten.bin"), c.addr)
    time.sleep(0.1)
    c.sock.sendto(R.rrq("ten.bin"), c.addr)
    first = []
    try:
        while len(first) < 3:
            first.append(c.recv())
    except socket.timeout:
        pass
    tids = {f[2] for f in first}
    t.ok(len(tids) == 1 and first and first[0][0] == R.DATA,
         "RRQ sent three times: one transfer answers (one TID)", str([(p[0], p[2]) for p in first]))
    c.close()

    # -- an RRQ retransmitted after progress, or read after the end ---------------
    # (a loaded server reads its listen socket late: the copy must not start a
    # second transfer, which would send DATA 1 from a new TID mid-transfer, or
    # a ghost transfer to a client that has gone, holding a per-client slot)
    c = R.Client(P, timeout=1.0)
    tids = set()

    def resend(cl, res, block, payload, frm):
        tids.add(frm)
        if block == 4:
            cl.sock.sendto(R.rrq("ten.bin"), cl.addr)
    r = c.get("ten.bin", on_data=resend)
    t.ok(r.ok and r.data == data and len(tids) == 1,
         "RRQ resent after block 4: the transfer completes from one TID, no second one",
         f"{r.error} tids={tids}")
    c.sock.sendto(R.rrq("ten.bin"), c.addr)
    try:
        late = c.recv()
    except socket.timeout:
        late = None
    t.ok(late is None, "the same RRQ from the same port just after the end: no ghost transfer",
         str(late and late[:3]))
    c.close()
    r = R.get(P, "ten.bin")
    t.ok(r.ok and r.data == data, "the same file from a new port right after: served", str(r.error))

    # -- retransmission, duplicate ACKs, Sorcerer's Apprentice -----------------
    c = R.Client(P)
    c.sock.sendto(R.rrq("ten.bin"), c.addr)
    op, f, frm, _ = c.recv()
    t0 = time.monotonic()
    op2, f2, frm2, _ = c.recv()   # no ACK sent: the server must resend block 1
    dt = time.monotonic() - t0
    t.ok(op == R.DATA and op2 == R.DATA and f2[0] == 1 and f2[1] == f[1] and frm2 == frm,
         "block 1 resent after a dropped ACK", f"{op2} {f2 and f2[0]}")
    t.ok(0.2 <= dt <= 1.0, "resend after tftp.timeout_ms (300 ms)", f"{dt:.3f}s")
    c.close()

    r = R.get(P, "ten.bin", dup_acks=True)
    t.ok(r.ok and r.data == data and r.data_packets == 20,
         "every ACK sent twice: still exactly 20 DATA packets (no Sorcerer's Apprentice)",
         f"{r.data_packets} {r.error}")
    time.sleep(0.5)
    c = R.Client(P, timeout=0.5)
    # duplicate ACKs of an old block never trigger a send, only the timeout does
    c.sock.sendto(R.rrq("ten.bin"), c.addr)
    op, f, frm, _ = c.recv()
    c.sock.sendto(R.ack(1), frm)
    op, f, frm, _ = c.recv()          # block 2
    for _ in range(5):
        c.sock.sendto(R.ack(1), frm)  # stale
    c.sock.settimeout(0.15)
    extra = 0
    try:
        while True:
            c.recv()
            extra += 1
    except socket.timeout:
        pass
    t.ok(extra == 0, "five stale ACKs get no answer", f"{extra} packets")
    c.close()

    # client timeout option respected: 1 s instead of 300 ms
    c = R.Client(P)
    c.sock.sendto(R.rrq("ten.bin", options={"timeout": 1}), c.addr)
    op, f, frm, _ = c.recv()
    c.sock.sendto(R.ack(0), frm)
    c.recv()
    t0 = time.monotonic()
    op, f, _, _ = c.recv()
    dt = time.monotonic() - t0
    t.ok(op == R.DATA and 0.9 <= dt <= 1.6, "client timeout=1 used for retransmission", f"{dt:.3f}")
    c.close()

    # give up after tftp.retries resends, with an error, and log it
    c = R.Client(P)
    c.sock.sendto(R.rrq("small.txt"), c.addr)
    pk = []
    t0 = time.monotonic()
    try:
        while True:
            pk.append(c.recv()[:2])
    except socket.timeout:
        pass
    dt = time.monotonic() - t0
    datas = [p for p in pk if p[0] == R.DATA]
    errs = [p for p in pk if p[0] == R.ERROR]
    t.ok(len(datas) == 3 and len(errs) == 1, "gives up after 1 + retries(2) sends, then error",
         str(pk))
    t.ok(0.8 <= dt <= 4.0, "gave up after about 3 timeouts", f"{dt:.2f}s")
    c.close()
    ev = R.wait_for(lambda: [e for e in d.log_events("tftp.done") if e.get("result") == "timeout"])
    t.ok(ev, "timeout logged as result=timeout", str(ev))

    # -- windows ---------------------------------------------------------------------
    c = R.Client(P)
    c.sock.sendto(R.rrq("ten.bin", options={"blksize": 1000, "windowsize": 4}), c.addr)
    op, f, frm, _ = c.recv()
    c.sock.sendto(R.ack(0), frm)
    first = [c.recv()[1][0] for _ in range(4)]
    c.sock.sendto(R.ack(2), frm)        # blocks 3, 4 "lost": slide from 3
    nxt = [c.recv()[1][0] for _ in range(4)]
    t.ok(first == [1, 2, 3, 4] and nxt == [3, 4, 5, 6],
         "window of 4, ACK of block 2 slides the window to 3..6", f"{first} {nxt}")
    c.sock.sendto(R.ack(6), frm)
    nxt = [c.recv()[1] for _ in range(4)]
    c.sock.sendto(R.ack(10), frm)
    blocks = [b for b, _ in nxt]
    t.ok(blocks == [7, 8, 9, 10] and len(nxt[-1][1]) == 1000, "next window 7..10", str(blocks))
    # 10000 bytes / 1000: block 11 is the empty last block
    op, f, _, _ = c.recv()
    t.ok(op == R.DATA and f[0] == 11 and f[1] == b"", "empty final block when size % blksize == 0",
         str(f))
    c.sock.sendto(R.ack(11), frm)
    c.close()

    # -- block number rollover (raw, blksize 8: 65536 blocks = 512 KiB) ---------------
    roll = os.urandom(8 * 65540 + 3)
    with open(os.path.join(d.root, "roll.bin"), "wb") as f:
        f.write(roll)
    r = R.get(P, "roll.bin", options={"blksize": 8, "windowsize": 8}, timeout=5)
    blocks = [f[0] for op, f, _ in r.packets if op == R.DATA]
    t.ok(r.ok and r.data == roll, "65541 blocks: block numbers roll over", str(r.error))
    t.ok(65535 in blocks and blocks[blocks.index(65535) + 1] == 0 and blocks[-1] == 5,
         "block after 65535 is 0", str(blocks[-8:]))

    # -- shutdown aborts transfers in flight with error 0 --------------------------------
    c = R.Client(P)
    c.sock.sendto(R.rrq("ten.bin"), c.addr)
    op, f, frm, _ = c.recv()
    stop_rc = d.stop()
    pk = []
    try:
        while True:
            pk.append(c.recv()[:2])
            if pk[-1][0] == R.ERROR:
                break
    except socket.timeout:
        pass
    t.ok(pk and pk[-1][0] == R.ERROR and pk[-1][1][0] == 0 and "shutting down" in pk[-1][1][1],
         "SIGTERM: transfers in flight get error 0 'server shutting down'", str(pk))
    t.ok([e for e in d.log_events("tftp.done") if e.get("result") == "shutdown"],
         "shutdown logged")
    c.close()
    R.check_clean_exit(t, d, stop_rc)
t.done()
