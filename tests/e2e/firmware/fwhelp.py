"""Helpers for the firmware tests: a temporary installation (config, plugin
folder with a pkgs.yml, static root, data dir), archive fixtures, and a
loopback HTTP server that honours Range and can cut a response once."""
import hashlib
import http.server
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import zipfile

import pphelp

PLUGIN_YML = """name: acme
version: "1.0.0"
description: test plugin for firmware tests
vendor: Acme
models: {}
extract: []
files: []
"""


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def sha1(b):
    return hashlib.sha1(b).hexdigest()


class Env:
    """tmp/{phoneprov.yml, plugins/acme/, tftpboot/, var/, fixtures/, sentinel/}"""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="ppfw-")
        self.plugins = os.path.join(self.tmp, "plugins")
        self.plugin_dir = os.path.join(self.plugins, "acme")
        self.root = os.path.join(self.tmp, "tftpboot")
        self.data = os.path.join(self.tmp, "var")
        self.fixtures = os.path.join(self.tmp, "fixtures")
        self.sentinel = os.path.join(self.tmp, "sentinel")
        for d in (self.plugin_dir, self.root, self.data, self.fixtures, self.sentinel):
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(self.plugin_dir, "plugin.yml"), "w") as f:
            f.write(PLUGIN_YML)
        with open(os.path.join(self.sentinel, "secret.txt"), "w") as f:
            f.write("do not touch\n")
        os.makedirs(os.path.join(self.sentinel, "sub"))
        self.config = os.path.join(self.tmp, "phoneprov.yml")
        with open(self.config, "w") as f:
            f.write(f"data_dir: {self.data}\n"
                    f"tftp: {{ root: {self.root}, listen: \"127.0.0.1:{pphelp.free_port()}\" }}\n"
                    f"http: {{ root: {self.root}, listen: \"127.0.0.1:{pphelp.free_port()}\" }}\n"
                    f"plugins: {{ dir: {self.plugins} }}\n")
        self.pkgs_path = os.path.join(self.plugin_dir, "pkgs.yml")

    def write_pkgs(self, text):
        with open(self.pkgs_path, "w") as f:
            f.write(text)

    def fixture(self, name, data):
        p = os.path.join(self.fixtures, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def cli(self, *args, env=None, timeout=120):
        e = dict(os.environ)
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                  "all_proxy"):
            e.pop(k, None)
        e.update(env or {})
        return subprocess.run([pphelp.PHONEPROV, "-c", self.config] + list(args),
                              capture_output=True, text=True, timeout=timeout, env=e)

    def snapshot(self):
        """Every file and folder under tmp, with contents (symlinks as targets)."""
        out = {}
        for dp, dns, fns in os.walk(self.tmp):
            for n in dns + fns:
                p = os.path.join(dp, n)
                rel = os.path.relpath(p, self.tmp)
                if os.path.islink(p):
                    out[rel] = ("link", os.readlink(p))
                elif os.path.isdir(p):
                    out[rel] = ("dir",)
                else:
                    with open(p, "rb") as f:
                        out[rel] = ("file", f.read())
        return out

    def root_files(self):
        out = {}
        for dp, _, fns in os.walk(self.root):
            for n in fns:
                p = os.path.join(dp, n)
                with open(p, "rb") as f:
                    out[os.path.relpath(p, self.root)] = f.read()
        return out

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def file_entry(fid, url, data, algo="sha256", name=None, size=None):
    h = sha256(data) if algo == "sha256" else sha1(data)
    s = (f"  {fid}:\n    url: \"{url}\"\n    size: {len(data) if size is None else size}\n"
         f"    {algo}: {h}\n")
    if name:
        s += f"    name: \"{name}\"\n"
    return s


# ---- archives ----------------------------------------------------------------

def tar_bytes(entries, mode="w:gz"):
    """entries: list of (TarInfo, bytes|None)."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode=mode, format=tarfile.GNU_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return bio.getvalue()


def ti_file(name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    return ti, data


def ti_dir(name):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    return ti, None


def ti_link(name, target, hard=False):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    ti.linkname = target
    return ti, None


def ti_special(name, kind):
    ti = tarfile.TarInfo(name)
    ti.type = {"chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
    ti.devmajor, ti.devminor = (1, 3)
    return ti, None


def tar_huge_declared(name, declared):
    """A tar whose only header declares `declared` bytes but holds almost none."""
    ti = tarfile.TarInfo(name)
    ti.size = declared
    hdr = ti.tobuf(format=tarfile.GNU_FORMAT)
    return hdr + b"\0" * 1024


def zip_bytes(entries):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            zi = zipfile.ZipInfo(name)
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
    return bio.getvalue()


# ---- HTTP server ----------------------------------------------------------------

class Server:
    """Serves self.files {"/path": bytes}. Range "bytes=N-" gives 206.
    Paths in self.cut_once get, the first time, full headers but half the body."""

    def __init__(self):
        self.files = {}
        self.cut_once = set()
        self.hold = {}  # path -> threading.Event: half the body, then wait for it
        self.requests = []  # (path, Range header or None)
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                outer.requests.append((self.path, rng))
                data = outer.files.get(self.path.split("?")[0])
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                if rng and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[6:-1])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                if self.path.split("?")[0] in outer.cut_once:
                    outer.cut_once.discard(self.path.split("?")[0])
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.end_headers()
                ev = outer.hold.get(self.path.split("?")[0])
                if ev is not None:
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    ev.wait(120)
                    body = body[len(body) // 2:]
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def api_call(d, method, path, token, headers=False):
    """(status, JSON body or text, Location header or None) through curl."""
    import json
    import subprocess
    auth = ["-H", f"Authorization: Bearer {token}"] if token else []
    p = subprocess.run(["curl", "-s", "--noproxy", "*", "-D", "/dev/stderr", "-o", "-", "-w",
                        "\n%{http_code}", "-X", method] + auth +
                       [f"http://127.0.0.1:{d.api_port}/api/v1{path}"],
                       capture_output=True, text=True, timeout=60)
    body, _, code = p.stdout.rpartition("\n")
    try:
        j = json.loads(body) if body.strip() else None
    except ValueError:
        j = body
    loc = None
    for line in p.stderr.splitlines():
        if line.lower().startswith("location:"):
            loc = line.split(":", 1)[1].strip()
    return int(code or 0), j, loc


def wait_op(d, loc, token, timeout=90):
    """Poll an operation's Location until it is no longer running: its JSON."""
    import time
    end = time.monotonic() + timeout
    j = None
    while time.monotonic() < end:
        st, j, _ = api_call(d, "GET", loc[len("/api/v1"):], token)
        if st != 200 or not isinstance(j, dict) or j.get("state") != "running":
            return j
        time.sleep(0.1)
    return j


def op_events(d, token, op_id, since=0):
    """The `operation` events of op_id in the events log, in order (a 2 s read of /events)."""
    import json
    import subprocess
    p = subprocess.run(["curl", "-s", "-N", "--noproxy", "*", "--max-time", "2", "-H",
                        f"Authorization: Bearer {token}",
                        f"http://127.0.0.1:{d.api_port}/api/v1/events?since={since}"],
                       capture_output=True, text=True, timeout=30)
    out, ev = [], None
    for line in p.stdout.splitlines():
        if line.startswith("event: "):
            ev = line[7:]
        elif line.startswith("data: ") and ev == "operation":
            j = json.loads(line[6:])
            data = j.get("data", j)
            if data.get("id") == op_id:
                out.append(data)
    return out
