#!/usr/bin/python3
"""HTTP file server: conditional GET, ranges, HEAD, keep-alive, types, errors,
and a hostile-path corpus (curl --path-as-is and raw sockets) that must never
leak a byte from outside the root."""
import os
import socket
import subprocess
import secrets

from pphelp import Daemon, TapRunner

t = TapRunner()


def curl(*args, timeout=10):
    """Run curl -s -i; returns (status, headers dict (lowercase), body bytes, stderr)."""
    p = subprocess.run(["curl", "-s", "-i", "--path-as-is", "--max-time", "5"] + list(args),
                       capture_output=True, timeout=timeout)
    out = p.stdout
    status, headers, body = 0, {}, out
    # skip interim/earlier responses: parse the last header block
    while out.startswith(b"HTTP/"):
        head, sep, rest = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = rest
        out = rest if rest.startswith(b"HTTP/") else b""
    return status, headers, body, p.stderr.decode(errors="replace")


def raw(port, request, timeout=3.0):
    """Send raw bytes, return everything received until close/timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(request)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and len(data) > 64 * 1024:
                break
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return data


d = Daemon()
root = d.root
secret = ("TOPSECRET-" + secrets.token_hex(16)).encode()
outside = os.path.join(d.tmp, "secret.txt")
with open(outside, "wb") as f:
    f.write(secret + b"\n")
os.makedirs(os.path.join(root, "sub", "deeper"), exist_ok=True)
files = {
    "a.cfg": b"# config\nkey=value\n" * 10,
    "b.xml": b"<?xml version=\"1.0\"?><settings/>\n",
    "fw.bin": os.urandom(100000),
    "sub/c.txt": b"nested\n",
    "noext": b"plain",
    "x.conf": b"c=1\n",
    "y.ini": b"[s]\n",
    "z.rom": b"\x00\x01",
    "empty.cfg": b"",
}
for name, data in files.items():
    with open(os.path.join(root, name), "wb") as f:
        f.write(data)
os.symlink(outside, os.path.join(root, "escape_link"))
os.symlink("../secret.txt", os.path.join(root, "rel_escape"))
os.symlink(d.tmp, os.path.join(root, "escape_dir"))
os.symlink("/etc/passwd", os.path.join(root, "abs_link"))
os.symlink("../../../secret.txt", os.path.join(root, "sub", "deeper", "up3"))
os.symlink("a.cfg", os.path.join(root, "inside_link"))

with d:
    base = f"http://127.0.0.1:{d.http_port}"
    secrets_out = [secret]
    for tf in ("api-token", "admin-token"):
        try:
            with open(os.path.join(d.data_dir, tf), "rb") as f:
                secrets_out.append(f.read().strip())
        except OSError:
            pass
    with open("/etc/passwd", "rb") as f:
        passwd_first = f.readline().strip()

    # --- basic GET, types ---------------------------------------------------
    st, h, body, _ = curl(base + "/a.cfg")
    t.ok(st == 200 and body == files["a.cfg"], "GET a.cfg 200 with the file's bytes", (st, body[:80]))
    t.ok(h.get("content-type") == "text/plain", "a.cfg is text/plain", h)
    t.ok(h.get("content-length") == str(len(files["a.cfg"])), "Content-Length right", h)
    t.ok(h.get("accept-ranges") == "bytes", "Accept-Ranges: bytes", h)
    etag, lm = h.get("etag"), h.get("last-modified")
    t.ok(bool(etag) and etag.startswith('"'), "strong ETag present", h)
    t.ok(bool(lm) and lm.endswith("GMT"), "Last-Modified present", h)
    types = {"b.xml": "application/xml", "fw.bin": "application/octet-stream",
             "noext": "application/octet-stream", "x.conf": "text/plain", "y.ini": "text/plain",
             "z.rom": "application/octet-stream", "sub/c.txt": "text/plain"}
    for name, ctype in types.items():
        st, h, body, _ = curl(f"{base}/{name}")
        t.ok(st == 200 and h.get("content-type") == ctype and body == files[name],
             f"{name}: 200 {ctype}", (st, h.get("content-type")))
    st, h, body, _ = curl(base + "/fw.bin")
    t.ok(st == 200 and body == files["fw.bin"], "100 kB binary intact", (st, len(body)))
    st, h, body, _ = curl(base + "/empty.cfg")
    t.ok(st == 200 and body == b"" and h.get("content-length") == "0", "empty file: 200, length 0", (st, h))
    st, h, body, _ = curl(base + "/inside_link")
    t.ok(st == 200 and body == files["a.cfg"], "symlink staying inside the root is followed", st)
    st, h, body, _ = curl(base + "/sub//c.txt")
    t.ok(st == 200 and body == files["sub/c.txt"], "// collapsed", st)

    # --- conditional GET -----------------------------------------------------
    st, h, body, _ = curl("-H", f"If-None-Match: {etag}", base + "/a.cfg")
    t.ok(st == 304 and body == b"", "If-None-Match with the ETag: 304, no body", (st, body[:40]))
    t.ok(h.get("etag") == etag, "304 repeats the ETag", h)
    st, h, body, _ = curl("-H", f"If-None-Match: \"nope\", W/{etag}", base + "/a.cfg")
    t.ok(st == 304, "If-None-Match list with a weak match: 304", st)
    st, h, body, _ = curl("-H", "If-None-Match: \"other\"", base + "/a.cfg")
    t.ok(st == 200 and body == files["a.cfg"], "If-None-Match mismatch: 200", st)
    st, h, body, _ = curl("-H", f"If-Modified-Since: {lm}", base + "/a.cfg")
    t.ok(st == 304 and body == b"", "If-Modified-Since = Last-Modified: 304", st)
    st, h, body, _ = curl("-H", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT", base + "/a.cfg")
    t.ok(st == 200, "If-Modified-Since in the past: 200", st)
    st, h, body, _ = curl("-H", "If-Modified-Since: garbage", base + "/a.cfg")
    t.ok(st == 200, "unparsable If-Modified-Since ignored: 200", st)
    st, h, body, _ = curl("-H", "If-None-Match: \"other\"", "-H", f"If-Modified-Since: {lm}", base + "/a.cfg")
    t.ok(st == 200, "If-None-Match takes precedence over If-Modified-Since", st)
    st, h, body, _ = curl("-z", lm, base + "/a.cfg")
    t.ok(st == 304, "curl -z (time condition) gets 304", st)

    # --- ranges ---------------------------------------------------------------
    fw = files["fw.bin"]
    n = len(fw)
    st, h, body, _ = curl("-r", "0-99", base + "/fw.bin")
    t.ok(st == 206 and body == fw[:100] and h.get("content-range") == f"bytes 0-99/{n}",
         "Range 0-99: 206 with Content-Range", (st, h.get("content-range"), len(body)))
    st, h, body, _ = curl("-r", "-500", base + "/fw.bin")
    t.ok(st == 206 and body == fw[-500:] and h.get("content-range") == f"bytes {n-500}-{n-1}/{n}",
         "suffix range -500: last 500 bytes", (st, h.get("content-range")))
    st, h, body, _ = curl("-r", "99000-", base + "/fw.bin")
    t.ok(st == 206 and body == fw[99000:] and h.get("content-length") == str(n - 99000),
         "open-ended range 99000-: the rest", (st, len(body)))
    st, h, body, _ = curl("-r", "99990-200000", base + "/fw.bin")
    t.ok(st == 206 and body == fw[99990:], "range past the end is clamped", (st, len(body)))
    st, h, body, _ = curl("-r", f"{n}-", base + "/fw.bin")
    t.ok(st == 416 and h.get("content-range") == f"bytes */{n}", "range at the end: 416 bytes */size",
         (st, h.get("content-range")))
    st, h, body, _ = curl("-r", "200000-300000", base + "/fw.bin")
    t.ok(st == 416, "range beyond the size: 416", st)
    st, h, body, _ = curl("-r", "0-", base + "/empty.cfg")
    t.ok(st == 416 and h.get("content-range") == "bytes */0", "any range of an empty file: 416", (st, h))
    st, h, body, _ = curl("-r", "0-1,5-6", base + "/fw.bin")
    t.ok(st == 200 and body == fw, "multiple ranges: whole file with 200", (st, len(body)))
    st, h, body, _ = curl("-H", "Range: bytes=x-y", base + "/fw.bin")
    t.ok(st == 200 and body == fw, "malformed Range ignored: 200", st)
    st, h, body, _ = curl("-r", "10-19", "-H", f"If-Range: {etag}", base + "/a.cfg")
    t.ok(st == 206 and body == files["a.cfg"][10:20], "If-Range with the current ETag: 206", st)
    st, h, body, _ = curl("-r", "10-19", "-H", "If-Range: \"stale\"", base + "/a.cfg")
    t.ok(st == 200 and body == files["a.cfg"], "If-Range with a stale ETag: whole file", st)
    st, h, body, _ = curl("-C", "50000", base + "/fw.bin")
    t.ok(st == 206 and body == fw[50000:], "curl -C resume of a download", (st, len(body)))

    # --- HEAD ------------------------------------------------------------------
    st, h, body, _ = curl("-I", base + "/fw.bin")
    t.ok(st == 200 and h.get("content-length") == str(n) and body == b"", "HEAD: 200, length, no body",
         (st, h.get("content-length"), len(body)))
    data = raw(d.http_port, b"HEAD /a.cfg HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, rest = data.partition(b"\r\n\r\n")
    t.ok(head.startswith(b"HTTP/1.1 200") and rest == b""
         and f"Content-Length: {len(files['a.cfg'])}".encode() in head,
         "HEAD over a raw socket sends no body bytes", data[:300])
    st, h, body, _ = curl("-I", "-H", f"If-None-Match: {etag}", base + "/a.cfg")
    t.ok(st == 304, "conditional HEAD: 304", st)

    # --- keep-alive -------------------------------------------------------------
    p = subprocess.run(["curl", "-s", "-v", "-o", "/dev/null", "-o", "/dev/null",
                        base + "/a.cfg", base + "/b.xml"], capture_output=True, text=True, timeout=10)
    t.ok("Re-using existing connection" in p.stderr or "Reusing existing connection" in p.stderr,
         "keep-alive: the second URL re-uses the connection", p.stderr[-1500:])
    data = raw(d.http_port, b"GET /a.cfg HTTP/1.1\r\nHost: x\r\n\r\nGET /b.xml HTTP/1.1\r\nHost: x\r\n"
               b"Connection: close\r\n\r\n")
    t.ok(data.count(b"HTTP/1.1 200") == 2 and files["b.xml"] in data, "pipelined requests on one connection",
         data[:400])

    # --- errors -------------------------------------------------------------------
    st, h, body, _ = curl(base + "/missing.cfg")
    t.ok(st == 404 and 0 < len(body) < 100, "missing file: 404 with a short body", (st, body))
    st, h, body, _ = curl(base + "/sub")
    t.ok(st == 404, "a directory: 404", st)
    st, h, body, _ = curl("-X", "POST", "-d", "x=1", base + "/a.cfg")
    t.ok(st == 405 and h.get("allow") == "GET, HEAD", "POST: 405 with Allow: GET, HEAD", (st, h))
    for m in ("PUT", "DELETE", "OPTIONS", "TRACE"):
        st, h, body, _ = curl("-X", m, base + "/a.cfg")
        t.ok(st == 405 and "allow" in h, f"{m}: 405", st)

    # --- hostile paths ------------------------------------------------------------
    hostile = [
        "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
        "/%2e%2E/secret.txt", "/.%2e/secret.txt", "/%2e./secret.txt", "/..%2Fsecret.txt",
        "/%2e%2e%2fsecret.txt", "/%252e%252e/secret.txt", "/%252e%252e%252fsecret.txt",
        "/..%252fsecret.txt", "/..%5csecret.txt", "/..%5Csecret.txt", "/%2e%2e%5csecret.txt",
        "/a.cfg%00", "/a.cfg%00.png", "/%00", "/secret.txt%00/../a.cfg", "/..%00/secret.txt",
        "/%c0%ae%c0%ae/secret.txt", "/%c0%ae%c0%ae%c0%afsecret.txt", "/%e0%80%ae%e0%80%ae/secret.txt",
        "/%c1%9c", "/..%c0%afsecret.txt", "/%u002e%u002e/secret.txt", "/etc/passwd", "//etc/passwd",
        "///etc/passwd", "/./../secret.txt", "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt",
        "/escape_link", "/rel_escape", "/escape_dir/secret.txt", "/abs_link", "/sub/deeper/up3",
        "/../var/api-token", "/../var/admin-token", "/%2e%2e/var/admin-token", "/../phoneprov.yml",
        "/%2e%2e/phoneprov.yml", "/" + "a" * 5000, "/" + "a/" * 700 + "x",
        "/" + "%2e%2e/" * 50 + "etc/passwd", "/" + "../" * 30 + "etc/passwd", "/..;/secret.txt",
        "/%2e%2e;/secret.txt", "/%0d%0aSet-Cookie:%20x=1", "/a.cfg%0a", "/%ff%fe",
        "/..%e2%88%95secret.txt", "/..%ef%bc%8fsecret.txt", "/proc/self/environ", "/dev/null",
        "/%2fetc%2fpasswd", "/%2Fetc/passwd", "/a.cfg/../../secret.txt", "/sub/./../../secret.txt",
        "/%2e/secret.txt", "/.%2e%2fsecret.txt", "/%%32%65%%32%65/secret.txt",
        "/%25%32%65%25%32%65/secret.txt", "/%", "/%2", "/%zz", "/escape_dir/var/api-token",
        "/escape_dir/phoneprov.yml", "/.", "/..", "/sub/..", "/%2e", "/%2e%2e",
        "/" + "b" * 300 + ".cfg", "/%e2%80%ae..secret", "/..%09/secret.txt", "/..%7f/secret.txt",
        "/.../secret.txt", "/....//secret.txt",
    ]
    leaks = []
    statuses = {}
    for path in hostile:
        st, h, body, _ = curl("-H", "User-Agent: hostile", base + path)
        blob = body + repr(h).encode()
        if st in (200, 206) or any(s and s in blob for s in secrets_out) or passwd_first in blob:
            leaks.append((path[:80], st))
        statuses[st] = statuses.get(st, 0) + 1
    t.ok(len(hostile) >= 60, f"hostile corpus has {len(hostile)} curl cases (>= 60)")
    t.ok(not leaks, f"all {len(hostile)} hostile curl paths refused, nothing leaked", leaks)
    t.ok(set(statuses) <= {400, 403, 404, 414}, "hostile paths get 400/403/404/414 only", statuses)

    raw_cases = [
        b"GET /..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET \\..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET ../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET http://127.0.0.1/../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /../secret.txt HTTP/1.0\r\n\r\n",
        b"GET /..%2fsecret.txt HTTP/1.0\r\n\r\n",
        b"GET /a.cfg\x00/../../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /%2e%2e/secret.txt?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /escape_link#frag HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /" + b"A" * 40000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /..\t/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET //../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /\xc0\xae\xc0\xae/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /\x2e\x2e/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /a.cfg HTTP/1.1\r\nHost: x\r\n\r\nGET /../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ]
    raw_leaks = []
    for req in raw_cases:
        data = raw(d.http_port, req)
        last = data.rsplit(b"HTTP/1.", 1)[-1][:6] if data else b""
        if any(s and s in data for s in secrets_out) or passwd_first in data:
            raw_leaks.append((req[:60], data[:120]))
        if b"\x00" in req:
            # MHD ends the URL at a raw NUL: "/a.cfg" (inside the root) may be
            # served; what follows the NUL is never looked at
            if data.startswith(b"HTTP/1.1 200") and not data.endswith(files["a.cfg"]):
                raw_leaks.append((req[:60], data[:200]))
        elif req.startswith(b"GET /a.cfg HTTP/1.1"):
            if b" 200 " not in data or not (b" 403 " in data or b" 400 " in data):
                raw_leaks.append((req[:60], data[:200]))
        elif data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200") or b" 206 " in last:
            raw_leaks.append((req[:60], data[:120]))
    t.ok(not raw_leaks, f"all {len(raw_cases)} raw-socket hostile requests refused, nothing leaked", raw_leaks)
    refused = [e for e in d.log_events("http.refused")]
    t.ok(len(refused) >= 40, f"refusals logged at info ({len(refused)})")
    st, h, body, _ = curl(base + "/a.cfg")
    t.ok(st == 200, "server still serving after the corpus", st)
    rc = d.stop()
    log = d.read_log()
    t.ok(rc == 0 and "Sanitizer" not in log and "runtime error" not in log,
         "phoneprovd stops cleanly (exit 0, no sanitizer report)", (rc, log[-2000:]))

t.done()
