#!/usr/bin/python3
"""phoneprovd under the shipped unit's system-call filter (issue 19, item 4).

unit_seccomp.py builds the filter from the generated unit (build/dist/
phoneprovd.service) exactly as systemd reads it (@system-service, minus
~@privileged @resources, plus the exceptions) and installs it with libseccomp
before exec'ing phoneprovd; the filter is inherited by every child, so the
firmware worker (spawned for GET /plugins/{name}/packages) runs under it too.

- control: under the filter a denied call (sched_setaffinity) kills a process;
- strict (--kill: any call outside the filter kills, stricter than the unit's
  EPERM): phoneprovd starts, serves static files over HTTP and TFTP, gives a
  never-seen phone its file (provisioning worker, disk-mirror thread), lists
  a plugin's firmware packages (the worker process), reloads and stops with 0.
  tftp.max_transfers 1024 keeps its descriptor need under this machine's hard
  limit, as LimitNOFILE=65536 does under the unit;
- as the unit says (SystemCallErrorNumber=EPERM), with the default
  max_transfers: a denied setrlimit is an error the daemon reports, not a kill.
The sanitizer builds skip it: their runtimes make calls of their own that the
unit does not allow (the normal build runs it)."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request

import pphelp
from pphelp import BUILD, Daemon, TapRunner

t = TapRunner()
HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(BUILD, "dist", "phoneprovd.service")
WRAP = ["/usr/bin/python3", os.path.join(HERE, "unit_seccomp.py"), UNIT]

if os.environ.get("PP_SANITIZED"):
    t.skip("phoneprovd under the unit's system-call filter",
           "sanitizer runtimes need calls outside the unit's filter; the normal build runs it")
    t.done()
    sys.exit(0)


def get(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# the filter is real: a call it denies kills the process
p = subprocess.run(WRAP + ["--kill", "--", "/usr/bin/python3", "-c",
                           "import os; os.sched_setaffinity(0, {0}); print('alive')"],
                   capture_output=True, text=True, timeout=60)
t.ok(p.returncode == -signal.SIGSYS and "alive" not in p.stdout,
     "control: sched_setaffinity (@resources) under the filter is killed by SIGSYS",
     f"rc={p.returncode} {p.stdout} {p.stderr[-300:]}")

# HTTPS (GnuTLS) and the PROXY-protocol accept thread run under the filter too
pki = tempfile.mkdtemp(prefix="pptest-pki-")
tls_cert, tls_key = os.path.join(pki, "c.pem"), os.path.join(pki, "k.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", tls_key, "-out", tls_cert,
                "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
               check=True, capture_output=True, timeout=60)
https_port = pphelp.free_port()
d = Daemon(extra={"log_level": "info", "tftp": {"max_transfers": 1024},
                  "http": {"trusted_proxies": ["127.0.0.2"]},
                  "https": {"listen": f"127.0.0.1:{https_port}", "cert": tls_cert,
                            "key": tls_key}},
           wrapper=WRAP + ["--kill", "--"])
try:
    d.start()
    with open(os.path.join(d.root, "static.cfg"), "wb") as f:
        f.write(b"static\n")
    st, body = get(f"http://127.0.0.1:{d.http_port}/static.cfg")
    t.ok(st == 200 and body == b"static\n", "strict filter: a static file over HTTP", st)
    out = os.path.join(d.tmp, "tftp.out")
    p = subprocess.run(["tftp", "127.0.0.1", str(d.tftp_port), "-m", "binary", "-c", "get",
                        "static.cfg", out], capture_output=True, text=True, timeout=30)
    t.ok(p.returncode == 0 and open(out, "rb").read() == b"static\n",
         "strict filter: a static file over TFTP", p.stderr)
    mac = "805ec0c0ffee"
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/{mac}.cfg",
                                 headers={"User-Agent": "Yealink SIP-T46S 66.86.0.15"})
    with urllib.request.urlopen(req, timeout=20) as r:
        st, body = r.status, r.read()
    mirror = os.path.join(d.data_dir, "tftpboot", f"{mac}.cfg")
    t.ok(st == 200 and b"#!version" in body and pphelp.mirrored(mirror, body),
         "strict filter: a never-seen phone gets its file, the mirror thread writes it", st)
    st, body = get(f"http://127.0.0.1:{d.api_port}/api/v1/plugins/yealink/packages", d.token)
    t.ok(st == 200 and b"packages" in body,
         "strict filter: the firmware worker lists yealink's packages", body[:300])
    d.reload()
    st, _ = get(f"http://127.0.0.1:{d.http_port}/static.cfg")
    t.ok(st == 200 and d.proc.poll() is None, "strict filter: alive and serving after SIGHUP", st)
    p = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", tls_cert, "--interface",
                        "127.0.0.2", "-H", "X-Forwarded-For: 198.51.100.4",
                        f"https://127.0.0.1:{https_port}/static.cfg"],
                       capture_output=True, timeout=30)
    t.ok(p.stdout == b"static\n" and d.proc.poll() is None,
         "strict filter: HTTPS (GnuTLS, certificate reloaded at SIGHUP) through the "
         "PROXY-protocol accept thread", p.stderr)
    rc = d.stop()
    t.ok(rc == 0, "strict filter: SIGTERM exits 0 (no SIGSYS at any step)", f"rc={rc}\n" +
         d.read_log()[-1500:])
finally:
    d.stop()
    d.cleanup()
    shutil.rmtree(pki, ignore_errors=True)

# as the unit says: a denied call is EPERM, reported
d = Daemon(extra={"log_level": "info"}, wrapper=WRAP + ["--"])
try:
    d.start()
    st, _ = get(f"http://127.0.0.1:{d.http_port}/health")
    st2, _ = get(f"http://127.0.0.1:{d.api_port}/api/v1/health")
    fd = [e for e in d.log_events("tftp.fd_limit")]
    t.ok(st2 == 200 and fd and d.proc.poll() is None,
         "unit's EPERM: the default max_transfers starts, its descriptor limit reported "
         f"({fd[0].get('nofile') if fd else None})", d.read_log()[-1500:])
    t.ok(d.stop() == 0, "unit's EPERM: SIGTERM exits 0")
finally:
    d.stop()
    d.cleanup()
t.done()
