#!/usr/bin/python3
"""Firmware install and uninstall as operations: 202 + Location at once, the
operation followed to its end by polling the Location and on /events
(`operation` events running -> ok / failed), failures carry the worker's
message, the admin token is needed to start one, an unknown id is 404, at
most 4 run at a time (503 beyond, 409 on the same package), and SIGTERM while
operations run stops the daemon cleanly (workers signalled, no hang)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pphelp  # noqa: E402
from fwhelp import (Env, Server, api_call, file_entry, op_events, tar_bytes,  # noqa: E402
                    ti_file, wait_op)

t = pphelp.TapRunner()
HELD = 5


def main():
    env = Env()
    srv = Server()
    rom = os.urandom(200000)
    tgz = tar_bytes([ti_file("fw/a.rom", rom)])
    srv.files["/dl/fw.tar.gz"] = tgz
    holds, slow_tgz = [], []
    for i in range(HELD):
        path = f"/dl/slow{i}.tar.gz"
        # distinct contents: the worker's download cache never short-cuts a held download
        slow_tgz.append(tar_bytes([ti_file("fw/a.rom", os.urandom(200000))]))
        srv.files[path] = slow_tgz[i]
        ev = threading.Event()
        srv.hold[path] = ev
        holds.append(ev)
    slow = "".join(f"""  slow{i}:
    description: a download the test holds
    version: "1"
    files: [s{i}]
    install: [{{ untar: {{ file: s{i} }} }}, {{ cp: {{ src: "fw/*", dest: slow{i} }} }}]
""" for i in range(HELD))
    env.write_pkgs(f"""packages:
  acme-fw:
    description: Acme phone firmware
    version: "2.0"
    files: [tgz]
    install:
      - untar: {{ file: tgz }}
      - cp: {{ src: "fw/*", dest: acme/firmware }}
  broken:
    description: wrong hash
    version: "1"
    files: [bad]
    install: [{{ cp: {{ src: "*", dest: bad }} }}]
{slow}files:
{file_entry("tgz", srv.url("/dl/fw.tar.gz"), tgz)}\
  bad: {{ url: "{srv.url('/dl/fw.tar.gz')}", size: {len(tgz)}, sha256: {"0" * 64} }}
