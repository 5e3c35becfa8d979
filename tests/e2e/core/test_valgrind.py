#!/usr/bin/python3
"""phoneprovd under valgrind: start (READY=1), SIGHUP reload, SIGTERM; no
definite leak and no memory error. Also the CLI on the same store."""
import os
import shutil
import signal
import time

import pphelp
from pphelp import Daemon, TapRunner

t = TapRunner()
vg = shutil.which("valgrind")
if not vg or os.environ.get("PP_SANITIZED"):
    why = "valgrind not installed" if not vg else "sanitizer build"
    for name in ("phoneprovd start/reload/stop: exit 0", "phoneprovd: no leak, no error",
                 "phoneprov devices add/list: no leak, no error"):
        t.skip(name, why)
    t.done()

VG = [vg, "--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=3",
      "--show-leak-kinds=definite", "--track-fds=no", "--quiet"]


class VgDaemon(Daemon):
    def start(self):
        real = pphelp.PHONEPROVD
        wrapper = os.path.join(self.tmp, "vg-phoneprovd")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec " + " ".join(VG + [f"--log-file={self.tmp}/vg.log", real])
                    + ' "$@"\n')
        os.chmod(wrapper, 0o755)
        pphelp.PHONEPROVD = wrapper
        try:
            return super().start()
        finally:
            pphelp.PHONEPROVD = real


d = VgDaemon(ready_timeout=60)
try:
    d.start()
    d.reload()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not d.log_events("reload.done"):
        time.sleep(0.1)
    # the CLI under valgrind against the running daemon's store
    pphelp_cli = pphelp.PHONEPROV
    with open(f"{d.tmp}/vg-cli", "w") as f:
        f.write("#!/bin/sh\nexec " + " ".join(VG + [f"--log-file={d.tmp}/vg-cli.%p.log", pphelp_cli])
                + ' "$@"\n')
    os.chmod(f"{d.tmp}/vg-cli", 0o755)
    pphelp.PHONEPROV = f"{d.tmp}/vg-cli"
    rcs = [d.cli("devices", "add", "001122334455", "--ip", "10.1.1.1").returncode,
           d.cli("--json", "devices", "list").returncode,
           d.cli("devices", "show", "001122334455").returncode,
           d.cli("devices", "rm", "001122334455").returncode]
    pphelp.PHONEPROV = pphelp_cli
    rc = d.stop(signal.SIGTERM, timeout=60)
    t.ok(rc == 0 and d.log_events("reload.done"), "phoneprovd start/reload/stop: exit 0",
         f"exit {rc}\n" + d.read_log())
    with open(f"{d.tmp}/vg.log") as f:
        log = f.read()
    t.ok(log.strip() == "", "phoneprovd: no leak, no error", log)
    logs = sorted(x for x in os.listdir(d.tmp) if x.startswith("vg-cli."))
    log = ""
    for x in logs:
        with open(os.path.join(d.tmp, x)) as f:
            log += f.read()
    t.ok(rcs == [0, 0, 0, 0] and len(logs) == 4 and log.strip() == "", "phoneprov devices add/list: no leak, no error",
         f"exit codes {rcs}\n{log}")
finally:
    d.cleanup()
t.done()
