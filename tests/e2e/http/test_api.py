#!/usr/bin/python3
"""REST API: auth matrix, devices/configs CRUD, 20+ invalid bodies, 413,
events (store + SSE), synchronize (SIP NOTIFY), metrics, token files."""
import json
import os
import shutil
import socket
import stat
import subprocess
import time

from pphelp import Daemon, TapRunner, SRC, free_port

t = TapRunner()


class Api:
    def __init__(self, d):
        self.base = f"http://127.0.0.1:{d.api_port}/api/v1"
        self.d = d

    def call(self, method, path, body=None, token="user", raw=None, headers=()):
        args = ["curl", "-s", "-i", "--max-time", "10", "-X", method]
        tok = {"user": self.d.token, "admin": self.d.admin_token}.get(token, token)
        if tok:
            args += ["-H", f"Authorization: Bearer {tok}"]
        for h in headers:
            args += ["-H", h]
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        p = subprocess.run(args + [self.base + path], input=data.encode() if isinstance(data, str) else data,
                           capture_output=True, timeout=20)
        out = p.stdout
        head, _, body_b = out.partition(b"\r\n\r\n")
        while body_b.startswith(b"HTTP/"):  # 100 Continue
            head, _, body_b = body_b.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
        hdr = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdr[k.strip().lower()] = v.strip()
        try:
            j = json.loads(body_b) if body_b.strip() else None
        except ValueError:
            j = None
        return status, j, hdr, body_b


# a plugin set with a special (admin-only) phone type
d = Daemon()
plugdir = os.path.join(d.tmp, "plugins")
shutil.copytree(os.path.join(SRC, "plugins", "yealink"), os.path.join(plugdir, "yealink"))
with open(os.path.join(plugdir, "yealink", "plugin.yml"), "a") as f:
    f.write("  - name: yealink-lobby\n    display_index: 99\n    special: true\n"
            "    models: [T46S]\n    codec: [PCMU]\n    prevent_sip: true\n    extra_fields: []\n")
d.cfg["plugins"]["dir"] = plugdir
from pphelp import to_yaml  # noqa: E402
with open(d.config_path, "w") as f:
    f.write(to_yaml(d.cfg))