""" + "".join(file_entry(f"s{i}", srv.url(f"/dl/slow{i}.tar.gz"), slow_tgz[i]) for i in range(HELD)))
    d = pphelp.Daemon(plugins_dir=env.plugins, tftp_root=env.root,
                      env={"http_proxy": "", "HTTP_PROXY": "", "no_proxy": "*"})
    try:
        d.start()
    except RuntimeError as e:
        t.ok(False, "daemon starts with the test plugin", str(e))
        t.done()
    try:
        followed(d, env)
        bounded_and_stopped(d, env, holds)
    finally:
        for ev in holds:
            ev.set()
        d.cleanup()
        srv.close()
        env.cleanup()
    t.done()


def followed(d, env):
    st, j, loc = api_call(d, "POST", "/plugins/acme/packages/acme-fw", d.token)
    t.ok(st == 403 and loc is None and env.root_files() == {},
         "POST install with the user token: 403, no operation", (st, j))
    st, j, loc = api_call(d, "POST", "/plugins/acme/packages/acme-fw", "0" * 64)
    t.ok(st == 401, "POST install with a wrong token: 401", (st, j))

    st, j, loc = api_call(d, "POST", "/plugins/acme/packages/acme-fw", d.admin_token)
    oid = (j or {}).get("id") if isinstance(j, dict) else None
    t.ok(st == 202 and oid and loc == f"/api/v1/operations/{oid}",
         "POST install: 202 with Location /api/v1/operations/{id}", (st, j, loc))
    t.ok(isinstance(j, dict) and j.get("kind") == "firmware.install"
         and j.get("state") in ("running", "ok")
         and j.get("target") == {"plugin": "acme", "package": "acme-fw"}
         and isinstance(j.get("created"), str) and j["created"].endswith("Z"),
         "202 body: id, kind, state, target, created", j)
    if not loc:
        return
    fin = wait_op(d, loc, d.token)  # the user token may read operations
    t.ok(isinstance(fin, dict) and fin.get("state") == "ok" and isinstance(fin.get("finished"), str)
         and fin["finished"] >= fin["created"] and "error" not in fin,
         "polling the Location (user token): the operation ends ok with finished", fin)
    t.ok(env.root_files().get("acme/firmware/a.rom") is not None,
         "the operation installed the package's files")
    evs = op_events(d, d.token, oid)
    t.ok([e.get("state") for e in evs] == ["running", "ok"]
         and all(e.get("kind") == "firmware.install" for e in evs),
         "/events streams the operation's events in order: running, ok", evs)

    st, j, loc2 = api_call(d, "POST", "/plugins/acme/packages/broken", d.admin_token)
    fin = wait_op(d, loc2, d.admin_token) if loc2 else None
    t.ok(st == 202 and isinstance(fin, dict) and fin.get("state") == "failed"
         and "sha256 mismatch" in fin.get("error", "") and fin.get("status") == 422
         and not os.path.exists(os.path.join(env.root, "bad")),
         "bad checksum: the operation ends failed with the worker's message, nothing installed",
         (st, fin))
    bid = (j or {}).get("id") if isinstance(j, dict) else None
    evs = op_events(d, d.token, bid)
    t.ok([e.get("state") for e in evs] == ["running", "failed"]
         and "sha256 mismatch" in evs[-1].get("error", ""),
         "/events: running then failed with the message", evs)

    st, j, loc3 = api_call(d, "POST", "/plugins/acme/packages/no-such-pkg", d.admin_token)
    fin = wait_op(d, loc3, d.admin_token) if loc3 else None
    t.ok(st == 202 and isinstance(fin, dict) and fin.get("state") == "failed"
         and fin.get("status") == 404 and "no-such-pkg" in fin.get("error", ""),
         "missing package: the operation ends failed, naming it", (st, fin))

    st, j, loc4 = api_call(d, "DELETE", "/plugins/acme/packages/acme-fw", d.admin_token)
    fin = wait_op(d, loc4, d.admin_token) if loc4 else None
    t.ok(st == 202 and isinstance(fin, dict) and fin.get("kind") == "firmware.uninstall"
         and fin.get("state") == "ok" and env.root_files() == {},
         "DELETE: a firmware.uninstall operation that ends ok, files gone", (st, fin))

    st, j, _ = api_call(d, "GET", "/operations", d.token)
    ids = [o.get("id") for o in (j or {}).get("operations", [])] if isinstance(j, dict) else []
    t.ok(st == 200 and len(ids) == 4 and j.get("count") == 4 and j.get("running") == 0
         and ids[-1] == oid and ids[0] == loc4.rsplit("/", 1)[-1],
         "GET /operations lists the 4 operations, newest first", j)
    st, j, _ = api_call(d, "GET", "/operations/" + oid[:-1] + "x", d.token)
    t.ok(st == 404 and "no such operation" in (j or {}).get("error", ""),
         "unknown operation: 404", (st, j))
    st, j, _ = api_call(d, "GET", "/operations", None)
    t.ok(st == 401, "GET /operations without a token: 401", (st, j))
    st, j, _ = api_call(d, "DELETE", "/operations/" + oid, d.admin_token)
    t.ok(st == 405, "DELETE /operations/{id}: 405", (st, j))


def bounded_and_stopped(d, env, holds):
    """One firmware worker at a time (the worker's lock): the other accepted
    operations wait, "running" with progress "queued"."""
    started = []
    for i in range(4):
        st, j, loc = api_call(d, "POST", f"/plugins/acme/packages/slow{i}", d.admin_token)
        started.append((st, loc))
        if i == 0 and loc:  # slow0 holds the worker before the others queue
            for _ in range(100):
                if (api_call(d, "GET", loc[7:], d.token)[1] or {}).get("progress") == "worker":
                    break
                time.sleep(0.1)
    t.ok(all(st == 202 and loc for st, loc in started), "4 held installs: 202 each", started)
    st, j, _ = api_call(d, "POST", "/plugins/acme/packages/slow4", d.admin_token)
    t.ok(st == 503 and "4 firmware operations" in (j or {}).get("error", ""),
         "a 5th firmware operation while 4 run: 503", (st, j))
    st, j, _ = api_call(d, "POST", "/plugins/acme/packages/slow0", d.admin_token)
    t.ok(st in (409, 503), "the same package again while it runs: refused", (st, j))
    ok = False
    for _ in range(100):
        st, j, _ = api_call(d, "GET", "/operations", d.token)
        ops = j.get("operations", [])[:4] if isinstance(j, dict) else []
        prog = [o.get("progress") for o in reversed(ops)]
        if prog == ["worker", "queued", "queued", "queued"]:
            ok = True
            break
        time.sleep(0.1)
    t.ok(ok and j.get("running") == 4 and all(o["state"] == "running" for o in ops),
         "GET /operations: 4 running, one worker and 3 queued behind it", j)
    # let slow0 finish: slow1 gets the worker, a slot frees for a new operation
    holds[0].set()
    fin = wait_op(d, started[0][1], d.token)
    t.ok((fin or {}).get("state") == "ok", "the released download ends ok", fin)
    st, j, loc = api_call(d, "POST", "/plugins/acme/packages/slow4", d.admin_token)
    t.ok(st == 202, "with a slot free, a new operation starts", (st, j))
    sid = started[1][1].rsplit("/", 1)[-1]
    evs = []
    for _ in range(100):
        evs = op_events(d, d.token, sid)
        if [e.get("progress") for e in evs] == ["queued", "worker"]:
            break
    t.ok([(e.get("state"), e.get("progress")) for e in evs]
         == [("running", "queued"), ("running", "worker")],
         "/events: a queued operation's events running/queued then running/worker", evs)
    # SIGTERM with 4 operations running (one worker held by the server, 3 queued)
    t0 = time.monotonic()
    try:
        rc = d.stop()
        stopped = True
    except RuntimeError as e:
        rc, stopped = None, str(e)[-2000:]
    took = time.monotonic() - t0
    log = d.read_log()
    t.ok(stopped is True and rc == 0, "SIGTERM while 4 operations run: exit 0 within 10 s",
         (rc, round(took, 1), stopped))
    t.ok("stopped the running operations" in log and log.count("(the daemon was stopping)") == 4,
         "the 4 running operations end failed, logged as stopped", log[-3000:])
    t.ok(not [f for f in env.root_files() if f.startswith(("slow2", "slow3", "slow4"))],
         "the queued operations never ran")


main()
