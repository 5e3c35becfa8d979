#!/usr/bin/python3
"""Real TFTP clients (tftp-hpa, atftp, busybox, curl) against phoneprovd on
loopback: byte-for-byte files of 0, 1, 511, 512, 513, 2048 bytes and 40 MiB
(past block-number rollover at blksize 512), netascii, logs and metrics."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pphelp import Daemon, TapRunner  # noqa: E402
import rawtftp  # noqa: E402

t = TapRunner()
SIZES = [0, 1, 511, 512, 513, 2048]
BIG = 40 * 1024 * 1024


def run(cmd, timeout=60, cwd=None):
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=cwd)
        return p.returncode, (p.stdout + p.stderr).decode(errors="replace")
    except subprocess.TimeoutExpired:
        return -1, "timeout"


def same(path, want):
    try:
        with open(path, "rb") as f:
            return f.read() == want
    except OSError:
        return False


with Daemon() as d:
    files = {}
    for n in SIZES:
        data = os.urandom(n)
        files[f"f{n}.bin"] = data
        with open(os.path.join(d.root, f"f{n}.bin"), "wb") as f:
            f.write(data)
    big = os.urandom(BIG)
    with open(os.path.join(d.root, "big.bin"), "wb") as f:
        f.write(big)
    out = os.path.join(d.tmp, "out")
    os.makedirs(out)
    port = str(d.tftp_port)

    clients = {
        "tftp-hpa": lambda name, dst: ["tftp", "127.0.0.1", port, "-m", "binary", "-c", "get",
                                       name, dst],
        # (the tftp-hpa 5.2 client has no option support: plain RFC 1350 only)
        "atftp": lambda name, dst: ["atftp", "-g", "-r", name, "-l", dst, "127.0.0.1", port],
        "atftp blksize 1468": lambda name, dst: ["atftp", "--option", "blksize 1468", "-g",
                                                 "-r", name, "-l", dst, "127.0.0.1", port],
        "atftp windowsize 8": lambda name, dst: ["atftp", "--option", "blksize 1024", "--option",
                                                 "windowsize 8", "-g", "-r", name, "-l", dst,
                                                 "127.0.0.1", port],
        "busybox": lambda name, dst: ["busybox", "tftp", "-g", "-r", name, "-l", dst,
                                      "127.0.0.1", port],
        "busybox -b 1024": lambda name, dst: ["busybox", "tftp", "-g", "-r", name, "-l", dst,
                                              "-b", "1024", "127.0.0.1", port],
        "curl": lambda name, dst: ["curl", "-sS", "-o", dst, f"tftp://127.0.0.1:{port}/{name}"],
        "curl blksize 8": lambda name, dst: ["curl", "-sS", "-o", dst, "--tftp-blksize", "8",
                                             f"tftp://127.0.0.1:{port}/{name}"],
    }
    for cname, mk in clients.items():
        tool = mk("x", "y")[0]
        if not shutil.which(tool):
            for name in files:
                t.skip(f"{cname} {name}", f"{tool} not installed")
            continue
        for name, data in files.items():
            dst = os.path.join(out, f"{cname.replace(' ', '_')}-{name}")
            rc, text = run(mk(name, dst))
            # atftp and busybox leave no file for an empty transfer on some versions
            if len(data) == 0 and not os.path.exists(dst) and rc == 0:
                open(dst, "wb").close()
            t.ok(rc == 0 and same(dst, data), f"{cname} gets {name} byte-for-byte",
                 f"rc={rc} {text[-400:]}")

    # 40 MiB: 81920 blocks at blksize 512, the block number wraps past 65535
    dst = os.path.join(out, "big-hpa")
    rc, text = run(["tftp", "127.0.0.1", port, "-m", "binary", "-c", "get", "big.bin", dst],
                   timeout=120)
    t.ok(rc == 0 and same(dst, big), "tftp-hpa gets 40 MiB at blksize 512 (rollover)", text[-300:])
    os.unlink(dst)
    dst = os.path.join(out, "big-atftp")
    rc, text = run(["atftp", "--option", "blksize 1468", "--option", "windowsize 16", "-g", "-r",
                    "big.bin", "-l", dst, "127.0.0.1", port], timeout=120)
    t.ok(rc == 0 and same(dst, big), "atftp gets 40 MiB at blksize 1468 windowsize 16", text[-300:])
    os.unlink(dst)
    dst = os.path.join(out, "big-curl")
    rc, text = run(["curl", "-sS", "-o", dst, "--tftp-blksize", "8192",
                    f"tftp://127.0.0.1:{port}/big.bin"], timeout=120)
    t.ok(rc == 0 and same(dst, big), "curl gets 40 MiB at blksize 8192", text[-300:])
    os.unlink(dst)

    # netascii: exact bytes on the wire, and tftp-hpa's ascii mode round trip
    text_src = b"line1\nline2\r\nbare\rcr\n\0nul\n" * 100 + b"end\r"
    with open(os.path.join(d.root, "text.txt"), "wb") as f:
        f.write(text_src)
    wire = text_src.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n").replace(b"\r\0\r\n", b"\r\0\r\n")
    # (replace order: CR first would turn CR LF into CR NUL CR LF, which is the RFC encoding)
    expect = bytearray()
    for c in text_src:
        expect += {10: b"\r\n", 13: b"\r\0"}.get(c, bytes([c]))
    expect = bytes(expect)
    r = rawtftp.get(d.tftp_port, "text.txt", mode="netascii")
    t.ok(r.ok and r.data == expect, "netascii: LF -> CR LF and CR -> CR NUL exactly",
         f"{len(r.data)} vs {len(expect)} {r.error}")
    r = rawtftp.get(d.tftp_port, "text.txt", mode="NETASCII",
                    options={"blksize": 100, "windowsize": 3, "tsize": 0})
    t.ok(r.ok and r.data == expect, "netascii with blksize 100 windowsize 3 (pairs split over blocks)",
         f"{len(r.data)} vs {len(expect)} {r.error}")
    t.ok(r.oack and r.oack.get("tsize") == str(len(expect)),
         "netascii tsize is the transfer size", str(r.oack))
    dst = os.path.join(out, "text-hpa")
    rc, text = run(["tftp", "127.0.0.1", port, "-m", "ascii", "-c", "get", "text.txt", dst])
    t.ok(rc == 0 and same(dst, text_src), "tftp-hpa ascii mode round trip restores the file", text)

    ev = d.log_events("tftp.done")
    big_ev = [e for e in ev if e.get("file") == "big.bin" and e.get("blksize") == "512"]
    t.ok(big_ev and big_ev[0].get("result") == "ok" and big_ev[0].get("bytes") == str(BIG)
         and "duration_ms" in big_ev[0] and big_ev[0].get("windowsize") == "1"
         and big_ev[0].get("client", "").startswith("127.0.0.1:"),
         "tftp.done logged with client, file, bytes, blksize, windowsize, duration_ms, result",
         str(big_ev[:1]))
    na_ev = [e for e in ev if e.get("file") == "text.txt"]
    t.ok(na_ev and all(e.get("bytes") == str(len(expect)) for e in na_ev),
         "netascii transfers log the bytes sent", str(na_ev[:1]))
    rawtftp.check_clean_exit(t, d)
t.done()
