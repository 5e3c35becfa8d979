#!/usr/bin/python3
"""HTTPS listener: a test CA, server and client certificates made with openssl
at test time; curl and Python's ssl against the real daemon on 127.0.0.1.
Rendered and static files over TLS, client-certificate checks, TLS versions,
SIGHUP with a new certificate (new connections see it, a transfer in progress
completes on the old one), a bad certificate on SIGHUP keeps the running one,
and clear start errors for a bad certificate or a key that does not match."""
import hashlib
import os
import socket
import ssl
import subprocess
import time
import warnings

from pphelp import Daemon, TapRunner, PHONEPROVD, PHONEPROV, free_port

t = TapRunner()
warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are named on purpose


def sh(*args):
    subprocess.run(list(args), check=True, capture_output=True, timeout=60)


def make_pki(dirpath):
    """CA (server side), client CA, rogue CA; two server certs (serials
    0x1001 and 0x2002, SAN IP 127.0.0.1), a good and a rogue client cert."""
    p = lambda n: os.path.join(dirpath, n)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "clientca", "rogueca"):
        sh("openssl", "req", "-x509", *ec, "-keyout", p(ca + ".key"), "-out", p(ca + ".pem"),
           "-days", "2", "-subj", f"/CN=phoneprov test {ca}")
    ext = p("server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    cext = p("client.ext")
    with open(cext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")

    def leaf(name, ca, serial, extfile, cn):
        sh("openssl", "req", *ec, "-keyout", p(name + ".key"), "-out", p(name + ".csr"),
           "-subj", f"/CN={cn}")
        sh("openssl", "x509", "-req", "-in", p(name + ".csr"), "-CA", p(ca + ".pem"),
           "-CAkey", p(ca + ".key"), "-set_serial", serial, "-days", "2", "-out",
           p(name + ".pem"), "-extfile", extfile)
    leaf("server1", "ca", "0x1001", ext, "127.0.0.1")
    leaf("server2", "ca", "0x2002", ext, "127.0.0.1")
    leaf("client", "clientca", "0x31", cext, "805ec0a1b2c3")
    leaf("rogue", "rogueca", "0x32", cext, "805ec0a1b2c3")


def ctx(client=None, max_version=None):
    c = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
    if client:
        c.load_cert_chain(os.path.join(pki, client + ".pem"), os.path.join(pki, client + ".key"))
    if max_version:
        c.maximum_version = max_version
    return c


def tls_get(path, client="client", max_version=None, ua="test", headers_only=False):
    """One GET over TLS; returns (status, body, peer serial, TLS version)."""
    raw = socket.create_connection(("127.0.0.1", d.https_port), timeout=5)
    s = ctx(client, max_version).wrap_socket(raw, server_hostname="127.0.0.1")
    serial = s.getpeercert().get("serialNumber")
    version = s.version()
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: {ua}\r\n"
              "Connection: close\r\n\r\n".encode())
    data = bytearray()
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ssl.SSLError, ConnectionResetError):
        pass
    s.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
    return status, body, serial, version


