#!/usr/bin/python3
"""Monitors follow SIGHUP: an unchanged monitor keeps its connection (no
reconnect, no gap), a changed one is restarted after storing every record it
had read (a burst sent just before the reload, and a last record without its
newline, are all stored exactly once), a removed one stops (its listener
closes), an added one starts, a disabled one stops, and a reload that fails
leaves the running monitors alone."""
import os
import socket
import sys
import threading
import time
from collections import Counter

from pphelp import Daemon, TapRunner, free_port, to_yaml
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monhelp import (Api, PbxServer, line, simple_monitor, wait_for, wait_log,  # noqa: E402
                     write_plugin)

t = TapRunner()
conns = {}


def keep(name):
    def handler(conn, idx):
        conns.setdefault(name, []).append(conn)
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass
    return handler


sa, sb, sc = (PbxServer(keep("a")).start(), PbxServer(keep("b")).start(),
              PbxServer(keep("c")).start())
lport = free_port()
d = Daemon()
plugdir = os.path.join(d.tmp, "plugins")
QUICK = "    timeout: 0.2\n"


def plugin(a_port, with_b=True, with_c=False, broken=False):
    mons = simple_monitor("a", "tcp", f"    host: 127.0.0.1\n    port: {a_port}\n" + QUICK)
    if with_b:
        mons += simple_monitor("b", "tcp-listen", f"    listen: 127.0.0.1:{lport}\n")
    if with_c:
        mons += simple_monitor("c", "tcp", f"    host: 127.0.0.1\n    port: {sc.port}\n" + QUICK)
    if broken:
        mons += "  - name: broken\n    transport: tcp\n    parse: []\n"
    write_plugin(plugdir, "tpbx", mons)


def config(settings=None):
    d.cfg["plugins"] = {"dir": plugdir, "settings": settings or {}}
    with open(d.config_path, "w") as f:
        f.write(to_yaml(d.cfg))


def accounts(api, mon):
    return Counter(r.get("account") for r in api.all_records(f"monitor={mon}"))


def reloaded(n):
    return wait_log(d, "reload.done", count=n) or wait_log(d, "reload.failed", count=1, timeout=0)


plugin(sa.port)
config()
with d:
    api = Api(d)
    wait_for(lambda: len(conns.get("a", [])) == 1)
    c_a = conns["a"][0]
    c_a.sendall(b"".join(line(i).encode() for i in range(100)))
    wait_for(lambda: sum(accounts(api, "tpbx/a").values()) >= 100)

    # 1. unchanged: same connection, records keep flowing during the reload
    def stream(conn, start, n):
        for i in range(start, start + n):
            conn.sendall(line(i).encode())
            time.sleep(0.002)
    th = threading.Thread(target=stream, args=(c_a, 100, 200))
    th.start()
    time.sleep(0.05)
    d.reload()
    reloaded(1)
    th.join()
    time.sleep(0.5)
    got = wait_for(lambda: (lambda c: c if sum(c.values()) >= 300 else None)(
        accounts(api, "tpbx/a")), 10) or {}
    t.ok(len(sa.accepts) == 1 and not d.log_events("monitor.stopped"),
         "SIGHUP without changes: the monitor keeps its connection (no restart)",
         f"accepts={len(sa.accepts)} {d.log_events('monitor.stopped')}")
    t.ok(len(got) == 300 and all(v == 1 for v in got.values()),
         "records sent during the reload: 300 stored, each once", sum(got.values()))

    # 2. changed (another PBX port): a burst read before the restart is not lost
    plugin(sb.port)
    burst = b"".join(line(i).encode() for i in range(1000, 3000)) + b"O,555,201,9,partial"
    c_a.sendall(burst)
    d.reload()
    reloaded(2)
    t.ok(wait_for(lambda: len(conns.get("b", [])) == 1, 10),
         "SIGHUP with a new port: the monitor reconnects to the new PBX")
    stopped = wait_log(d, "monitor.stopped", monitor="tpbx/a")
    t.ok(stopped and stopped[0].get("reason") == "changed", "old monitor stopped: changed",
         stopped)
    got = wait_for(lambda: (lambda c: c if sum(c.values()) >= 2301 else None)(
        accounts(api, "tpbx/a")), 10) or Counter()
    missing = [i for i in range(1000, 3000) if got.get("r%d" % i) != 1]
    t.ok(not missing and got.get("partial") == 1 and sum(got.values()) == 2301,
         "the 2000-record burst sent just before the reload and the last record without "
         "newline are stored exactly once", f"missing {missing[:5]}.. total {sum(got.values())}")
    t.ok(any(r.get("reason") == "stopped" for r in d.log_events("monitor.disconnected")),
         "the old connection ended because of the stop")

    # 3. b removed, c added
    plugin(sb.port, with_b=False, with_c=True)
    d.reload()
    reloaded(3)
    t.ok(wait_for(lambda: len(conns.get("c", [])) == 1, 10), "SIGHUP: an added monitor starts")
    st = wait_log(d, "monitor.stopped", monitor="tpbx/b")
    t.ok(st and st[0].get("reason") == "removed", "a removed monitor stops", st)
    refused = False
    try:
        socket.create_connection(("127.0.0.1", lport), timeout=2).close()
    except OSError:
        refused = True
    t.ok(refused, "its listener is closed")
    t.ok(len(conns["b"]) == 1, "the unchanged monitor a was not restarted again")

    # 4. a reload that fails changes nothing
    plugin(sb.port, with_b=False, with_c=True, broken=True)
    d.reload()
    fail = wait_log(d, "reload.failed")
    t.ok(fail and "parse" in fail[0].get("error", ""), "broken plugin.yml: reload.failed", fail)
    time.sleep(0.5)
    t.ok(len(conns["b"]) == 1 and len(conns["c"]) == 1 and
         len(d.log_events("monitor.stopped")) == 2, "running monitors untouched")

    # 5. disabled through the settings
    plugin(sb.port, with_b=False, with_c=True)
    config({"tpbx": {"monitors": {"c": {"enabled": False}}}})
    d.reload()
    st = wait_log(d, "monitor.stopped", monitor="tpbx/c")
    dis = wait_log(d, "monitor.disabled", monitor="tpbx/c")
    t.ok(st and dis, "enabled: false stops it and says so", dis)
    conns["b"][0].sendall(line(5000).encode())
    t.ok(wait_for(lambda: accounts(api, "tpbx/a").get("r5000") == 1, 10),
         "the other monitor still stores records")
for s in (sa, sb, sc):
    s.close()
t.done()
