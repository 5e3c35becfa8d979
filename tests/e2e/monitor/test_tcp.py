#!/usr/bin/python3
"""Monitors over TCP against real peers on 127.0.0.1: phoneprov connects to a
"PBX" server (tcp), a "PBX" connects to phoneprov (tcp-listen), an AMI-style
login (the bundled asterisk-ami plugin against a fake Asterisk); records in
/api/v1/records (filters, pagination, CSV), `record` events on /events,
`phoneprov records` (filters, --csv, --follow), unparsed lines counted,
logged and kept raw; a stop is prompt even while connecting or reading."""
import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pphelp
from pphelp import Daemon, TapRunner, SRC, free_port
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monhelp import (Api, PbxServer, Sse, line, simple_monitor, wait_for, wait_log,  # noqa: E402
                     write_plugin)

t = TapRunner()

# ---- one daemon: a tcp monitor, a tcp-listen monitor, the bundled AMI monitor --------
sent = {}           # connection index -> bytes to send


def pbx(conn, idx):
    data = sent.get(idx, b"")
    if data:
        conn.sendall(data)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


srv = PbxServer(pbx).start()
lport = free_port()
d = Daemon(extra={"log_level": "info"})
work = tempfile.mkdtemp(prefix="ppmon-")
plugdir = os.path.join(work, "plugins")
write_plugin(plugdir, "tpbx",
             simple_monitor("tcp", "tcp", f"    host: 127.0.0.1\n    port: {srv.port}\n"
                            "    timeout: 0.2\n") +
             simple_monitor("listen", "tcp-listen", f"    listen: 127.0.0.1:{lport}\n"))
# the bundled AMI plugin, used as shipped (copied: the test enables it alone)
ami = PbxServer()
os.makedirs(os.path.join(plugdir, "asterisk-ami"))
with open(os.path.join(SRC, "plugins", "asterisk-ami", "plugin.yml")) as f, \
        open(os.path.join(plugdir, "asterisk-ami", "plugin.yml"), "w") as g:
    g.write(f.read())
d.cfg["plugins"] = {"dir": plugdir, "settings": {"asterisk-ami": {
    "host": "127.0.0.1", "port": ami.port, "username": "phoneprov", "secret": "s3cret",
    "monitors": {"cdr": {"timeout": 0.2, "connect_timeout": 2}}}}}
with open(d.config_path, "w") as f:
    f.write(pphelp.to_yaml(d.cfg))

logins = []


