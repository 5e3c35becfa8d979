#!/usr/bin/python3
"""POST /devices/{mac}/synchronize as an operation: a SIP NOTIFY client
transaction (RFC 3261 17.1.2) to a phone on 127.0.0.1. sipp (sip-tester) is
the phone's UAS: 200 -> ok, 481 -> refused 481; a silent UDP port -> timeout
after Timer F with the retransmissions counted (T1 from synchronize.t1_ms, 40
ms here so Timer F is 2.56 s); the Request-URI user is line 1's username, the
Event depends on the plugin; operation events on /events."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import pphelp  # noqa: E402

t = pphelp.TapRunner()
HERE = os.path.dirname(os.path.abspath(__file__))
T1 = 40


def call(d, method, path, body=None, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{d.api_port}/api/v1{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token or d.token}",
                                          "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None, r.headers.get("Location")
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None, None


def follow(d, loc, timeout=60):
    end = time.monotonic() + timeout
    j = None
    while time.monotonic() < end:
        st, j, _ = call(d, "GET", loc[len("/api/v1"):])
        if st != 200 or (j or {}).get("state") != "running":
            return j
        time.sleep(0.05)
    return j


def sipp(scenario, port, msgfile):
    return subprocess.Popen(["sipp", "-sf", os.path.join(HERE, "sipp", scenario), "-i", "127.0.0.1",
                             "-p", str(port), "-m", "1", "-nostdin", "-trace_msg",
                             "-message_file", msgfile, "-timeout", "60s"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    if not shutil.which("sipp"):
        t.skip("synchronize against sipp", "sipp (Debian package sip-tester) is not installed")
        t.done()
    d = pphelp.Daemon(extra={"synchronize": {"t1_ms": T1}})
    d.start()
    try:
        run(d)
    finally:
        d.cleanup()
    stop_while_running()
    t.done()


def stop_while_running():
    """SIGTERM while a synchronize retransmits (default T1 500 ms: Timer F 32 s)."""
    d = pphelp.Daemon()
    d.start()
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        call(d, "POST", "/devices", {"mac": "00:15:65:00:20:01", "ip": "127.0.0.1"},
             token=d.admin_token)
        st, j, loc = call(d, "POST",
                          f"/devices/00:15:65:00:20:01/synchronize?port={silent.getsockname()[1]}")
        st3, j3, _ = call(d, "POST",
                          f"/devices/00:15:65:00:20:01/synchronize?port={silent.getsockname()[1]}")
        t.ok(st3 == 409 and "same target is running" in (j3 or {}).get("error", ""),
             "a second synchronize of the same device and port while one runs: 409", (st3, j3))
        time.sleep(1.2)  # sent at 0, 500 ms, (1500 ms)
        st2, j2, _ = call(d, "GET", loc[len("/api/v1"):]) if loc else (0, None, None)
        t0 = time.monotonic()
        try:
            rc, why = d.stop(), ""
        except RuntimeError as e:
            rc, why = None, str(e)[-1500:]
        took = time.monotonic() - t0
        log = d.read_log()
        t.ok(st == 202 and (j2 or {}).get("state") == "running",
             "a synchronize to a silent port is running", (st, j2))
        t.ok(rc == 0 and took < 8, f"SIGTERM during it: exit 0 in {took:.1f} s (Timer F is 32 s)",
             (rc, why))
        t.ok("state=failed error=the daemon was stopping" in log,
             "the operation ends failed: the daemon was stopping (log)", log[-1500:])
    finally:
        silent.close()
        d.cleanup()


def run(d):
    st, j, _ = call(d, "POST", "/configs", {"id": "lines", "raw_config": {
        "sip_lines": [{"line": 1, "username": "alice101"}, {"line": 2, "username": "bob"}]}})
    t.ok(st == 201, "config with two SIP lines", (st, j))
    devs = {"00:15:65:00:10:01": {"plugin": "yealink", "config": "lines"},
            "00:04:13:00:10:02": {"plugin": "snom"},
            "00:1e:7a:00:10:03": {"plugin": "cisco-enterprise"}}
    for mac, extra in devs.items():
        st, j, _ = call(d, "POST", "/devices", dict({"mac": mac, "ip": "127.0.0.1"}, **extra),
                        token=d.admin_token)
        t.ok(st == 201, f"device {mac} {extra} at 127.0.0.1", (st, j))

    # --- 200: ok -------------------------------------------------------------
    port = pphelp.free_port(socket.SOCK_DGRAM)
    msgs = os.path.join(d.tmp, "sipp-200.log")
    p = sipp("notify_200.xml", port, msgs)
    time.sleep(0.5)  # sipp binds its port
    st, j, loc = call(d, "POST", f"/devices/00:15:65:00:10:01/synchronize?port={port}")
    oid = (j or {}).get("id")
    t.ok(st == 202 and loc == f"/api/v1/operations/{oid}" and j.get("kind") == "synchronize"
         and j.get("target") == {"mac": "00:15:65:00:10:01", "ip": "127.0.0.1", "port": port},
         "synchronize: 202 + Location, kind synchronize, target mac/ip/port", (st, j, loc))
    fin = follow(d, loc) if loc else {}
    res = (fin or {}).get("result") or {}
    t.ok((fin or {}).get("state") == "ok" and res.get("code") == 200 and res.get("sent", 0) >= 1,
         "sipp answers 200: the operation ends ok with code 200", fin)
    try:
        p.wait(15)
    except subprocess.TimeoutExpired:
        p.kill()
    text = open(msgs, errors="replace").read() if os.path.exists(msgs) else ""
    t.ok(p.returncode == 0, "sipp saw one successful call (exit 0)", p.returncode)
    t.ok(f"NOTIFY sip:alice101@127.0.0.1:{port} SIP/2.0" in text
         and "Event: check-sync;reboot=true" in text,
         "Request-URI user is line 1's username, Event check-sync;reboot=true (sipp's trace)",
         text[:1500])
    ev = subprocess.run(["curl", "-s", "-N", "--noproxy", "*", "--max-time", "2", "-H",
                         f"Authorization: Bearer {d.token}",
                         f"http://127.0.0.1:{d.api_port}/api/v1/events?since=0"],
                        capture_output=True, text=True, timeout=30).stdout
    states = [json.loads(ln[6:])["data"]["state"] for ln in ev.splitlines()
              if ln.startswith("data: ") and f'"id":"{oid}"' in ln]
    t.ok(states == ["running", "ok"], "/events: operation running then ok", states)

    # --- 481: refused -------------------------------------------------------------
    port = pphelp.free_port(socket.SOCK_DGRAM)
    msgs = os.path.join(d.tmp, "sipp-481.log")
    p = sipp("notify_481.xml", port, msgs)
    time.sleep(0.5)
    st, j, loc = call(d, "POST", f"/devices/00:04:13:00:10:02/synchronize?port={port}")
    fin = follow(d, loc) if loc else {}
    res = (fin or {}).get("result") or {}
    t.ok(st == 202 and (fin or {}).get("state") == "refused" and res.get("code") == 481
         and (fin.get("error") or "").startswith("481 "),
         "sipp answers 481: the operation ends refused with 481", (st, fin))
    try:
        p.wait(15)
    except subprocess.TimeoutExpired:
        p.kill()
    text = open(msgs, errors="replace").read() if os.path.exists(msgs) else ""
    t.ok("NOTIFY sip:000413001002@127.0.0.1" in text and "Event: check-sync;reboot=false" in text,
         "snom: the MAC as user (no config), Event check-sync;reboot=false", text[:1500])

    # --- silent port: timeout after Timer F ---------------------------------------
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.settimeout(0.2)
    sport = silent.getsockname()[1]
    st, j, loc = call(d, "POST", f"/devices/00:1e:7a:00:10:03/synchronize?port={sport}")
    got = []
    end = time.monotonic() + 64 * T1 / 1000 + 5
    while time.monotonic() < end:
        try:
            m = silent.recv(4096).decode(errors="replace")
            got.append((time.monotonic(), m))  # the time it arrived
        except socket.timeout:
            pass
    silent.close()
    fin = follow(d, loc) if loc else {}
    res = (fin or {}).get("result") or {}
    # T1 40, T2 320, F 2560: sends at 0, 40, 120, 280, 600, 920, ..., 2520 -> 11
    # on an idle machine; a loaded one may send fewer, never more
    t.ok(st == 202 and (fin or {}).get("state") == "timeout" and res.get("code") is None,
         "silent port: the operation ends timeout", (st, fin))
    t.ok(len(got) == res.get("sent") and res.get("retransmissions") == len(got) - 1
         and 5 <= len(got) <= 11,
         f"retransmissions counted: {len(got)} NOTIFYs received, result says "
         f"{res.get('sent')} sent / {res.get('retransmissions')} retransmissions",
         (len(got), res))
    branches = {ln for _, m in got for ln in m.split("\r\n") if ln.startswith("Via:")}
    t.ok(len(branches) == 1 and all("Event: service-control" in m for _, m in got),
         "retransmissions are the same request (one Via branch), cisco-enterprise Event "
         "service-control", branches)
    gaps = [round((b[0] - a[0]) * 1000) for a, b in zip(got, got[1:])]
    # generous on a loaded machine: the 3rd gap (4*T1) beats the 1st (T1), none past 3*T2
    t.ok(len(gaps) >= 3 and gaps[2] > gaps[0] and gaps[2] >= 4 * T1 - 5
         and max(gaps) < 8 * T1 * 3,
         f"intervals grow (T1 doubling) and stay near T2: {gaps} ms", gaps)
    t.ok(res.get("duration_ms", 0) >= 64 * T1, "given up no earlier than Timer F (64*T1)", res)

    # --- 401 Digest challenge: answered once with line 1's credentials -------------
    for cid, pw, mac in (("auth-ok", "s3cret", "00:15:65:00:10:04"),
                         ("auth-bad", "wrong", "00:15:65:00:10:05")):
        call(d, "POST", "/configs", {"id": cid, "raw_config": {"sip_lines": [
            {"username": "alice101", "auth_username": "alice101-auth", "password": pw}]}})
        call(d, "POST", "/devices", {"mac": mac, "ip": "127.0.0.1", "plugin": "yealink",
                                     "config": cid}, token=d.admin_token)
        port = pphelp.free_port(socket.SOCK_DGRAM)
        msgs = os.path.join(d.tmp, f"sipp-{cid}.log")
        p = sipp("notify_digest.xml", port, msgs)
        time.sleep(0.5)
        st, j, loc = call(d, "POST", f"/devices/{mac}/synchronize?port={port}")
        fin = follow(d, loc) if loc else {}
        res = (fin or {}).get("result") or {}
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
        text = open(msgs, errors="replace").read() if os.path.exists(msgs) else ""
        if pw == "s3cret":
            t.ok((fin or {}).get("state") == "ok" and res.get("code") == 200
                 and res.get("authenticated") is True,
                 "401 Digest (qop=auth): the NOTIFY is sent again with credentials, ok", fin)
            t.ok('Authorization: Digest username="alice101-auth", realm="phone.test"' in text
                 and "CSeq: 2 NOTIFY" in text and "qop=auth" in text,
                 "the second NOTIFY carries Authorization (auth_username) and CSeq 2 "
                 "(sipp verified the response)", text[-2000:])
        else:
            t.ok((fin or {}).get("state") == "refused" and res.get("code") == 403
                 and res.get("authenticated") is True,
                 "wrong password: sipp refuses the retried NOTIFY, refused 403 (no loop)", fin)

    # --- errors ------------------------------------------------------------------
    st, j, _ = call(d, "POST", "/devices/00:15:65:99:99:99/synchronize")
    t.ok(st == 404, "synchronize an unknown device: 404", (st, j))
    call(d, "POST", "/devices", {"mac": "00:15:65:00:10:09"}, token=d.admin_token)
    st, j, _ = call(d, "POST", "/devices/00:15:65:00:10:09/synchronize")
    t.ok(st == 409 and (j or {}).get("field") == "ip", "a device without ip: 409", (st, j))


main()
