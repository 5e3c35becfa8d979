#!/usr/bin/python3
"""Reverse proxies (http.trusted_proxies): X-Forwarded-For and the PROXY
protocol v1/v2 are believed only from a trusted proxy. Distinct clients are
distinct loopback source addresses (127.0.0.x) talking to 127.0.0.1."""
import json
import os
import socket
import ssl
import struct
import subprocess
import time

from pphelp import Daemon, TapRunner, PHONEPROVD, to_yaml, free_port

t = TapRunner()

PROXY = "127.0.0.2"      # trusted
CHAIN = "127.0.0.9"      # trusted through 127.0.0.8/30
STRANGER = "127.0.0.3"   # not trusted


def request(src, raw, timeout=3.0):
    """Send raw bytes from source address src; everything received."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", d.http_port))
    s.sendall(raw)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return data


def get(src, path, headers=(), prefix=b""):
    req = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    for h in headers:
        req += h + "\r\n"
    data = request(src, prefix + (req + "\r\n").encode())
    return int(data.split(b" ")[1]) if data.startswith(b"HTTP/") else 0


def last_client(path):
    """The client= of the last access-log line for path."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        ev = [e for e in d.log_events("http.request") if e.get("path") == path]
        if ev:
            return ev[-1].get("client")
        time.sleep(0.02)
    return None


def v2(cmd, fam, body):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    return sig + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) + body


d = Daemon(extra={"http": {"trusted_proxies": [PROXY, "127.0.0.8/30", "2001:db8:1::/48"]}})

# -- configuration errors ----------------------------------------------------
bad = os.path.join(d.tmp, "bad.yml")
for entry, why in (("10.0.0.1/8", "bits set after the prefix"),
                   ("proxy.example", "not a numeric IPv4 or IPv6 address"),
                   ("10.0.0.0/33", "prefix length that is not 0..32")):
    c = dict(d.cfg)
    c["http"] = dict(d.cfg["http"], trusted_proxies=[entry])
    with open(bad, "w") as f:
        f.write(to_yaml(c))
    p = subprocess.run([PHONEPROVD, "-c", bad, "--check"], capture_output=True, text=True,
                       timeout=30)
    t.ok(p.returncode == 1 and why in p.stderr and "http.trusted_proxies" in p.stderr
         and bad + ":" in p.stderr, f"trusted_proxies '{entry}' is a FILE:LINE:COL error",
         p.stderr)

# the HTTPS listener goes through the same front: a self-signed certificate
tls_cert, tls_key = os.path.join(d.tmp, "c.pem"), os.path.join(d.tmp, "k.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", tls_key, "-out", tls_cert,
                "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
               check=True, capture_output=True, timeout=60)
https_port = free_port()
d.cfg["https"] = {"listen": f"127.0.0.1:{https_port}", "cert": tls_cert, "key": tls_key}
with open(d.config_path, "w") as f:
    f.write(to_yaml(d.cfg))


def tls_get(src, path, prefix=b""):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.bind((src, 0))
    raw.settimeout(5)
    raw.connect(("127.0.0.1", https_port))
    raw.sendall(prefix)
    c = ssl.create_default_context(cafile=tls_cert)
    s = c.wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ssl.SSLError, OSError):
        pass
    s.close()
    return int(data.split(b" ")[1]) if data.startswith(b"HTTP/") else 0


