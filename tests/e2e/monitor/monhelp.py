"""Helpers for the monitor tests: a test plugin with `monitors:`, "PBX" peers
on 127.0.0.1 (a TCP server that phoneprov connects to, a TCP client that
connects to phoneprov), the REST API and its /events stream."""
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request

import pphelp

# A simple record format for the engine tests: DIR,NUMBER,EXT,SECONDS,ID
#   I,0301234567,201,65,42
SIMPLE_MONITOR = """
    parse:
      - regex: '^(?<dir>[IOXM]),(?<num>[^,]*),(?<ext>[^,]*),(?<secs>[^,]*),(?<id>\\w+)$'
    record:
      direction: { value: "{{dir}}", map: { I: incoming, O: outgoing, X: internal, M: missed } }
      number: "{{num}}"
      ext: "{{ext}}"
      duration_s: "{{secs}}"
      account: "{{id}}"
"""


def write_plugin(plugins_dir, name, monitors_yaml, extra=""):
    """plugins_dir/name/plugin.yml with the given `monitors:` entries (YAML text)."""
    d = os.path.join(plugins_dir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "plugin.yml"), "w") as f:
        f.write(f"name: {name}\nversion: \"1.0.0\"\ndescription: test monitors\n"
                f"vendor: TestPBX\n{extra}monitors:\n{monitors_yaml}")
    return d


def simple_monitor(name, transport, settings=""):
    """One `monitors:` entry in the simple format."""
    return f"  - name: {name}\n    transport: {transport}\n{settings}{SIMPLE_MONITOR}"


def line(i, direction="O", number=None, ext="201", secs=None):
    number = number if number is not None else "0301%06d" % i
    secs = secs if secs is not None else i % 600
    return f"{direction},{number},{ext},{secs},r{i}\r\n"


class Api:
    def __init__(self, d):
        self.d = d
        self.base = f"http://127.0.0.1:{d.api_port}/api/v1"

    def get(self, path, headers=None, raw=False):
        req = urllib.request.Request(self.base + path, headers={
            "Authorization": f"Bearer {self.d.token}", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                body = r.read()
                return r.status, (body if raw else json.loads(body)), dict(r.headers)
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return e.code, json.loads(body), dict(e.headers)
            except ValueError:
                return e.code, body, dict(e.headers)

    def records(self, query=""):
        st, j, _ = self.get("/records?limit=10000" + ("&" + query if query else ""))
        return j["records"] if st == 200 else None

    def all_records(self, query=""):
        out, since = [], 0
        while True:
            st, j, _ = self.get(f"/records?limit=10000&since={since}" +
                                ("&" + query if query else ""))
            if st != 200:
                raise RuntimeError(f"records: {st} {j}")
            out += j["records"]
            if j["next"] == since or not j["records"]:
                return out
            since = j["next"]

    def metric(self, name, monitor):
        st, body, _ = self.get("/metrics", raw=True)
        key = f'phoneprov_{name}{{monitor="{monitor}"}}'
        for ln in body.decode().splitlines():
            if ln.startswith(key + " "):
                return int(ln.split()[-1])
        return None


# How late a timed wait may be: the machine is shared, and a sanitizer build
# runs slower still. Never how early: a wait shorter than asked is a bug.
LATE_S = 0.3 if os.environ.get("PP_SANITIZED") else 0.1


def close_to(got, want):
    """A wait of `want` seconds took `got`: not shorter, maybe late."""
    return want - 0.015 <= got <= want * 1.15 + LATE_S


def wait_for(fn, timeout=10.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def wait_growing(count, target, stall=10.0, step=0.05):
    """Wait until count() reaches target for as long as it keeps growing: a
    long stream is slow on a busy machine, but one that stops for `stall`
    seconds is not coming. Returns the last count."""
    last, since = count(), time.monotonic()
    while last < target and time.monotonic() - since < stall:
        time.sleep(step)
        n = count()
        if n != last:
            last, since = n, time.monotonic()
    return last


def wait_log(d, event, count=1, timeout=10.0, **match):
    def found():
        evs = [e for e in d.log_events(event) if all(e.get(k) == v for k, v in match.items())]
        return evs if len(evs) >= count else None
    return wait_for(found, timeout)


class PbxServer:
    """A PBX that phoneprov connects to: accepts connections on 127.0.0.1 and
    runs `handler(conn, index)` for each in a thread; records accept times."""

    def __init__(self, handler=None, port=None):
        self.port = port or pphelp.free_port()
        self.handler = handler
        self.accepts = []
        self.conns = []
        self.sock = None
        self.stop = False
        self.thread = None

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        n = 0
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.accepts.append(time.monotonic())
            self.conns.append(c)
            if self.handler:
                threading.Thread(target=self.handler, args=(c, n), daemon=True).start()
            n += 1

    def close(self):
        self.stop = True
        if self.thread:
            self.thread.join()
        if self.sock:
            self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.conns = []


class Sse:
    """A /events client: collects (event, data) in a thread."""

    def __init__(self, d, since=None):
        self.events = []
        self.times = []
        self.s = socket.create_connection(("127.0.0.1", d.api_port))
        q = "" if since is None else f"?since={since}"
        # HTTP/1.0: no chunked encoding to strip from the stream
        self.s.sendall((f"GET /api/v1/events{q} HTTP/1.0\r\nHost: x\r\n"
                        f"Authorization: Bearer {d.token}\r\nAccept: text/event-stream\r\n\r\n")
                       .encode())
        self.buf = b""
        self.alive = True
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        head_done = False
        while self.alive:
            try:
                b = self.s.recv(65536)
            except OSError:
                break
            if not b:
                break
            now = time.monotonic()
            self.buf += b
            if not head_done:
                if b"\r\n\r\n" not in self.buf:
                    continue
                self.buf = self.buf.split(b"\r\n\r\n", 1)[1]
                head_done = True
            text = self.buf
            while b"\n\n" in text:
                block, text = text.split(b"\n\n", 1)
                ev, data = None, None
                for ln in block.split(b"\n"):
                    ln = ln.strip(b"\r")
                    if ln.startswith(b"event: "):
                        ev = ln[7:].decode()
                    elif ln.startswith(b"data: "):
                        data = ln[6:].decode()
                if ev and data:
                    try:
                        self.events.append((ev, json.loads(data)))
                        self.times.append(now)
                    except ValueError:
                        pass
            self.buf = text

    def records(self):
        """The records of the `record` events (event data: {seq, ts, type, data})."""
        return [d.get("data") for e, d in self.events if e == "record"]

    def close(self):
        self.alive = False
        try:
            self.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.s.close()