def wait_event(event, n, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = d.log_events(event)
        if len(ev) >= n:
            return ev
        time.sleep(0.02)
    return d.log_events(event)


d = Daemon()
pki = os.path.join(d.tmp, "pki")
os.makedirs(pki)
make_pki(pki)
cert = os.path.join(d.tmp, "https-cert.pem")
key = os.path.join(d.tmp, "https-key.pem")


def install(name):
    with open(os.path.join(pki, name + ".pem"), "rb") as f:
        data = f.read()
    with open(cert + ".tmp", "wb") as f:
        f.write(data)
    os.rename(cert + ".tmp", cert)
    with open(os.path.join(pki, name + ".key"), "rb") as f:
        data = f.read()
    with open(key + ".tmp", "wb") as f:
        f.write(data)
    os.rename(key + ".tmp", key)


install("server1")
d.https_port = free_port()
d.cfg["https"] = {"listen": f"127.0.0.1:{d.https_port}", "cert": cert, "key": key,
                  "client_ca": os.path.join(pki, "clientca.pem")}
d.cfg["log_level"] = "info"
from pphelp import to_yaml  # noqa: E402
with open(d.config_path, "w") as f:
    f.write(to_yaml(d.cfg))

# -- start errors: --check and a start with a bad certificate or key ----------
bad_cfg = os.path.join(d.tmp, "bad.yml")


def check_with(cert_path, key_path):
    c = dict(d.cfg)
    c["https"] = dict(d.cfg["https"], cert=cert_path, key=key_path)
    with open(bad_cfg, "w") as f:
        f.write(to_yaml(c))
    return subprocess.run([PHONEPROVD, "-c", bad_cfg, "--check"], capture_output=True,
                          text=True, timeout=30)


garbage = os.path.join(d.tmp, "garbage.pem")
with open(garbage, "w") as f:
    f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
p = check_with(cert, key)
t.ok(p.returncode == 0, "--check accepts the certificate and its key", p.stderr)
p = check_with(garbage, key)
t.ok(p.returncode == 1 and "https.cert" in p.stderr and garbage in p.stderr
     and "not a PEM certificate" in p.stderr, "--check: a bad certificate is a clear error",
     p.stderr)
p = check_with(cert, os.path.join(pki, "server2.key"))
t.ok(p.returncode == 1 and "does not belong to the certificate" in p.stderr,
     "--check: a key of another certificate is a clear error", p.stderr)
p = check_with(cert, os.path.join(pki, "server2.key"))
p = subprocess.run([PHONEPROV, "-c", bad_cfg, "check-config"], capture_output=True, text=True,
                   timeout=30)
t.ok(p.returncode == 1 and "does not belong to the certificate" in p.stderr,
     "phoneprov check-config reports the same", p.stderr)
p = check_with(os.path.join(d.tmp, "nothere.pem"), key)
t.ok(p.returncode == 1 and "https.cert" in p.stderr and "nothere.pem" in p.stderr,
     "--check: a missing certificate file names the key and the file", p.stderr)
c = dict(d.cfg)
c["https"] = {"listen": f"127.0.0.1:{d.https_port}"}
with open(bad_cfg, "w") as f:
    f.write(to_yaml(c))
p = subprocess.run([PHONEPROVD, "-c", bad_cfg, "--check"], capture_output=True, text=True,
                   timeout=30)
t.ok(p.returncode == 1 and "https.cert and https.key are needed" in p.stderr
     and bad_cfg + ":" in p.stderr, "https.listen without cert/key: FILE:LINE:COL error",
     p.stderr)
p = check_with(garbage, key)  # the same config, started for real
p = subprocess.run([PHONEPROVD, "-c", bad_cfg], capture_output=True, text=True, timeout=30)
t.ok(p.returncode == 1 and "not a PEM certificate" in p.stderr,
     "phoneprovd with a bad certificate does not start, and says why", p.stderr)

try:
    d.start()
    ev = d.log_events("https.cert")
    t.ok(len(ev) == 1 and ev[0].get("serial") == "1001" and ev[0].get("client_ca") == "1",
         "start logs the certificate serial and the client CA", ev)

    # -- a rendered file with curl and the test CA ---------------------------
    big = os.urandom(16 << 20)
    with open(os.path.join(d.root, "fw.bin"), "wb") as f:
        f.write(big)
    with open(os.path.join(d.root, "static.cfg"), "wb") as f:
        f.write(b"static=1\n")
    out = os.path.join(d.tmp, "got.cfg")
    p = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", out, "-w", "%{http_code}",
                        "--cacert", os.path.join(pki, "ca.pem"),
                        "--cert", os.path.join(pki, "client.pem"),
                        "--key", os.path.join(pki, "client.key"),
                        "-A", "Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3",
                        f"https://127.0.0.1:{d.https_port}/805ec0a1b2c3.cfg"],
                       capture_output=True, text=True, timeout=20)
    body = open(out, "rb").read() if os.path.exists(out) else b""
    t.ok(p.stdout == "200" and b"T46S" in body,
         "curl --cacert over HTTPS gets the rendered file of a new phone",
         p.stdout + p.stderr + repr(body[:200]))
    st, body, serial, _ = tls_get("/static.cfg")
    t.ok(st == 200 and body == b"static=1\n" and serial == "1001",
         "a static file over TLS (certificate serial 1001)", (st, body, serial))
    st, body, _, _ = tls_get("/nothere.cfg")
    t.ok(st == 404, "a missing file is a 404 over TLS too", st)

    # -- TLS versions ---------------------------------------------------------
    _, _, _, v = tls_get("/static.cfg")
    t.ok(v == "TLSv1.3", "TLS 1.3 is negotiated by a modern client", v)
    st, _, _, v = tls_get("/static.cfg", max_version=ssl.TLSVersion.TLSv1_2)
    t.ok(st == 200 and v == "TLSv1.2", "TLS 1.2 still works", (st, v))
    try:
        c11 = ctx("client")
        c11.minimum_version = ssl.TLSVersion.TLSv1
        c11.maximum_version = ssl.TLSVersion.TLSv1_1
        c11.set_ciphers("ALL:@SECLEVEL=0")
        s = c11.wrap_socket(socket.create_connection(("127.0.0.1", d.https_port), timeout=5),
                            server_hostname="127.0.0.1")
        s.close()
        refused = False
    except (ssl.SSLError, OSError):
        refused = True
    t.ok(refused, "TLS 1.1 is refused")

    # -- client certificates --------------------------------------------------
    st, body, _, _ = tls_get("/static.cfg", client=None)
    t.ok(st == 403, "no client certificate: 403", (st, body))
    st, body, _, _ = tls_get("/static.cfg", client="rogue")
    t.ok(st == 403, "a client certificate from another CA: 403", (st, body))
    p = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w",
                        "%{http_code}", "--cacert", os.path.join(pki, "ca.pem"),
                        "--cert", os.path.join(pki, "server1.pem"),
                        "--key", os.path.join(pki, "server1.key"),
                        f"https://127.0.0.1:{d.https_port}/static.cfg"],
                       capture_output=True, text=True, timeout=20)
    t.ok(p.stdout == "403", "curl with a certificate the client CA did not sign: 403",
         p.stdout + p.stderr)
    ref = [e for e in d.log_events("http.refused") if "client certificate" in e.get("reason", "")]
    t.ok(len(ref) >= 3 and any(e.get("reason") == "no client certificate" for e in ref),
         "each refusal is logged with its reason", ref)

    # -- SIGHUP with a new certificate during a transfer ----------------------
    raw = socket.create_connection(("127.0.0.1", d.https_port), timeout=10)
    old = ctx("client").wrap_socket(raw, server_hostname="127.0.0.1")
    old_serial = old.getpeercert().get("serialNumber")
    old.sendall(b"GET /fw.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    first = old.recv(65536)
    install("server2")
    d.reload()
    ev = wait_event("https.cert", 2)
    t.ok(len(ev) == 2 and ev[1].get("serial") == "2002", "SIGHUP loads the new certificate", ev)
    st, body, serial, _ = tls_get("/static.cfg")
    t.ok(st == 200 and serial == "2002", "a new connection sees the new certificate (2002)",
         serial)
    data = bytearray(first)
    while True:
        chunk = old.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    old.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    t.ok(old_serial == "1001" and head.startswith(b"HTTP/1.1 200")
         and hashlib.sha256(body).digest() == hashlib.sha256(big).digest(),
         "the transfer started before the reload completes, whole, on the old certificate",
         (old_serial, head[:40], len(body)))

    # -- a bad certificate on SIGHUP keeps the running one --------------------
    with open(cert, "w") as f:
        f.write("garbage\n")
    d.reload()
    fails = wait_event("https.reload_failed", 1)
    t.ok(len(fails) == 1 and "https.cert" in fails[0].get("error", "")
         and fails[0].get("keeping_serial") == "2002",
         "a bad certificate on SIGHUP is logged and the running one kept", fails)
    st, _, serial, _ = tls_get("/static.cfg")
    t.ok(st == 200 and serial == "2002", "and HTTPS still serves with it", (st, serial))
    install("server1")
    with open(key, "wb") as f:
        f.write(open(os.path.join(pki, "server2.key"), "rb").read())
    d.reload()
    fails = wait_event("https.reload_failed", 2)
    t.ok(len(fails) == 2 and "does not belong" in fails[1].get("error", ""),
         "a key that does not match on SIGHUP is refused too", fails)
    st, _, serial, _ = tls_get("/static.cfg")
    t.ok(st == 200 and serial == "2002", "the running pair still serves", serial)

    # -- plain HTTP is unchanged ----------------------------------------------
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        f"http://127.0.0.1:{d.http_port}/static.cfg"],
                       capture_output=True, text=True, timeout=20)
    t.ok(p.stdout == "200", "http.listen serves the same tree in clear", p.stdout)
    t.ok(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
t.done()