try:
    d.start()
    with open(os.path.join(d.root, "static.cfg"), "wb") as f:
        f.write(b"static=1\n")
    for i in range(1, 12):
        with open(os.path.join(d.root, f"f{i}.cfg"), "wb") as f:
            f.write(b"x\n")
    start = d.log_events("http.start")
    t.ok(start and start[0].get("proxy_protocol") == "1",
         "trusted proxies at start: the PROXY-protocol front is on", start)

    # -- X-Forwarded-For ------------------------------------------------------
    st = get(PROXY, "/f1.cfg", ["X-Forwarded-For: 198.51.100.7"])
    t.ok(st == 200 and last_client("/f1.cfg") == "198.51.100.7",
         "XFF from a trusted proxy names the client", (st, last_client("/f1.cfg")))
    st = get(STRANGER, "/f2.cfg", ["X-Forwarded-For: 198.51.100.7"])
    t.ok(st == 200 and last_client("/f2.cfg") == STRANGER,
         "XFF from an untrusted peer is ignored", last_client("/f2.cfg"))
    get(PROXY, "/f3.cfg", ["X-Forwarded-For: 192.0.2.66, 203.0.113.5, 127.0.0.9"])
    t.ok(last_client("/f3.cfg") == "203.0.113.5",
         "the right-most untrusted entry wins (a client's own entries on the left are ignored)",
         last_client("/f3.cfg"))
    get(PROXY, "/f4.cfg", ["X-Forwarded-For: 192.0.2.66", "X-Forwarded-For: 203.0.113.6, 127.0.0.10"])
    t.ok(last_client("/f4.cfg") == "203.0.113.6", "several XFF headers are one list, in order",
         last_client("/f4.cfg"))
    get(PROXY, "/f5.cfg", ["X-Forwarded-For: 203.0.113.5, not-an-address"])
    t.ok(last_client("/f5.cfg") == PROXY, "an XFF with a non-address is ignored as a whole",
         last_client("/f5.cfg"))
    get(CHAIN, "/f6.cfg", ["X-Forwarded-For: 127.0.0.2"])
    t.ok(last_client("/f6.cfg") == PROXY,
         "every hop trusted: the left-most one", last_client("/f6.cfg"))

    # -- the device is identified with the forwarded address -----------------
    st = get(PROXY, "/805ec0a1b2c3.cfg",
             ["X-Forwarded-For: 198.51.100.20",
              "User-Agent: Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3"])
    p = d.cli("devices", "show", "805ec0a1b2c3", "--json")
    dev = json.loads(p.stdout) if p.returncode == 0 else {}
    t.ok(st == 200 and dev.get("ip") == "198.51.100.20",
         "a phone behind the proxy gets a device with its own address", (st, dev))
    st = get(STRANGER, "/805ec0a1b2d4.cfg",
             ["X-Forwarded-For: 198.51.100.21",
              "User-Agent: Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:d4"])
    p = d.cli("devices", "show", "805ec0a1b2d4", "--json")
    dev = json.loads(p.stdout) if p.returncode == 0 else {}
    t.ok(st == 200 and dev.get("ip") == STRANGER,
         "an untrusted peer's XFF does not set a device's address", (st, dev))

    # -- PROXY protocol -------------------------------------------------------
    st = get(PROXY, "/f7.cfg", prefix=b"PROXY TCP4 198.51.100.8 127.0.0.1 5555 80\r\n")
    t.ok(st == 200 and last_client("/f7.cfg") == "198.51.100.8",
         "PROXY v1 from a trusted proxy names the client", (st, last_client("/f7.cfg")))
    body = socket.inet_pton(socket.AF_INET6, "2001:db8::5") + \
        socket.inet_pton(socket.AF_INET6, "2001:db8::1") + struct.pack("!HH", 40000, 443)
    st = get(PROXY, "/f8.cfg", prefix=v2(1, 0x21, body + b"\x04\x00\x01x"))  # with a TLV
    t.ok(st == 200 and last_client("/f8.cfg") == "2001:db8::5",
         "PROXY v2 (TCP over IPv6, with a TLV) from a trusted proxy names the client",
         (st, last_client("/f8.cfg")))
    body4 = socket.inet_aton("198.51.100.9") + socket.inet_aton("127.0.0.1") + \
        struct.pack("!HH", 1234, 80)
    st = get(PROXY, "/f9.cfg", prefix=v2(1, 0x11, body4))
    t.ok(st == 200 and last_client("/f9.cfg") == "198.51.100.9", "PROXY v2 over IPv4",
         last_client("/f9.cfg"))
    st = get(PROXY, "/f10.cfg", prefix=v2(0, 0x00, b""))
    t.ok(st == 200 and last_client("/f10.cfg") == PROXY,
         "PROXY v2 LOCAL (a health check) keeps the proxy's address", last_client("/f10.cfg"))
    st = get(PROXY, "/f11.cfg", ["X-Forwarded-For: 203.0.113.77"],
             prefix=b"PROXY TCP4 127.0.0.10 127.0.0.1 5555 80\r\n")
    t.ok(st == 200 and last_client("/f11.cfg") == "203.0.113.77",
         "PROXY naming a trusted hop, then its XFF", last_client("/f11.cfg"))
    st = get(STRANGER, "/static.cfg", prefix=b"PROXY TCP4 198.51.100.8 127.0.0.1 5555 80\r\n")
    t.ok(st == 400, "a PROXY header from an untrusted peer is not believed (400)", st)
    data = request(PROXY, b"PROXY TCP4 198.51.100.8 nope 5555 80\r\nGET / HTTP/1.0\r\n\r\n")
    t.ok(data == b"", "a malformed PROXY header from a trusted proxy: closed", data[:80])
    ref = [e for e in d.log_events("http.refused") if "PROXY" in e.get("reason", "")]
    t.ok(len(ref) == 1 and ref[0].get("client") == PROXY, "and logged", ref)
    st = get(PROXY, "/static.cfg")
    t.ok(st == 200, "a trusted proxy may also send plain HTTP", st)

    # -- HTTPS behind a TCP proxy: the PROXY header comes before the handshake
    st = tls_get(PROXY, "/f1.cfg", prefix=b"PROXY TCP4 198.51.100.30 127.0.0.1 5555 443\r\n")
    ev = [e for e in d.log_events("http.request") if e.get("path") == "/f1.cfg"]
    t.ok(st == 200 and ev and ev[-1].get("client") == "198.51.100.30",
         "https: PROXY v1 then TLS from a trusted proxy names the client", (st, ev[-1:]))
    st = tls_get(STRANGER, "/f2.cfg")
    ev = [e for e in d.log_events("http.request") if e.get("path") == "/f2.cfg"]
    t.ok(st == 200 and ev[-1].get("client") == STRANGER,
         "https: an untrusted client is served as itself", (st, ev[-1:]))
    t.ok(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
t.done()
