#!/usr/bin/python3
"""The systemd units meson generates from systemd/ (build/dist/): every
hardening line of DESIGN §2, `systemd-analyze verify` (with the built
binary substituted), `systemd-analyze security` at most 1.9; and what the
daemon does for systemd: RELOADING=1 with MONOTONIC_USEC, READY=1 again;
a reload that validates first (the unit's ExecReload lines, run here);
sockets passed through $LISTEN_FDS; <N> priorities and no ts= when stderr
is the journal ($JOURNAL_STREAM)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from pphelp import BUILD, PHONEPROVD, TapRunner, Daemon, free_port, parse_kv, to_yaml

t = TapRunner()
unit_path = os.path.join(BUILD, "dist", "phoneprovd.service")
sock_path = os.path.join(BUILD, "dist", "phoneprovd.socket")
with open(unit_path) as f:
    unit = f.read()
with open(sock_path) as f:
    sock_unit = f.read()


def directives(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


d = directives(unit)
left = re.findall(r"@[A-Z_]+@", unit + sock_unit)
t.ok(not left, "every @PLACEHOLDER@ substituted", left)
t.ok(d.get("Type") == ["notify"], "Type=notify")
for key, want in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                  ("PrivateTmp", "yes"), ("PrivateDevices", "yes"), ("ProtectKernelTunables", "yes"),
                  ("ProtectKernelModules", "yes"), ("ProtectKernelLogs", "yes"),
                  ("ProtectControlGroups", "yes"), ("ProtectClock", "yes"), ("ProtectHostname", "yes"),
                  ("ProtectProc", "invisible"), ("RestrictNamespaces", "yes"),
                  ("RestrictRealtime", "yes"), ("RestrictSUIDSGID", "yes"), ("LockPersonality", "yes"),
                  ("SystemCallArchitectures", "native"), ("DynamicUser", "yes"),
                  ("StateDirectory", "phoneprov"), ("PrivateMounts", "yes"), ("ProcSubset", "pid")]:
    t.ok(d.get(key) == [want], f"{key}={want}", d.get(key))
scf = d.get("SystemCallFilter", [])
t.ok(scf[:1] == ["@system-service"] and any(v.startswith("~@privileged") for v in scf)
     and scf[-1].split() == ["capset", "setpriority"]
     and len(scf) - 1 > next(i for i, v in enumerate(scf) if v.startswith("~@privileged")),
     "SystemCallFilter: @system-service, ~@privileged, then capset setpriority (the daemon "
     "drops its capability, the mirror thread lowers its priority)", scf)
t.ok(d.get("SystemCallErrorNumber") == ["EPERM"],
     "SystemCallErrorNumber=EPERM: a call outside the filter fails, the daemon lives",
     d.get("SystemCallErrorNumber"))
for key in ("CapabilityBoundingSet", "AmbientCapabilities"):
    caps = set(" ".join(d.get(key, [])).split())
    t.ok(caps == {"CAP_NET_RAW"}, f"{key} is CAP_NET_RAW alone (port 69 comes from the socket unit)", caps)
t.ok(d.get("Requires") == ["phoneprovd.socket"], "Requires=phoneprovd.socket", d.get("Requires"))
reload = d.get("ExecReload", [])
t.ok(len(reload) == 2 and reload[0].endswith("--check") and "phoneprovd" in reload[0]
     and "-HUP" in reload[1], "ExecReload: phoneprovd --check, then kill -HUP", reload)
t.ok(all(v.startswith("/") and "phoneprovd -c /" in v for v in d.get("ExecStart", [])),
     "ExecStart: the installed phoneprovd with the installed configuration", d.get("ExecStart"))
s = directives(sock_unit)
t.ok(s.get("ListenDatagram") == ["0.0.0.0:69"] and s.get("FreeBind") == ["yes"],
     "phoneprovd.socket: TFTP port 69, FreeBind=yes", s)

sa = shutil.which("systemd-analyze")
with tempfile.TemporaryDirectory() as tmp:
    sbindir = re.search(r"ExecStart=(\S+)/phoneprovd", unit).group(1)
    text = unit.replace(sbindir + "/phoneprovd", os.path.abspath(PHONEPROVD))
    path = os.path.join(tmp, "phoneprovd.service")
    with open(path, "w") as f:
        f.write(text)
    with open(os.path.join(tmp, "phoneprovd.socket"), "w") as f:
        f.write(sock_unit)
    if not sa:
        t.ok(False, "systemd-analyze is installed (scripts/deps.sh: systemd)")
    else:
        p = subprocess.run([sa, "verify", "--man=no", path, os.path.join(tmp, "phoneprovd.socket")],
                           capture_output=True, text=True, timeout=60, cwd=tmp)
        out = (p.stdout + p.stderr).strip()
        ours = [l for l in out.splitlines() if "phoneprovd." in l]
        t.ok(p.returncode == 0 and not ours, "systemd-analyze verify: no complaint", out)
        p = subprocess.run([sa, "security", "--offline=true", path], capture_output=True, text=True,
                           timeout=60, cwd=tmp)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout + p.stderr)
        score = float(m.group(1)) if m else 99.0
        print(f"# systemd-analyze security phoneprovd.service: {score}", flush=True)
        t.ok(score <= 1.9, f"systemd-analyze security: {score} <= 1.9", (p.stdout + p.stderr)[-3000:])
        # control: the same check does notice a broken unit
        with open(path, "w") as f:
            f.write(text.replace("Type=notify", "Type=notifyy").replace("ProtectSystem=strict",
                                                                     "ProtectSystem=very"))
        p = subprocess.run([sa, "verify", "--man=no", path], capture_output=True, text=True,
                           timeout=60, cwd=tmp)
        out = (p.stdout + p.stderr).strip()
        t.ok(any("phoneprovd.service" in l for l in out.splitlines()),
             "systemd-analyze verify flags a broken copy (control)", out)


# ---- the daemon's side ---------------------------------------------------------------
def notes(dm, timeout=5.0):
    """Datagrams on the notify socket until READY=1 (or the timeout)."""
    got, deadline = [], time.monotonic() + timeout
    dm.notify.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            msg = dm.notify.recv(4096).decode()
        except socket.timeout:
            continue
        got.append(msg)
        if "READY=1" in msg.split("\n"):
            break
    return got


with Daemon() as dm:
    t0 = time.clock_gettime(time.CLOCK_MONOTONIC)
    dm.reload()
    got = notes(dm)
    rel = [m for m in got if "RELOADING=1" in m.split("\n")]
    usec = [int(l.split("=", 1)[1]) for m in rel for l in m.split("\n") if l.startswith("MONOTONIC_USEC=")]
    t.ok(rel and usec and abs(usec[0] / 1e6 - t0) < 5 and "READY=1" in got[-1].split("\n"),
         "SIGHUP: RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC µs), then READY=1", got)

    # the unit's ExecReload lines, as systemd runs them, on a broken configuration
    good = open(dm.config_path).read()
    with open(dm.config_path, "w") as f:
        f.write(good + "tftp: {listen: nowhere}\n")
    check = [os.path.abspath(PHONEPROVD), "-c", dm.config_path, "--check"]
    p = subprocess.run(check, capture_output=True, text=True, timeout=30)
    t.ok(p.returncode != 0 and "phoneprov.yml:" in p.stderr,
         "ExecReload's first line fails on a broken configuration: the HUP is never sent", p.stderr)
    with open(dm.config_path, "w") as f:
        f.write(good)
    p = subprocess.run(check, capture_output=True, text=True, timeout=30)
    t.ok(p.returncode == 0, "... and passes on a good one", p.stderr)

# sockets handed over by systemd: LISTEN_PID/LISTEN_FDS, fds from 3
port, other = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u1.bind(("127.0.0.1", port))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.bind(("127.0.0.1", other))
script = ('exec 3<&%d 4<&%d; LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=tftp:extra exec "$@"'
          % (u1.fileno(), u2.fileno()))
dm = Daemon(extra={"tftp": {"listen": f"127.0.0.1:{port}"}, "log_level": "info"})
dm.wrapper = ["/bin/sh", "-c", script, "sh"]
dm.pass_fds = (u1.fileno(), u2.fileno())
try:
    dm.start()
    u1.close()
    u2.close()
    with open(os.path.join(dm.root, "a.txt"), "w") as f:
        f.write("through the inherited socket\n")
    p = subprocess.run(["curl", "-s", "--max-time", "10", f"tftp://127.0.0.1:{port}/a.txt"],
                       capture_output=True, text=True, timeout=20)
    t.ok(p.stdout == "through the inherited socket\n", "TFTP served on the socket systemd passed", p)
    inh = dm.log_events("sockets.inherited")
    unused = dm.log_events("sockets.unused")
    t.ok(any(e.get("listen") == f"127.0.0.1:{port}" for e in inh), "sockets.inherited logged", inh)
    t.ok(any(e.get("port") == str(other) for e in unused),
         "a passed socket no listen address uses: sockets.unused, closed", unused)
    # the line is written when the last ACK arrives, which may be after curl
    # has exited: wait for it
    deadline = time.monotonic() + 10
    tftp_done = dm.log_events("tftp.done")
    while not tftp_done and time.monotonic() < deadline:
        time.sleep(0.1)
        tftp_done = dm.log_events("tftp.done")
    t.ok(tftp_done and tftp_done[-1].get("level") == "info", "tftp.done at info", tftp_done[-1:])
finally:
    dm.cleanup()

# journald: <N> priorities, no ts=, only when $JOURNAL_STREAM names our stderr
if True:
    for named in (True, False):
        dm = Daemon(extra={"log_level": "info"})
        open(dm.log_path, "wb").close()  # start() truncates it: same inode
        st = os.stat(dm.log_path)
        ino = st.st_ino if named else st.st_ino + 1
        dm.env["JOURNAL_STREAM"] = f"{st.st_dev}:{ino}"
        try:
            dm.start()
            with open(os.path.join(dm.root, "x.txt"), "w") as f:
                f.write("x")
            subprocess.run(["curl", "-s", "--max-time", "5", f"tftp://127.0.0.1:{dm.tftp_port}/missing.cfg"],
                           capture_output=True, timeout=10)
            time.sleep(0.3)
        finally:
            dm.stop()
            lines = dm.read_log().splitlines()
            dm.cleanup()
        ours = [l for l in lines if "event=" in l]
        if named:
            t.ok(ours and all(re.match(r"^<[3-7]>level=", l) for l in ours) and
                 not any("ts=" in l for l in ours),
                 "JOURNAL_STREAM = our stderr: <N>level=... lines without ts=", "\n".join(ours[:5]))
            pri = {parse_kv(l[3:]).get("event"): l[:3] for l in ours}
            t.ok(pri.get("start") == "<6>" and pri.get("tftp.refused") == "<6>",
                 "info is <6>; a file not found is information, not a warning", pri)
        else:
            t.ok(ours and all(l.startswith("ts=") for l in ours),
                 "JOURNAL_STREAM naming another file: plain lines with ts=", "\n".join(ours[:3]))
t.done()