with d:
    a = Api(d)
    # --- tokens ---------------------------------------------------------------
    for key in ("token_file", "admin_token_file"):
        path = d.cfg["api"][key]
        mode = stat.S_IMODE(os.stat(path).st_mode)
        tok = open(path).read().strip()
        t.ok(mode == 0o600, f"{key} created with mode 0600", oct(mode))
        t.ok(len(tok) == 64 and all(c in "0123456789abcdef" for c in tok), f"{key}: 64 hex chars", tok)
    t.ok(d.token != d.admin_token, "user and admin tokens differ")

    # --- auth matrix ------------------------------------------------------------
    classes = {
        "health": ("GET", "/health", None),
        "read devices": ("GET", "/devices", None),
        "read configs": ("GET", "/configs", None),
        "metrics": ("GET", "/metrics", None),
        "plugins": ("GET", "/plugins", None),
        "records": ("GET", "/records", None),
        "write device": ("POST", "/devices", {"mac": "02:00:00:00:00:01"}),  # MAC varied below
        "firmware admin": ("POST", "/plugins/yealink/packages/no-such-pkg", None),
        "special phone type": ("POST", "/devices", {"mac": "02:00:00:00:00:02", "plugin": "yealink",
                                                    "phone_type": "yealink-lobby"}),
    }
    expect = {
        "health": {None: 200, "bad": 200, "user": 200, "admin": 200},
        "firmware admin": {None: 401, "bad": 401, "user": 403, "admin": "not-auth"},
        "special phone type": {None: 401, "bad": 401, "user": 403, "admin": 201},
    }
    for name, (m, path, body) in classes.items():
        for who in (None, "bad", "user", "admin"):
            tok = {"bad": "0" * 64}.get(who, who)
            if name == "write device":
                body = {"mac": "02:00:00:00:01:%02x" % (len(who or "") + 1)}
            st, j, h, _ = a.call(m, path, body, token=tok)
            want = expect.get(name, {None: 401, "bad": 401}).get(who, "ok")
            if want == "ok":
                good = 200 <= st < 300
            elif want == "not-auth":
                good = st not in (401, 403) and st >= 200
            else:
                good = st == want
            if st == 401:
                good = good and h.get("www-authenticate", "").startswith("Bearer") and \
                    j and j.get("field") == "Authorization"
            t.ok(good, f"auth {name} with {who or 'no'} token -> {st}", (st, j))
    st, j, h, _ = a.call("GET", "/devices", token="", headers=["Authorization: Basic dXNlcjpwYXNz"])
    t.ok(st == 401, "Basic auth is not accepted", st)
    st, j, h, _ = a.call("GET", "/devices", token=d.token[:-1])
    t.ok(st == 401 and "invalid_token" in h.get("www-authenticate", ""), "truncated token: 401 invalid_token", (st, h))
    for n in (5, 6):
        a.call("DELETE", "/devices/02:00:00:00:01:%02x" % n)
    a.call("DELETE", "/devices/02:00:00:00:00:02", token="admin")

    # --- configs CRUD -------------------------------------------------------------
    st, j, h, _ = a.call("POST", "/configs", {"id": "base", "raw_config": {"locale": "en_US", "timezone": "UTC"}})
    t.ok(st == 201 and j["id"] == "base" and j["parent_ids"] == [] and j["raw_config"]["timezone"] == "UTC",
         "POST /configs base: 201", (st, j))
    st, j, h, _ = a.call("POST", "/configs", {"id": "site", "parent_ids": ["base"], "raw_config": {"timezone": "CET"}})
    t.ok(st == 201 and j["parent_ids"] == ["base"], "POST /configs site inheriting base: 201", (st, j))
    st, j, h, _ = a.call("POST", "/configs", {"id": "base"})
    t.ok(st == 409 and j["field"] == "id", "duplicate config: 409", (st, j))
    st, j, h, _ = a.call("GET", "/configs/site")
    t.ok(st == 200 and j["raw_config"] == {"timezone": "CET"}, "GET /configs/site", (st, j))
    st, j, h, _ = a.call("PUT", "/configs/site", {"parent_ids": ["base"], "raw_config": {"timezone": "EET"}})
    t.ok(st == 200 and j["raw_config"] == {"timezone": "EET"} and j["id"] == "site", "PUT /configs/site", (st, j))
    st, j, h, _ = a.call("GET", "/configs")
    t.ok(st == 200 and sorted(c["id"] for c in j["configs"]) == ["base", "site"], "GET /configs lists both", j)
    st, j, h, _ = a.call("PUT", "/configs/base", {"parent_ids": ["site"]})
    t.ok(st == 422 and j["field"] == "parent_ids" and "cycle" in j["error"], "cycle refused: 422", (st, j))
    st, j, h, _ = a.call("DELETE", "/configs/base")
    t.ok(st == 409 and "site" in j["error"], "deleting an inherited config: 409", (st, j))
    st, j, h, _ = a.call("GET", "/configs/nope")
    t.ok(st == 404, "GET missing config: 404", st)

    # --- devices CRUD ----------------------------------------------------------------
    st, j, h, _ = a.call("POST", "/devices", {"mac": "00-15-65-AA-BB-CC", "ip": "127.0.0.1",
                                              "vendor": "Yealink", "model": "T46S", "config": "site",
                                              "plugin": "yealink", "phone_type": "yealink-t4xs"})
    # the answer is the device as committed: created, associated and rendered
    # in one transaction (the per-MAC config is the trigger; the bundled plugin
    # may render more per-device files, e.g. Yealink's <mac>-directory.xml)
    t.ok(st == 201 and j["mac"] == "00:15:65:aa:bb:cc" and j["state"] == "configured" and
         "001565aabbcc.cfg" in j["render"]["files"] and
         j["render"].get("trigger") == "001565aabbcc.cfg" and
         h.get("location") == "/api/v1/devices/00:15:65:aa:bb:cc",
         "POST /devices: 201, MAC normalised, rendered, Location", (st, j, h))
    st, j, h, _ = a.call("POST", "/devices", {"mac": "001565aabbcc"})
    t.ok(st == 409 and j["field"] == "mac", "duplicate device (other MAC spelling): 409", (st, j))
    st, j, h, _ = a.call("GET", "/devices/001565AABBCC")
    t.ok(st == 200 and j["model"] == "T46S" and j["ip"] == "127.0.0.1", "GET by another MAC form", (st, j))
    st, j, h, _ = a.call("PATCH", "/devices/00:15:65:aa:bb:cc", {"model": "T48S", "serial": None, "version": "66.86.0.15"})
    t.ok(st == 200 and j["model"] == "T48S" and j["vendor"] == "Yealink" and j["version"] == "66.86.0.15",
         "PATCH merges", (st, j))
    created = j["created"]
    st, j, h, _ = a.call("PUT", "/devices/00:15:65:aa:bb:cc", {"ip": "127.0.0.1", "vendor": "Yealink", "config": "site"})
    t.ok(st == 200 and "model" not in j and j["created"] == created and j["vendor"] == "Yealink",
         "PUT replaces client fields, keeps created", (st, j))
    st, j, h, _ = a.call("DELETE", "/configs/site")
    t.ok(st == 409 and "device" in j["error"], "deleting a config a device uses: 409", (st, j))
    st, j, h, _ = a.call("GET", "/devices")
    t.ok(st == 200 and j["count"] == 1 and j["devices"][0]["mac"] == "00:15:65:aa:bb:cc", "GET /devices", j)
    st, j, h, _ = a.call("POST", "/devices/00:15:65:aa:bb:cc/reconfigure")
    t.ok(st in (200, 501), "reconfigure: 200 (or 501 while the pipeline is a stub)", (st, j))
    st, j, h, _ = a.call("POST", "/devices/02:02:02:02:02:02/reconfigure")
    t.ok(st == 404, "reconfigure unknown device: 404", (st, j))

    # synchronize: SIP NOTIFY check-sync to the device ip (127.0.0.1)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", 5060))
        q = ""
    except OSError:
        port = free_port(socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", port))
        q = f"?port={port}"
    u.settimeout(3)
    st, j, h, _ = a.call("POST", "/devices/00:15:65:aa:bb:cc/synchronize" + q)
    try:
        msg = u.recv(4096).decode()
    except socket.timeout:
        msg = ""
    u.close()
    t.ok(st == 202, "synchronize: 202", (st, j))
    t.ok(msg.startswith("NOTIFY sip:") and "Event: check-sync" in msg and "CSeq: 1 NOTIFY" in msg,
         "the device port received a SIP NOTIFY check-sync", msg)
    a.call("POST", "/devices", {"mac": "00:15:65:00:00:01"})
    st, j, h, _ = a.call("POST", "/devices/00:15:65:00:00:01/synchronize")
    t.ok(st == 409 and j["field"] == "ip", "synchronize without ip: 409", (st, j))
    st, j, h, _ = a.call("DELETE", "/devices/00:15:65:00:00:01")
    t.ok(st == 204, "DELETE device: 204", st)
    st, j, h, _ = a.call("GET", "/devices/00:15:65:00:00:01")
    t.ok(st == 404, "deleted device: 404", st)
    st, j, h, _ = a.call("DELETE", "/devices/00:15:65:00:00:01")
    t.ok(st == 404, "DELETE again: 404", st)

    # --- invalid bodies -----------------------------------------------------------------
    big = "x" * 300
    invalid = [
        ("POST", "/devices", '{"mac": "00:11:22:33:44:55",}', 400, ""),
        ("POST", "/devices", '{"mac": ', 400, ""),
        ("POST", "/devices", "", 400, ""),
        ("POST", "/devices", "[1,2]", 400, ""),
        ("POST", "/devices", '"text"', 400, ""),
        ("POST", "/devices", '{"mac": "a", "mac": "b"}', 400, ""),
        ("POST", "/devices", {}, 400, "mac"),
        ("POST", "/devices", {"mac": 12}, 400, "mac"),
        ("POST", "/devices", {"mac": "zz:zz"}, 422, "mac"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "ip": "300.1.1.1"}, 422, "ip"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "ip": 5}, 400, "ip"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "model": ["T46S"]}, 400, "model"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "vendor": big}, 422, "vendor"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "colour": "red"}, 422, "colour"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "state": "provisioned"}, 422, "state"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "config": "nope"}, 422, "config"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "config": "../x"}, 422, "config"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "plugin": "nope"}, 422, "plugin"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "plugin": "yealink", "phone_type": "nope"}, 422, "phone_type"),
        ("POST", "/devices", {"mac": "00:11:22:33:44:66", "extra": 3}, 400, "extra"),
        ("PUT", "/devices/00:15:65:aa:bb:cc", {"mac": "00:15:65:aa:bb:cd"}, 422, "mac"),
        ("PATCH", "/devices/00:15:65:aa:bb:cc", {"created": 1}, 422, "created"),
        ("PATCH", "/devices/00:15:65:aa:bb:cc", {"config": "nope"}, 422, "config"),
        ("PATCH", "/devices/12", {"model": "x"}, 400, "mac"),
        ("PATCH", "/devices/00:15:65:99:99:99", {"model": "x"}, 404, "mac"),
        ("POST", "/configs", {"raw_config": {}}, 400, "id"),
        ("POST", "/configs", {"id": "a/b"}, 422, "id"),
        ("POST", "/configs", {"id": ".hidden"}, 422, "id"),
        ("POST", "/configs", {"id": 7}, 400, "id"),
        ("POST", "/configs", {"id": "c1", "raw_config": []}, 400, "raw_config"),
        ("POST", "/configs", {"id": "c1", "parent_ids": "base"}, 400, "parent_ids"),
        ("POST", "/configs", {"id": "c1", "parent_ids": [1]}, 400, "parent_ids"),
        ("POST", "/configs", {"id": "c1", "parent_ids": ["missing"]}, 422, "parent_ids"),
        ("POST", "/configs", {"id": "c1", "parent_ids": ["c1"]}, 422, "parent_ids"),
        ("POST", "/configs", {"id": "c1", "parent_ids": ["base", "base"]}, 422, "parent_ids"),
        ("POST", "/configs", {"id": "c1", "extra": 1}, 422, "extra"),
        ("PUT", "/configs/site", {"id": "other"}, 422, "id"),
        ("GET", "/records?limit=abc", None, 400, "limit"),
        ("GET", "/records?since=-1", None, 400, "since"),
        ("GET", "/dhcpd.conf?format=xml", None, 400, "format"),
    ]
    for m, path, body, want, field in invalid:
        if isinstance(body, str):
            st, j, h, _ = a.call(m, path, raw=body)
        else:
            st, j, h, _ = a.call(m, path, body)
        good = st == want and isinstance(j, dict) and "error" in j and j.get("field") == field
        t.ok(good, f"invalid {m} {path} {json.dumps(body)[:50]} -> {want} field={field!r}", (st, j))
    st, j, h, _ = a.call("POST", "/devices", raw='{"mac": "00:11:22:33:44:55",\n "ip": }')
    t.ok(st == 400 and j.get("line") == 2 and "line 2" in j["error"] and "position" in j,
         "malformed JSON error names line/column/position", j)

    # --- 413, 404, 405 -------------------------------------------------------------------
    huge = '{"mac": "00:11:22:33:44:77", "description": "' + "y" * (1024 * 1024) + '"}'
    st, j, h, _ = a.call("POST", "/devices", raw=huge)
    t.ok(st == 413 and "error" in j, "body over 1 MiB: 413", (st, j))
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                        "-H", f"Authorization: Bearer {d.token}", "-H", "Transfer-Encoding: chunked",
                        "--data-binary", "@-", a.base + "/devices"], input=huge.encode(),
                       capture_output=True, timeout=20)
    t.ok(p.stdout == b"413", "chunked body over 1 MiB: 413", p.stdout)
    st, j, h, _ = a.call("GET", "/devices/00:11:22:33:44:77")
    t.ok(st == 404, "nothing stored from the refused body", st)
    st, j, h, _ = a.call("GET", "/nope")
    t.ok(st == 404 and j["error"], "unknown endpoint: 404 JSON", (st, j))
    st, j, h, _ = a.call("DELETE", "/devices")
    t.ok(st == 405 and h.get("allow") == "GET, POST", "DELETE /devices: 405 with Allow", (st, h))
    st, j, h, _ = a.call("GET", "/plugins")
    t.ok(st == 200 and any(p["name"] == "yealink" for p in j["plugins"]), "GET /plugins", j)
    st, j, h, _ = a.call("GET", "/plugins/yealink")
    t.ok(st == 200 and j["name"] == "yealink" and isinstance(j.get("meta"), dict), "GET /plugins/yealink", st)
    st, j, h, _ = a.call("GET", "/plugins/nope")
    t.ok(st == 404, "unknown plugin: 404", st)
    st, j, h, _ = a.call("GET", "/plugins/yealink/packages")
    t.ok(st in (200, 501) and isinstance(j, dict), "GET packages: 200 or 501 JSON", (st, j))
    st, j, h, body = a.call("GET", "/dhcpd.conf")
    t.ok(st == 200 and h.get("content-type", "").startswith("text/plain") or st == 501, "GET /dhcpd.conf", (st, body[:200]))
    st, j, h, _ = a.call("GET", "/records?since=0&limit=5")
    t.ok(st == 200 and isinstance(j.get("records"), list), "GET /records", (st, j))

    # --- metrics ----------------------------------------------------------------------------
    st, j, h, body = a.call("GET", "/metrics")
    text = body.decode()
    t.ok(st == 200 and h.get("content-type", "").startswith("text/plain"), "metrics: text/plain", h)
    ndev = sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("phoneprov_devices{"))
    t.ok('phoneprov_requests_total{proto="api"}' in text and ndev == 1 and 'phoneprov_devices{state="new"}' in text
         and "# TYPE phoneprov_refused_total counter" in text, "metrics hold counters and devices by state", text[:3000])

    # --- events -------------------------------------------------------------------------------
    p = subprocess.run(["curl", "-s", "-N", "--max-time", "1.5", "-H", f"Authorization: Bearer {d.token}",
                        a.base + "/events?since=0"], capture_output=True, timeout=10)
    ev = p.stdout.decode()
    types = [line[7:] for line in ev.splitlines() if line.startswith("event: ")]
    want = ["config.created", "config.created", "device.created", "device.updated", "device.updated",
            "config.updated", "device.created", "device.deleted"]
    t.ok(all(types.count(x) >= want.count(x) for x in set(want)), "every change emitted an event", types)
    t.ok("device.deleted" in types and "id: " in ev, "SSE replay since 0 has ids and types", ev[:500])
    # live stream: connect (tail), then create a device
    proc = subprocess.Popen(["curl", "-s", "-N", "--max-time", "6", "-H", f"Authorization: Bearer {d.token}",
                             a.base + "/events"], stdout=subprocess.PIPE)
    time.sleep(0.7)
    st, j, h, _ = a.call("POST", "/devices", {"mac": "00:15:65:12:34:56"})
    out = b""
    deadline = time.monotonic() + 5
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline and b"00:15:65:12:34:56" not in out:
        try:
            chunk = proc.stdout.read()
            if chunk:
                out += chunk
        except (BlockingIOError, TypeError):
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    t.ok(b"event: device.created" in out and b"00:15:65:12:34:56" in out,
         "live SSE stream received the new device's event", out[-600:])
    t.ok(b"device.deleted" not in out, "stream without since starts at the tail", out[:400])
    p = subprocess.run(["curl", "-s", "-N", "--max-time", "1", "-H", f"Authorization: Bearer {d.token}",
                        "-H", "Last-Event-ID: 999999", a.base + "/events"], capture_output=True, timeout=10)
    t.ok(b"event:" not in p.stdout, "Last-Event-ID past the end replays nothing", p.stdout[:300])

    # --- restart keeps the tokens ----------------------------------------------------------------
    old = (d.token, d.admin_token)
    d.stop()
    d.start()
    t.ok((d.token, d.admin_token) == old, "tokens are kept across restarts")
    st, j, h, _ = Api(d).call("GET", "/devices/00:15:65:12:34:56")
    t.ok(st == 200, "data survives the restart", st)
    rc = d.stop()
    log = d.read_log()
    t.ok(rc == 0 and "Sanitizer" not in log and "runtime error" not in log,
         "phoneprovd stops cleanly (exit 0, no sanitizer report)", (rc, log[-2000:]))

t.done()
