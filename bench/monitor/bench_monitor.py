#!/usr/bin/python3
"""Benchmark of a call-record monitor, with its own peers on 127.0.0.1:

  throughput  a "PBX" server writes N records as fast as it can to one tcp
              monitor of phoneprovd; records/s = N / (time from the first byte
              sent to the N-th record stored, as counted by
              phoneprov_monitor_records_total);
  latency     the PBX writes records at a steady rate while a client reads
              /api/v1/events; latency = time the `record` event arrives on the
              SSE stream - time the line was written to the socket.

Usage: bench/monitor/bench_monitor.py [--records N] [--runs R] [--rate PER_S]
       [--seconds S]   (PHONEPROVD, default build/phoneprovd)
Prints one line per run and a summary (min..max over the runs)."""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
PHONEPROVD = os.environ.get("PHONEPROVD", os.path.join(SRC, "build", "phoneprovd"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


PLUGIN = """name: bench
version: "1.0"
description: benchmark monitor
vendor: Bench
monitors:
  - name: tcp
    transport: tcp
    host: 127.0.0.1
    port: %d
    timeout: 0.1
    parse:
      - regex: '^(?<dir>[IO]),(?<num>[^,]*),(?<ext>[^,]*),(?<secs>\\d+),(?<id>\\w+)$'
    record:
      direction: { value: "{{dir}}", map: { I: incoming, O: outgoing } }
      number: "{{num}}"
      ext: "{{ext}}"
      duration_s: "{{secs}}"
      account: "{{id}}"
"""


def rec_line(i):
    return b"O,0301%07d,2%02d,%d,r%d\r\n" % (i, i % 100, i % 3600, i)


class Daemon:
    def __init__(self, pbx_port):
        self.tmp = tempfile.mkdtemp(prefix="ppbench-mon-")
        os.makedirs(os.path.join(self.tmp, "plugins", "bench"))
        os.makedirs(os.path.join(self.tmp, "root"))
        with open(os.path.join(self.tmp, "plugins", "bench", "plugin.yml"), "w") as f:
            f.write(PLUGIN % pbx_port)
        self.api = free_port()
        with open(os.path.join(self.tmp, "pp.yml"), "w") as f:
            f.write(f"data_dir: {self.tmp}/var\nlog_level: warn\n"
                    f"tftp: {{ listen: \"127.0.0.1:{free_port()}\", root: {self.tmp}/root }}\n"
                    f"http: {{ listen: \"127.0.0.1:{free_port()}\", root: {self.tmp}/root }}\n"
                    f"api: {{ listen: \"127.0.0.1:{self.api}\", token_file: {self.tmp}/tok,"
                    f" admin_token_file: {self.tmp}/atok }}\n"
                    f"plugins: {{ dir: {self.tmp}/plugins }}\n")
        self.log = open(os.path.join(self.tmp, "log"), "wb")
        self.proc = subprocess.Popen([PHONEPROVD, "-c", os.path.join(self.tmp, "pp.yml")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(os.path.join(self.tmp, "tok")):
                break
            time.sleep(0.02)
        time.sleep(0.2)
        self.token = open(os.path.join(self.tmp, "tok")).read().strip()

    def stored(self):
        req = urllib.request.Request(f"http://127.0.0.1:{self.api}/api/v1/metrics",
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            for ln in r.read().decode().splitlines():
                if ln.startswith('phoneprov_monitor_records_total{monitor="bench/tcp"}'):
                    return int(ln.split()[-1])
        return 0

    def close(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def accept_one(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    return srv


def throughput(n):
    port = free_port()
    srv = accept_one(port)
    d = Daemon(port)
    try:
        conn, _ = srv.accept()
        data = b"".join(rec_line(i) for i in range(n))
        t0 = time.monotonic()
        conn.sendall(data)
        t_sent = time.monotonic()
        while d.stored() < n:
            time.sleep(0.01)
        t1 = time.monotonic()
        conn.close()
        return n / (t1 - t0), t_sent - t0, t1 - t0
    finally:
        d.close()
        srv.close()


def latency(rate, seconds):
    port = free_port()
    srv = accept_one(port)
    d = Daemon(port)
    sent, got = {}, {}
    try:
        conn, _ = srv.accept()
        s = socket.create_connection(("127.0.0.1", d.api))
        s.sendall(f"GET /api/v1/events HTTP/1.0\r\nAuthorization: Bearer {d.token}\r\n\r\n"
                  .encode())
        n = int(rate * seconds)
        done = threading.Event()

        def reader():
            buf = b""
            while not done.is_set():
                b = s.recv(65536)
                if not b:
                    break
                now = time.monotonic()
                buf += b
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    for ln in block.split(b"\n"):
                        if ln.startswith(b"data: "):
                            try:
                                ev = json.loads(ln[6:])
                            except ValueError:
                                continue
                            acct = (ev.get("data") or {}).get("account", "")
                            if ev.get("type") == "record" and acct.startswith("r"):
                                got[int(acct[1:])] = now
                if len(got) >= n:
                    done.set()
        th = threading.Thread(target=reader, daemon=True)
        th.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        for i in range(n):
            target = t0 + i / rate
            while time.monotonic() < target:
                time.sleep(min(0.0005, max(0, target - time.monotonic())))
            sent[i] = time.monotonic()
            conn.sendall(rec_line(i))
        done.wait(10 + seconds)
        s.close()
        conn.close()
        lat = sorted((got[i] - sent[i]) * 1000 for i in sent if i in got)
        if not lat:
            return None
        pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
        return pick(0.5), pick(0.99), lat[-1], len(lat), n
    finally:
        d.close()
        srv.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=5)
    a = ap.parse_args()
    rates, p50s, p99s = [], [], []
    for r in range(a.runs):
        rps, send_s, total_s = throughput(a.records)
        rates.append(rps)
        print(f"run {r + 1}: throughput {rps:,.0f} records/s ({a.records} records, "
              f"sent in {send_s:.2f}s, stored in {total_s:.2f}s)", flush=True)
    for r in range(a.runs):
        res = latency(a.rate, a.seconds)
        if not res:
            print(f"run {r + 1}: latency: no events received", flush=True)
            continue
        p50, p99, mx, n, want = res
        p50s.append(p50)
        p99s.append(p99)
        print(f"run {r + 1}: line -> SSE event latency at {a.rate:.0f} records/s: "
              f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {mx:.2f} ms ({n}/{want} events)",
              flush=True)
    print(f"summary: throughput {min(rates):,.0f}..{max(rates):,.0f} records/s over {a.runs} runs"
          f" (goal >= 50,000)")
    if p99s:
        print(f"summary: latency p50 {min(p50s):.2f}..{max(p50s):.2f} ms, "
              f"p99 {min(p99s):.2f}..{max(p99s):.2f} ms")
    return 0 if min(rates) >= 50000 else 1


if __name__ == "__main__":
    sys.exit(main())