def asterisk(conn, idx):
    """A fake Asterisk manager: greeting, login check, Cdr events."""
    conn.sendall(b"Asterisk Call Manager/9.0.0\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = conn.recv(4096)
        if not b:
            return
        buf += b
    logins.append(buf.decode())
    if b"Secret: s3cret\r\n" not in buf:
        conn.sendall(b"Response: Error\r\nMessage: Authentication failed\r\n\r\n")
        conn.close()
        return
    conn.sendall(b"Response: Success\r\nMessage: Authentication accepted\r\n\r\n"
                 b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
    for i in range(3):
        conn.sendall(("Event: Cdr\r\nPrivilege: cdr,all\r\nAccountCode: \r\nSource: 20%d\r\n"
                      "Destination: 004930123%03d\r\nDestinationContext: from-internal\r\n"
                      "Channel: PJSIP/20%d-0000000%d\r\nDestinationChannel: PJSIP/carrier-0000001%d\r\n"
                      "StartTime: 2024-06-28 09:00:0%d\r\nAnswerTime: 2024-06-28 09:00:0%d\r\n"
                      "EndTime: 2024-06-28 09:01:00\r\nDuration: 60\r\nBillableSeconds: 5%d\r\n"
                      "Disposition: ANSWERED\r\nAMAFlags: DOCUMENTATION\r\nUniqueID: 17.%d\r\n"
                      "UserField: \r\n\r\n" % (i, i, i, i, i, i, i, i, i)).encode())
        time.sleep(0.02)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


ami.handler = asterisk
ami.start()

# records the server sends on the first connection: 50 good + 1 bad + 50 good
sent[0] = b"".join(line(i).encode() for i in range(50)) + b"this is not a record\r\n" + \
    b"".join(line(i, direction="I", number="+49891%05d" % i, ext="3%02d" % (i % 7)).encode()
             for i in range(50, 100))

with d:
    api = Api(d)
    t.ok(wait_log(d, "monitor.connected", monitor="tpbx/tcp") is not None,
         "tcp monitor connects to the PBX")
    recs = wait_for(lambda: (lambda r: r if r and len(r) >= 101 else None)(
        api.records("monitor=tpbx/tcp")), 10)
    t.ok(recs is not None and len(recs) == 101, "101 records stored (100 calls + 1 unparsed)",
         len(recs or []))
    recs = recs or []
    seqs = [r["seq"] for r in recs]
    t.ok(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "seq is monotonic and unique")
    good = [r for r in recs if r.get("parsed")]
    t.ok(len(good) == 100 and all(r["monitor"] == "tpbx/tcp" for r in good),
         "100 records parsed, monitor named")
    r0 = good[0] if good else {}
    t.ok(r0.get("direction") == "outgoing" and r0.get("number") == "0301000000" and
         r0.get("ext") == "201" and r0.get("duration_s") == 0 and r0.get("account") == "r0" and
         r0.get("raw") == "O,0301000000,201,0,r0" and isinstance(r0.get("ts"), int),
         "record fields (direction, number, ext, duration_s, account, raw, ts)", r0)
    bad = [r for r in recs if r.get("parsed") is False]
    t.ok(len(bad) == 1 and bad[0]["raw"] == "this is not a record" and "error" in bad[0],
         "a line that does not parse is kept raw with parsed:false and an error", bad)
    t.ok(api.metric("monitor_unparsed_total", "tpbx/tcp") == 1 and
         api.metric("monitor_records_total", "tpbx/tcp") == 101 and
         api.metric("monitor_up", "tpbx/tcp") == 1,
         "metrics: records 101, unparsed 1, up 1")
    t.ok(any(e.get("monitor") == "tpbx/tcp" and e.get("raw") == "this is not a record"
             for e in d.log_events("monitor.unparsed")),
         "the unparsed line is logged with the monitor name")

    # ---- filters -----------------------------------------------------------------------
    def n(q):
        r = api.records(q)
        return -1 if r is None else len(r)
    t.ok(n("monitor=tpbx/tcp&direction=incoming") == 50, "filter direction=incoming")
    t.ok(n("monitor=tpbx&direction=incoming,outgoing") == 100,
         "filter monitor=<plugin>, direction list")
    t.ok(n("number=%2B49891*") == 50 and n("number=0301000007") == 1,
         "filter number: glob and exact")
    t.ok(n("ext=300") == 7 and n("ext=3%3F1") == 8, "filter ext: exact and '?' glob")
    t.ok(n("parsed=false") == 1, "filter parsed=false")
    now = int(time.time())
    t.ok(n(f"monitor=tpbx/tcp&from={now - 600}&to={now + 600}") == 101 and
         n(f"monitor=tpbx/tcp&to={now - 600}") == 0 and n("from=2999-01-01") == 0,
         "filter time range from/to (epoch seconds and dates)")
    st, j, _ = api.get("/records?monitor=tpbx/tcp&limit=30")
    st2, j2, _ = api.get(f"/records?monitor=tpbx/tcp&limit=30&since={j['next']}")
    t.ok(st == 200 and len(j["records"]) == 30 and j["next"] == j["records"][-1]["seq"] and
         j2["records"][0]["seq"] == j["records"][-1]["seq"] + 1, "limit and next paginate")
    for q, field in (("direction=sideways", "direction"), ("from=yesterday", "from"),
                     ("since=-1", "since"), ("parsed=maybe", "parsed"), ("format=xml", "format")):
        st, j, _ = api.get("/records?" + q)
        t.ok(st == 400 and j.get("field") == field, f"bad filter {q}: 400 naming {field}", j)

    # ---- CSV ---------------------------------------------------------------------------
    p = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {d.token}", "-H",
                        "Accept: text/csv", "-D", "-",
                        f"{api.base}/records?monitor=tpbx/tcp&direction=outgoing&limit=5"],
                       capture_output=True, timeout=20)
    head, _, body = p.stdout.decode().partition("\r\n\r\n")
    rows = body.split("\r\n")
    t.ok("text/csv" in head and rows[0].startswith("seq,ts,monitor,parsed,direction,number,ext")
         and len([r for r in rows if r]) == 6 and ",tpbx/tcp,true,outgoing,0301000000,201," in
         rows[1], "CSV with Accept: text/csv (curl)", body[:300])
    st, body, hdr = api.get("/records?format=csv&parsed=false", raw=True)
    t.ok(st == 200 and b'"this is not a record"' not in body and
         b",this is not a record," in body, "CSV with ?format=csv", body[:300])

    # ---- SSE record events --------------------------------------------------------------
    sse = Sse(d)
    time.sleep(0.3)
    c = socket.create_connection(("127.0.0.1", lport))
    c.sendall(b"".join(line(1000 + i, "X", "4%03d" % i).encode() for i in range(5)))
    got = wait_for(lambda: len([r for r in sse.records() if r.get("monitor") == "tpbx/listen"])
                   >= 5, 10)
    evs = [r for r in sse.records() if r.get("monitor") == "tpbx/listen"]
    t.ok(got and [e["account"] for e in evs[:5]] == ["r%d" % (1000 + i) for i in range(5)] and
         all("seq" in e and e["direction"] == "internal" for e in evs),
         "tcp-listen: the PBX connects; 5 `record` events on /events with seq", evs[:2])

    # ---- tcp-listen: a partial last line and two peers ------------------------------------
    c2 = socket.create_connection(("127.0.0.1", lport))
    c2.sendall(line(2000).encode())
    c.sendall(line(2001).encode() + b"O,0301,201,5,last_without_newline")
    time.sleep(0.2)
    c.close()
    c2.close()
    recs = wait_for(lambda: (lambda r: r if r and len(r) >= 8 else None)(
        api.records("monitor=tpbx/listen")), 10) or []
    accts = sorted(r.get("account", "") for r in recs)
    t.ok("r2000" in accts and "r2001" in accts and "last_without_newline" in accts and
         len(recs) == 8, "two peers at once; the last record without newline is stored", accts)
    t.ok(len(d.log_events("monitor.peer_connected")) >= 2, "peers logged")

    # ---- records CLI -------------------------------------------------------------------
    r = d.cli("--json", "records", "--monitor", "tpbx/tcp", "--direction", "incoming",
              "--limit", "0")
    arr = json.loads(r.stdout) if r.returncode == 0 else []
    t.ok(len(arr) == 50 and all(x["direction"] == "incoming" for x in arr),
         "phoneprov records --json with filters", r.stderr)
    r = d.cli("records", "--csv", "--number", "0301000001")
    t.ok(r.returncode == 0 and r.stdout.count("\n") == 2 and ",0301000001," in r.stdout,
         "phoneprov records --csv", r.stdout)
    r = d.cli("records", "--direction", "bogus")
    t.ok(r.returncode == 2 and "direction must be" in r.stderr, "CLI refuses a bad filter",
         r.stderr)
    follow = subprocess.Popen([pphelp.PHONEPROV, "-c", d.config_path, "--json", "records",
                               "--follow", "--monitor", "tpbx/listen"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    atexit.register(lambda: follow.poll() is None and follow.kill())
    c = socket.create_connection(("127.0.0.1", lport))
    lines, buf = [], [b""]

    def pump(seconds, enough):
        """Collect the follower's JSON lines until enough() or `seconds` pass."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not enough():
            if select.select([follow.stdout], [], [], 0.1)[0]:
                chunk = os.read(follow.stdout.fileno(), 65536)
                if not chunk:
                    break
                *full, buf[0] = (buf[0] + chunk).split(b"\n")
                lines.extend(json.loads(x) for x in full if x.strip())

    # The follower starts at the last record stored when it is up (however
    # long it takes to start): probe records are sent one at a time until it
    # prints one, then three records; it must print nothing older.
    probes = []
    while len(probes) < 60 and not lines and follow.poll() is None:
        probes.append("r%d" % (2900 + len(probes)))
        c.sendall(line(2900 + len(probes) - 1).encode())
        pump(0.5, lambda: lines)
    c.sendall(b"".join(line(3000 + i).encode() for i in range(3)))
    first = probes.index(lines[0].get("account")) if lines and \
        lines[0].get("account") in probes else len(probes)
    want = probes[first:] + ["r3000", "r3001", "r3002"]
    pump(20, lambda: len(lines) >= len(want))
    follow.send_signal(signal.SIGINT)
    try:
        rc = follow.wait(10)
    except subprocess.TimeoutExpired:
        follow.kill()  # never leave it behind
        rc = follow.wait()
    c.close()
    t.ok(rc == 0 and first < len(probes) and [x.get("account") for x in lines] == want,
         "records --follow streams only new records (JSON lines), exits 0 on SIGINT",
         f"rc={rc} probes={probes} {[x.get('account') for x in lines]} "
         f"{follow.stderr.read().decode()}")

    # ---- AMI login (bundled asterisk-ami) ---------------------------------------------------
    recs = wait_for(lambda: (lambda r: r if r and len(r) >= 3 else None)(
        api.records("monitor=asterisk-ami/cdr")), 10) or []
    t.ok(logins and "Action: Login\r\nUsername: phoneprov\r\nSecret: s3cret\r\n" in logins[0] and
         "Events: cdr" in logins[0], "AMI: Action: Login with the settings' username and secret",
         logins[:1])
    t.ok(len(recs) == 3 and recs[0].get("direction") == "outgoing" and
         recs[0].get("number") == "004930123000" and recs[0].get("ext") == "200" and
         recs[0].get("duration_s") == 50 and recs[0].get("trunk") == "carrier" and
         recs[0].get("extra", {}).get("unique_id") == "17.0",
         "AMI: 3 Cdr events stored, the FullyBooted event and the login response are not", recs[:1])
    t.ok("s3cret" not in d.read_log(), "the AMI secret never reaches the log")

srv.close()
ami.close()

# ---- wrong AMI secret: login refused, logged, retried -----------------------------------------
ami2 = PbxServer(asterisk).start()
d2 = Daemon(extra={"plugins": {"dir": plugdir, "enabled": ["asterisk-ami"], "settings": {
    "asterisk-ami": {"host": "127.0.0.1", "port": ami2.port, "username": "x",
                     "secret": "wrong", "monitors": {"cdr": {"timeout": 0.1}}}}}})
with d2:
    fails = wait_log(d2, "monitor.connect_failed", count=2, monitor="asterisk-ami/cdr")
    t.ok(fails and "login refused" in fails[0].get("error", "") and
         "Response: Error" in fails[0].get("error", ""),
         "AMI: a refused login is a failed connection (logged, retried)", fails)
ami2.close()

# ---- a stop is prompt: connecting to a PBX that never answers, and reading an idle one ---------
hang = socket.socket()
hang.bind(("127.0.0.1", 0))
hang.listen(0)
fill = []
for _ in range(4):  # fill the accept queue: further SYNs are dropped, connect() hangs
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(hang.getsockname())
    except BlockingIOError:
        pass
    fill.append(s)
idle = PbxServer(lambda c, i: time.sleep(60)).start()
p3 = os.path.join(work, "plugins3")
write_plugin(p3, "tpbx",
             simple_monitor("hang", "tcp", f"    host: 127.0.0.1\n    port: {hang.getsockname()[1]}\n"
                            "    connect_timeout: 60\n") +
             simple_monitor("idle", "tcp", f"    host: 127.0.0.1\n    port: {idle.port}\n"))
d3 = Daemon(plugins_dir=p3)
with d3:
    wait_log(d3, "monitor.connected", monitor="tpbx/idle")
    time.sleep(0.5)
    t0 = time.monotonic()
    rc = d3.stop()
    took = time.monotonic() - t0
    t.ok(rc == 0 and took < 3.0, "SIGTERM stops in %.2fs while one monitor connects "
         "(60 s connect timeout) and one waits on an idle PBX" % took)
idle.close()
hang.close()
for s in fill:
    s.close()
shutil.rmtree(work, ignore_errors=True)
t.done()
