#!/usr/bin/python3
"""phoneprovd gives up its privileges once its sockets are bound (STYLE §7):
- started as root with `user: nobody`: it runs as nobody, holds no
  capability, the data folder is nobody's, and it still serves;
- started like the systemd unit starts it (an unprivileged user with the
  ambient capabilities CAP_NET_BIND_SERVICE and CAP_NET_RAW, here through
  setpriv): after READY=1 no capability is left (effective, permitted,
  inheritable, ambient), and it still serves;
- started as root without `user:`: a warning says so.
The test needs root (CI runs as root): elsewhere it fails under CI=true."""
import os
import pwd
import shutil
import urllib.request

import pphelp
from pphelp import Daemon, TapRunner

t = TapRunner()


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def serves(d):
    with open(os.path.join(d.root, "hello.txt"), "w") as f:
        f.write("hello\n")
    os.chmod(os.path.join(d.root, "hello.txt"), 0o644)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/hello.txt", timeout=5) as r:
            return r.read() == b"hello\n"
    except OSError:
        return False


def no_caps(st):
    return all(int(st[k][0], 16) == 0 for k in ("CapEff", "CapPrm", "CapInh", "CapAmb"))


if os.geteuid() != 0:
    if os.environ.get("CI"):
        t.ok(False, "privilege tests need root (CI runs as root)")
    else:
        t.skip("privilege tests", "not root")
    t.done()

nobody = pwd.getpwnam("nobody")

# -- root with user: nobody --------------------------------------------------------
d = Daemon(extra={"user": "nobody", "log_level": "info"}, wrapper=["env"])
try:
    d.start()
    st = status(d.proc.pid)
    t.ok(st["Uid"] == [str(nobody.pw_uid)] * 4 and st["Gid"] == [str(nobody.pw_gid)] * 4,
         "root with user: nobody runs as nobody (real, effective, saved, fs)", st["Uid"])
    t.ok(no_caps(st), "and holds no capability", {k: st[k] for k in ("CapEff", "CapPrm", "CapAmb")})
    t.ok(os.stat(os.path.join(d.data_dir, "db")).st_uid == nobody.pw_uid,
         "the data folder is handed to nobody")
    t.ok(serves(d), "and still serves HTTP")
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/805ec0a1b2c3.cfg",
                                 headers={"User-Agent": "Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3"})
    with urllib.request.urlopen(req, timeout=5) as r:
        ok = r.status == 200 and b"T46S" in r.read()
    rendered = os.path.join(d.data_dir, "tftpboot", "805ec0a1b2c3.cfg")
    pphelp.mirrored(rendered)
    t.ok(ok and os.path.exists(rendered) and os.stat(rendered).st_uid == nobody.pw_uid,
         "a new phone is provisioned: nobody writes the store and the rendered file")
    t.ok(len(d.log_events("privs.user")) == 1, "the switch is logged", d.read_log())
    t.ok(d.stop() == 0, "clean stop")
finally:
    d.cleanup()

# -- the unit's way: unprivileged with ambient capabilities ---------------------------
setpriv = shutil.which("setpriv")
t.ok(setpriv is not None, "setpriv (util-linux) is installed")
if setpriv:
    caps = "+net_bind_service,+net_raw"
    d = Daemon(extra={"log_level": "info"},
               wrapper=[setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                        "--clear-groups", f"--inh-caps={caps}", f"--ambient-caps={caps}", "--"])
    try:
        # the data folder must be the service user's, as StateDirectory= makes it
        os.makedirs(d.data_dir, exist_ok=True)
        os.chown(d.data_dir, nobody.pw_uid, nobody.pw_gid)
        d.start()
        st = status(d.proc.pid)
        t.ok(st["Uid"][0] == str(nobody.pw_uid), "started as nobody", st["Uid"])
        t.ok(no_caps(st), "after READY=1 no capability is left (eff, prm, inh, amb)",
             {k: st[k] for k in ("CapEff", "CapPrm", "CapInh", "CapAmb")})
        t.ok(len(d.log_events("privs.dropped")) == 1, "the drop is logged", d.read_log())
        t.ok(serves(d), "and still serves HTTP")
        t.ok(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()

# -- root without user: warned -----------------------------------------------------------
with Daemon(extra={"log_level": "info"}) as d:
    t.ok(len(d.log_events("privs.root")) == 1, "root without user: a warning", d.read_log())
t.done()
