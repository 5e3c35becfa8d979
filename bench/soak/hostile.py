#!/usr/bin/python3
"""Hostile load for bench/soak/run.sh, loopback only (127.0.0.x).

  hostile.py tftp PORT SECONDS RATE ADDRS
      RATE read requests a second for static.cfg with the option `timeout 255`,
      each from a new UDP port on one of 127.0.0.2 .. 127.0.0.(ADDRS+1) in turn;
      never an ACK (the server's OACK is read and dropped).
  hostile.py http PORT SECONDS CONNS ADDRS
      CONNS slowloris connections from 127.0.0.2 .. 127.0.0.(ADDRS+1): a request
      head that never ends, one byte a second; a connection the server closes
      (the header deadline) is opened again.
  hostile.py sample PID CSV SECONDS
      once a second: VmRSS and RssAnon (KiB) from /proc/PID/status and the number
      of entries of /proc/PID/fd, one CSV row each.
  hostile.py summary CSV
      the soak's closing numbers (rule: docs/provisioning.md, "Soak").

Prints one line of key=value counters at the end (tftp, http)."""
import os
import socket
import statistics
import sys
import time


def addr(i, n):
    a = "127.0.0.%d" % (2 + i % n)
    assert a.startswith("127.")
    return a


def tftp_flood(port, secs, rate, naddr):
    end = time.monotonic() + secs
    rrq = b"\x00\x01static.cfg\x00octet\x00timeout\x00255\x00"
    live = []  # (socket, opened) kept 12 s so the port stays taken, then closed
    sent = errors = oacks = 0
    i = 0
    t0 = time.monotonic()
    while time.monotonic() < end:
        due = int((time.monotonic() - t0) * rate)
        while i < due:
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setblocking(False)
                s.bind((addr(i, naddr), 0))
                s.sendto(rrq, ("127.0.0.1", port))
                live.append((s, time.monotonic()))
                sent += 1
            except OSError:
                errors += 1
            i += 1
        now = time.monotonic()
        keep = []
        for s, t in live:
            try:
                while s.recv(2048):
                    oacks += 1
            except BlockingIOError:
                pass
            except OSError:
                pass
            if now - t > 12:
                s.close()
            else:
                keep.append((s, t))
        live = keep
        time.sleep(0.02)
    for s, _ in live:
        s.close()
    print(f"rrq_sent={sent} answers={oacks} errors={errors}")


def slowloris(port, secs, conns, naddr):
    end = time.monotonic() + secs
    head = b"GET /static.cfg HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
    socks = [None] * conns
    opened = closed_by_server = errors = 0

    def connect(k):
        nonlocal opened, errors
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2,
                                         source_address=(addr(k, naddr), 0))
            s.setblocking(False)
            opened += 1
            return [s, 0]
        except OSError:
            errors += 1
            return None

    while time.monotonic() < end:
        t = time.monotonic()
        for k in range(conns):
            c = socks[k]
            if c is None:
                socks[k] = connect(k)
                continue
            s, pos = c
            dead = False
            try:
                if s.recv(4096, socket.MSG_DONTWAIT) == b"":
                    dead = True
                else:
                    dead = True  # any answer (408, 431, ...) ends it too
            except BlockingIOError:
                pass
            except OSError:
                dead = True
            if not dead:
                try:
                    s.send(head[pos % len(head):pos % len(head) + 1])
                    c[1] = pos + 1
                except OSError:
                    dead = True
            if dead:
                closed_by_server += 1
                s.close()
                socks[k] = connect(k)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
    for c in socks:
        if c:
            c[0].close()
    print(f"conns={conns} opened={opened} closed_by_server={closed_by_server} errors={errors}")


def sample(pid, path, secs):
    end = time.monotonic() + secs
    t0 = time.monotonic()
    with open(path, "w") as out:
        out.write("t_s,vmrss_kib,rssanon_kib,fds\n")
        while time.monotonic() < end:
            t = time.monotonic()
            try:
                st = {}
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        k, _, v = line.partition(":")
                        st[k] = v.split()[0] if v.split() else ""
                fds = len(os.listdir(f"/proc/{pid}/fd"))
            except OSError:
                break  # phoneprovd is gone: the summary says so
            out.write(f"{t - t0:.1f},{st['VmRSS']},{st['RssAnon']},{fds}\n")
            out.flush()
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))


def slope_per_min(ts, ys):
    n = len(ts)
    mt, my = sum(ts) / n, sum(ys) / n
    var = sum((t - mt) ** 2 for t in ts)
    return 60 * sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / var if var else 0.0


def summary(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            t, a, b, c = line.strip().split(",")
            rows.append((float(t), int(a), int(b), int(c)))
    print(f"samples={len(rows)} span_s={rows[-1][0] - rows[0][0]:.0f}" if rows else "samples=0")
    if len(rows) < 10:
        print("verdict: too few samples")
        return 1
    half = len(rows) // 2
    first, second = rows[:half], rows[half:]
    ok = True
    for col, name, unit in ((1, "VmRSS", "KiB"), (2, "RssAnon", "KiB"), (3, "fds", "")):
        for label, part in (("first half ", first), ("second half", second)):
            ys = [r[col] for r in part]
            print(f"{name:8} {label}: min={min(ys)} median={statistics.median(ys):.0f} "
                  f"max={max(ys)} {unit}")
        ys = [r[col] for r in second]
        med = statistics.median(ys)
        sl = slope_per_min([r[0] for r in second], ys)
        rel = abs(sl) / med * 100 if med else 0.0
        peak = (max(ys) - med) / med * 100 if med else 0.0
        flat = rel < 1.0 and peak <= 10.0
        judged = name != "VmRSS"
        if judged:
            ok = ok and flat
        print(f"{name:8} second-half slope: {sl:+.1f} {unit}/min ({rel:.2f} % of median/min), "
              f"max {peak:.1f} % over median: {'flat' if flat else 'NOT flat'}"
              f"{'' if judged else ' (informational: includes LMDB map pages)'}")
    print(f"verdict: {'flat' if ok else 'NOT flat'}")
    return 0 if ok else 1


if __name__ == "__main__":
    m = sys.argv[1]
    if m == "tftp":
        tftp_flood(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
    elif m == "http":
        slowloris(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif m == "sample":
        sample(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    elif m == "summary":
        sys.exit(summary(sys.argv[2]))
    else:
        sys.exit("usage: see the source")
