#!/usr/bin/python3
"""Backoff, measured. With the PBX down, a monitor retries after `timeout`,
then after each further failure `timeout_decay` times longer, never more than
`max_timeout`; a good connection resets the wait to `timeout`.
Scaled down through settings (timeout 0.2 s, decay 1.5, max 1.0 s: waits
0.2, 0.3, 0.45, 0.675, 1.0, 1.0 ...; the defaults 10, 15, 22.5 ... 300 follow
the same code). Measured twice: from the daemon's log (connection refused)
and from the PBX side (accept times of a PBX that refuses the login)."""
import os
import sys
import threading
import time
from datetime import datetime

from pphelp import Daemon, TapRunner, free_port
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monhelp import PbxServer, close_to, simple_monitor, wait_for, write_plugin  # noqa: E402

t = TapRunner()
EXPECT = [0.2, 0.3, 0.45, 0.675, 1.0, 1.0, 1.0]


def ts(e):
    return datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


# ---- A: connection refused, timed from the log -------------------------------------------
port = free_port()  # nothing listens here
d = Daemon()
write_plugin(d.tmp + "/plugins", "tpbx",
             simple_monitor("down", "tcp", f"    host: 127.0.0.1\n    port: {port}\n"
                            "    timeout: 0.2\n    timeout_decay: 1.5\n    max_timeout: 1.0\n") +
             simple_monitor("dflt", "tcp", f"    host: 127.0.0.1\n    port: {port}\n") +
             simple_monitor("cap", "tcp", f"    host: 127.0.0.1\n    port: {port}\n"
                            "    timeout: 0.1\n    timeout_decay: 2\n    max_timeout: 0.25\n"))
d.cfg["plugins"]["dir"] = d.tmp + "/plugins"
with open(d.config_path, "w") as f:
    from pphelp import to_yaml
    f.write(to_yaml(d.cfg))
with d:
    ev = wait_for(lambda: (lambda e: e if len(e) >= 8 else None)(
        [x for x in d.log_events("monitor.connect_failed") if x["monitor"] == "tpbx/down"]), 15)
    ev = ev or []
    waits = [float(e["retry_in_s"]) for e in ev[:7]]
    t.ok(waits == EXPECT, "logged waits: 0.2, 0.3, 0.45, 0.675, 1.0 (capped), 1.0, 1.0", waits)
    gaps = [ts(b) - ts(a) for a, b in zip(ev, ev[1:])][:7]
    print("# measured gaps (log):", " ".join("%.3f" % g for g in gaps), flush=True)
    t.ok(len(gaps) == 7 and all(close_to(g, w) for g, w in zip(gaps, EXPECT)),
         "measured gaps between attempts follow them", ["%.3f" % g for g in gaps])
    t.ok(all(e.get("error", "").startswith("connect:") and "refused" in e["error"] for e in ev),
         "each failure is logged with its cause", ev[:1])
    t.ok([e["failures"] for e in ev[:4]] == ["1", "2", "3", "4"], "failures counted")
    dflt = [e for e in d.log_events("monitor.connect_failed") if e["monitor"] == "tpbx/dflt"]
    t.ok(dflt and dflt[0]["retry_in_s"] == "10.000",
         "defaults: the first wait is timeout = 10 s", dflt[:1])
    cap = [float(e["retry_in_s"]) for e in d.log_events("monitor.connect_failed")
           if e["monitor"] == "tpbx/cap"][:5]
    t.ok(cap[:5] == [0.1, 0.2, 0.25, 0.25, 0.25], "decay 2, max 0.25: 0.1, 0.2, 0.25 ...", cap)
    t0 = time.monotonic()
    rc = d.stop()
    t.ok(rc == 0 and time.monotonic() - t0 < 2, "stop is prompt during a 10 s wait")

# ---- B: measured at the PBX, which refuses logins, then accepts one --------------------------
mode = {"good": False}
lock = threading.Lock()


def pbx(conn, idx):
    with lock:
        good = mode["good"]
        mode["good"] = False  # one good connection only
    if good:
        conn.sendall(b"OK\r\nO,0301555,201,5,good1\r\n")
    else:
        conn.sendall(b"NO\r\n")
    time.sleep(0.05)
    conn.close()


srv = PbxServer(pbx).start()
d = Daemon()
write_plugin(d.tmp + "/plugins", "tpbx",
             f"  - name: login\n    transport: tcp\n    host: 127.0.0.1\n    port: {srv.port}\n"
             "    timeout: 0.2\n    timeout_decay: 1.5\n    max_timeout: 1.0\n"
             "    login:\n      - expect: '^OK$'\n        fail: '^NO$'\n" +
             "\n".join(simple_monitor("x", "tcp").splitlines()[2:]) + "\n")
d.cfg["plugins"]["dir"] = d.tmp + "/plugins"
with open(d.config_path, "w") as f:
    f.write(to_yaml(d.cfg))
with d:
    wait_for(lambda: len(srv.accepts) >= 6, 15)
    with lock:
        mode["good"] = True
    wait_for(lambda: not mode["good"], 10)
    n_good = len(srv.accepts)          # the good connection is accepts[n_good - 1]
    wait_for(lambda: len(srv.accepts) >= n_good + 5, 15)
    a = list(srv.accepts)
    before = [y - x for x, y in zip(a[:6], a[1:6])]
    after = [y - x for x, y in zip(a[n_good - 1:], a[n_good:])][:5]
    print("# measured at the PBX:", " ".join("%.3f" % g for g in before), "| after good:",
          " ".join("%.3f" % g for g in after), flush=True)
    t.ok(len(before) == 5 and all(close_to(g, w) for g, w in zip(before, EXPECT)),
         "at the PBX: refused logins are retried after 0.2, 0.3, 0.45, 0.675, 1.0 s",
         ["%.3f" % g for g in before])
    t.ok(len(after) == 5 and all(close_to(g, w) for g, w in zip(after, EXPECT)),
         "after a good connection the waits start again at 0.2 s", ["%.3f" % g for g in after])
    recs = wait_for(lambda: [e for e in d.log_events("monitor.connected")], 5)
    t.ok(recs and len(recs) == 1, "exactly one good connection logged", recs)
    fails = [e for e in d.log_events("monitor.connect_failed")]
    t.ok(fails and "login refused" in fails[0].get("error", ""), "login refusal is the cause",
         fails[:1])
srv.close()
t.done()
