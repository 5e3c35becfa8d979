#!/usr/bin/python3
"""Idle monitors cost nothing: with every bundled plugin enabled and no
endpoint configured, each bundled monitor says once (info) that it is not
started, and the daemon has exactly the threads and file descriptors of a
daemon without the monitor plugins. SIGHUP does not repeat the message; an
endpoint given in phoneprov.yml starts the monitor, taking it away stops it."""
import os
import sys
import time

from pphelp import Daemon, TapRunner, SRC, to_yaml
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monhelp import Api, PbxServer, wait_for, wait_log  # noqa: E402

t = TapRunner()
BUNDLED = {"asterisk-ami/cdr", "avaya-ipoffice/smdr", "mitel-mivb/smdr", "panasonic-smdr/smdr",
           "siemens-hipath/cdr"}
PHONES = sorted(n for n in os.listdir(os.path.join(SRC, "plugins"))
                if os.path.exists(os.path.join(SRC, "plugins", n, "plugin.yml")) and
                not any(m.startswith(n + "/") for m in BUNDLED))


def threads(d):
    return len(os.listdir(f"/proc/{d.proc.pid}/task"))


def fds(d):
    return len(os.listdir(f"/proc/{d.proc.pid}/fd"))


def settle(d):
    """Threads and fds once startup is over (same value three times in a row)."""
    last, same = None, 0
    while same < 3:
        now = (threads(d), fds(d))
        same = same + 1 if now == last else 0
        last = now
        time.sleep(0.1)
    return last


base = Daemon(extra={"log_level": "info", "plugins": {"enabled": PHONES}})
with base:
    base_threads, base_fds = settle(base)

d = Daemon(extra={"log_level": "info"})
with d:
    api = Api(d)
    idle = d.log_events("monitor.idle")
    t.ok({e["monitor"] for e in idle} == BUNDLED and len(idle) == 5 and
         all(e["level"] == "info" for e in idle),
         "every bundled monitor without endpoint says once (info) that it is idle",
         [(e["monitor"], e["reason"]) for e in idle])
    t.ok({e["reason"] for e in idle} == {"no host configured", "no device configured",
                                          "no listen address configured"},
         "the reason names what is missing")
    t.ok(not d.log_events("monitor.started"), "no monitor thread started")
    now_threads, now_fds = settle(d)
    t.ok(now_threads == base_threads, "same threads as without the monitor plugins (%d)" %
         base_threads, f"{now_threads} vs {base_threads}")
    t.ok(now_fds == base_fds, "same file descriptors (%d)" % base_fds, f"{now_fds} vs {base_fds}")
    st, body, _ = api.get("/metrics", raw=True)
    t.ok(b"phoneprov_monitor_up{" not in body, "no metrics for idle monitors")
    d.reload()
    wait_log(d, "reload.done")
    d.reload()
    wait_log(d, "reload.done", count=2)
    t.ok(len(d.log_events("monitor.idle")) == 5, "SIGHUP does not repeat the idle messages")

    srv = PbxServer().start()
    d.cfg["plugins"]["settings"] = {"mitel-mivb": {"host": "127.0.0.1", "port": srv.port}}
    with open(d.config_path, "w") as f:
        f.write(to_yaml(d.cfg))
    d.reload()
    t.ok(wait_log(d, "monitor.connected", monitor="mitel-mivb/smdr") is not None and
         wait_for(lambda: threads(d) == base_threads + 1, 5),
         "an endpoint in phoneprov.yml starts the monitor: one more thread",
         f"{threads(d)} vs {base_threads}")
    del d.cfg["plugins"]["settings"]
    with open(d.config_path, "w") as f:
        f.write(to_yaml(d.cfg))
    d.reload()
    st = wait_log(d, "monitor.stopped", monitor="mitel-mivb/smdr")
    t.ok(st and wait_for(lambda: threads(d) == base_threads, 5) and
         wait_for(lambda: fds(d) == base_fds, 5),
         "without it the monitor stops: threads and fds back to the baseline",
         f"{threads(d)} {fds(d)}")
    t.ok(len([e for e in d.log_events("monitor.idle") if e["monitor"] == "mitel-mivb/smdr"]) == 2,
         "and says once more that it is idle")
    srv.close()
t.done()
