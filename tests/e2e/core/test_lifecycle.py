#!/usr/bin/python3
"""phoneprovd lifecycle: READY=1 only once listeners are bound (how fast is
measured by bench/startup, not here),
clean exit on SIGTERM/SIGINT, SIGHUP reload (applied, or refused keeping the
old config), abstract NOTIFY_SOCKET names, start-up failures."""
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time

from pphelp import PHONEPROVD, Daemon, TapRunner, to_yaml

t = TapRunner()


def wait_event(d, event, n=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = d.log_events(event)
        if len(ev) >= n:
            return ev
        time.sleep(0.02)
    return d.log_events(event)


def write_cfg(d, text=None):
    tmp = d.config_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text if text is not None else to_yaml(d.cfg))
    os.replace(tmp, d.config_path)


def tcp_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# -- READY time and clean stops ----------------------------------------------
times, rcs = [], []
on = {}
for i in range(5):
    d = Daemon(extra={"log_level": "info"})
    try:
        d.start()
        times.append(d.ready_s)
        if i == 0:
            ready = d.log_events("ready")
            on = ready[0] if ready else {}
            t.ok(len(ready) == 1 and ready[0].get("tftp") == f"127.0.0.1:{d.tftp_port}"
                 and ready[0].get("http") == f"127.0.0.1:{d.http_port}"
                 and ready[0].get("api") == f"127.0.0.1:{d.api_port}",
                 "event=ready logs the listen addresses", d.read_log())
            t.ok(on.get("http_on") == "1" and tcp_open(d.http_port),
                 "HTTP port accepts once READY=1 arrived", on)
        rcs.append(d.stop(signal.SIGTERM))
    finally:
        d.cleanup()
t.ok(len(times) == 5 and all(x is not None for x in times), "READY=1 arrives on every start",
     times)
print(f"# READY=1 after {statistics.median(times) * 1000:.1f} ms (median of {len(times)}; "
      f"not asserted: see bench/startup)", flush=True)
t.ok(rcs == [0] * 5, "exit 0 on SIGTERM", f"exit codes {rcs}")

with Daemon() as d:
    rc = d.stop(signal.SIGINT)
    t.ok(rc == 0, "exit 0 on SIGINT", d.read_log())
    t.ok(len(d.log_events("stopping")) == 1 and d.log_events("stopping")[0].get("signal") == "INT"
         and len(d.log_events("stopped")) == 1, "stop is logged", d.read_log())

# -- SIGHUP ---------------------------------------------------------------------
with Daemon(extra={"log_level": "info"}) as d:
    t.ok(not d.log_events("config.loaded"), "log_level info hides debug events at start")
    d.cfg["log_level"] = "debug"
    write_cfg(d)
    d.reload()
    done = wait_event(d, "reload.done")
    t.ok(len(done) == 1 and done[0].get("log_level") == "debug" and done[0].get("generation") == "2",
         "SIGHUP reload applies log_level debug", d.read_log())
    loaded = wait_event(d, "config.loaded")
    t.ok(len(loaded) == 1 and loaded[0].get("log_level") == "debug",
         "debug events appear after the reload", d.read_log())

    # a listen address change needs a restart: warned, not applied
    d.cfg["http"]["listen"] = "127.0.0.1:1"
    write_cfg(d)
    d.reload()
    warn = wait_event(d, "reload.needs_restart")
    t.ok(any(w.get("key") == "http.listen" and w.get("configured") == "127.0.0.1:1" for w in warn),
         "changed listen address is logged as needing a restart", d.read_log())
    wait_event(d, "reload.done", 2)

    # broken config: refused, old one kept
    write_cfg(d, "log_level: error\ntftp:\n  retries: many\n")
    d.reload()
    failed = wait_event(d, "reload.failed")
    want = f"{d.config_path}:3:12: tftp.retries must be an integer, not 'many'"
    t.ok(len(failed) == 1 and failed[0].get("error") == want and failed[0].get("level") == "error",
         "broken config on SIGHUP is reported with file:line:col", d.read_log())
    t.ok(d.proc.poll() is None, "daemon keeps running after a broken reload")
    t.ok(tcp_open(d.http_port), "HTTP still served after a broken reload")
    # old level (debug) still in force: a second HUP still logs debug events
    n_loaded = len(d.log_events("config.loaded"))
    write_cfg(d, to_yaml(d.cfg))
    d.reload()
    wait_event(d, "reload.done", 3)
    t.ok(len(d.log_events("config.loaded")) == n_loaded + 1, "old debug level was kept",
         d.read_log())

    # now error level: the info-level stop events disappear
    d.cfg["log_level"] = "error"
    write_cfg(d)
    d.reload()
    time.sleep(0.3)
    before = len(d.read_log().splitlines())
    rc = d.stop()
    after = d.read_log().splitlines()[before:]
    t.ok(rc == 0 and not [l for l in after if "event=stopping" in l],
         "log_level error applied by SIGHUP hides info events", "\n".join(after))

# -- abstract NOTIFY_SOCKET -------------------------------------------------------
d = Daemon()
try:
    name = f"pptest-{os.getpid()}-{time.monotonic_ns()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(5)
    env = dict(os.environ, NOTIFY_SOCKET="@" + name)
    p = subprocess.Popen([PHONEPROVD, "-c", d.config_path], env=env, stderr=subprocess.DEVNULL)
    try:
        msg = s.recv(4096).decode()
        t.ok("READY=1" in msg.split("\n") and f"MAINPID={p.pid}" in msg,
             "READY=1 sent to an abstract NOTIFY_SOCKET", msg)
    except socket.timeout:
        t.ok(False, "READY=1 sent to an abstract NOTIFY_SOCKET", "timeout")
    p.send_signal(signal.SIGTERM)
    msg = ""
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        pass
    t.ok(p.wait(10) == 0 and msg == "STOPPING=1", "STOPPING=1 sent on stop", msg)
    s.close()
finally:
    d.cleanup()

# -- start-up failures ----------------------------------------------------------------
with tempfile.TemporaryDirectory() as tmp:
    os.makedirs(f"{tmp}/tftpboot")
    os.makedirs(f"{tmp}/plugins")
    with open(f"{tmp}/blocker", "w") as f:
        f.write("x")
    with open(f"{tmp}/c.yml", "w") as f:
        f.write(f"data_dir: blocker/var\n")
    p = subprocess.run([PHONEPROVD, "-c", f"{tmp}/c.yml"], capture_output=True, text=True, timeout=20)
    errs = [l for l in p.stderr.splitlines() if "event=" not in l]
    t.ok(p.returncode == 1 and errs == [f"phoneprovd: {tmp}/blocker/var: cannot create folder: Not a directory"],
         "unusable data_dir: exit 1 with one clear line", p.stderr)

    p = subprocess.run([PHONEPROVD, "-c", f"{tmp}/c.yml", "extra"], capture_output=True, text=True)
    t.ok(p.returncode == 2, "stray argument is a usage error")

# -- a busy port -------------------------------------------------------------
d = Daemon()
busy = socket.socket()
busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
busy.bind(("127.0.0.1", d.http_port))
busy.listen(1)
try:
    p = subprocess.run([PHONEPROVD, "-c", d.config_path], capture_output=True, text=True,
                       timeout=20)
    errs = [l for l in p.stderr.splitlines() if "event=" not in l]
    t.ok(p.returncode == 1 and len(errs) == 1 and errs[0].startswith("phoneprovd: ")
         and str(d.http_port) in errs[0], "HTTP port in use: exit 1 with one clear line",
         p.stderr)
finally:
    busy.close()
    d.cleanup()
t.done()
