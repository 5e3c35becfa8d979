#!/usr/bin/python3
"""A plugin's C run() hook (DESIGN §6) runs on its own thread and is
restarted with the monitors' backoff when it returns: failed runs are
retried after timeout, timeout x decay, ... capped at max_timeout; a run that
pushed a record resets the wait. Records pushed land in /api/v1/records with
monitor "<plugin>/run"; a run that loops on *running ends at the stop."""
import os
import shutil
import sys
import time

from pphelp import Daemon, TapRunner, to_yaml
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monhelp import Api, wait_for, wait_log  # noqa: E402

t = TapRunner()
so = sys.argv[1]
d = Daemon(extra={"log_level": "info"})
plugdir = os.path.join(d.tmp, "plugins")
os.makedirs(os.path.join(plugdir, "hk"))
with open(os.path.join(plugdir, "hk", "plugin.yml"), "w") as f:
    f.write('name: hk\nversion: "1.0"\ndescription: run hook\nvendor: HK\n')
shutil.copy(so, os.path.join(plugdir, "hk", "hooks.so"))
calls = os.path.join(d.tmp, "calls")
d.cfg["plugins"] = {"dir": plugdir, "settings": {"hk": {
    "calls_file": calls, "push_on": 4, "block_on": 9,
    "timeout": 0.1, "timeout_decay": 2, "max_timeout": 0.4}}}
with open(d.config_path, "w") as f:
    f.write(to_yaml(d.cfg))


def times():
    try:
        return [float(x.split()[1]) for x in open(calls)]
    except OSError:
        return []


with d:
    api = Api(d)
    got = wait_for(lambda: (lambda c: c if len(c) >= 9 else None)(times()), 15) or times()
    gaps = [b - a for a, b in zip(got, got[1:])]
    want = [0.1, 0.2, 0.4, 0.1, 0.2, 0.4, 0.4, 0.4]
    print("# gaps:", " ".join("%.3f" % g for g in gaps), flush=True)
    t.ok(len(gaps) == 8 and all(w - 0.015 <= g <= w * 1.15 + 0.1 for g, w in zip(gaps, want)),
         "run() restarted after 0.1, 0.2, 0.4 s; the run that pushed resets to 0.1; capped 0.4",
         ["%.3f" % g for g in gaps])
    ev = d.log_events("monitor.run_returned")
    t.ok([e["rc"] for e in ev[:4]] == ["-6", "-6", "-6", "0"] and ev[3].get("pushed") == "1",
         "each return is logged with its rc and the records pushed", ev[:4])
    recs = api.records("monitor=hk/run")
    t.ok(recs and len(recs) == 1 and recs[0].get("number") == "0301234567" and
         recs[0].get("duration_s") == 42, "the pushed record is stored as hk/run", recs)
    time.sleep(0.3)
    t0 = time.monotonic()
    rc = d.stop()
    t.ok(rc == 0 and time.monotonic() - t0 < 2 and len(times()) == 9,
         "a run() looping on *running ends at the stop, which is prompt")
t.done()
