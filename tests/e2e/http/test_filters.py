#!/usr/bin/python3
"""GET /devices filters (vendor, model, plugin, state, config, ip,
phone_type), alone, together, with pagination; /configs pagination;
unknown query parameters refused; Location on every 201; the same filters
in `phoneprov devices list`."""
import json
import urllib.error
import urllib.request

from pphelp import Daemon, TapRunner

t = TapRunner()

with Daemon() as d:
    base = f"http://127.0.0.1:{d.api_port}/api/v1"

    def call(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {d.admin_token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw = r.read()
                return r.status, dict(r.headers), json.loads(raw) if raw.strip() else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, dict(e.headers), json.loads(raw) if raw.strip() else None

    for cid in ("site", "lobby", "a1", "a2", "a3"):
        st, hdr, j = call("POST", "/configs", {"id": cid, "raw_config": {}})
        t.ok(st == 201 and hdr.get("Location") == f"/api/v1/configs/{cid}",
             f"POST /configs {cid}: 201 with Location", (st, hdr))
    devs = [
        ("00:15:65:00:00:01", {"ip": "10.0.0.1", "vendor": "Yealink", "model": "T46S", "config": "site", "plugin": "yealink"}),
        ("00:15:65:00:00:02", {"ip": "10.0.0.2", "vendor": "Yealink", "model": "T48S", "config": "lobby"}),
        ("00:04:f2:00:00:03", {"ip": "2001:db8::3", "vendor": "Polycom", "model": "VVX 411", "config": "site"}),
        ("00:0e:08:00:00:04", {"vendor": "Cisco", "model": "SPA504G"}),
    ]
    for mac, f in devs:
        st, hdr, j = call("POST", "/devices", dict(mac=mac, **f))
        t.ok(st == 201 and hdr.get("Location") == f"/api/v1/devices/{mac}",
             f"POST /devices {mac}: 201 with Location", (st, hdr, j))

    def macs(query):
        st, _, j = call("GET", "/devices" + query)
        return st, [x["mac"] for x in (j or {}).get("devices", [])], j

    cases = [
        ("?vendor=Yealink", ["00:15:65:00:00:01", "00:15:65:00:00:02"]),
        ("?vendor=yealink", []),  # exact values
        ("?model=T48S", ["00:15:65:00:00:02"]),
        ("?model=VVX%20411", ["00:04:f2:00:00:03"]),
        ("?config=site", ["00:04:f2:00:00:03", "00:15:65:00:00:01"]),
        ("?config=", ["00:0e:08:00:00:04"]),  # empty: devices without a config
        ("?plugin=polycom", ["00:04:f2:00:00:03"]),  # associated by the server
        ("?plugin=cisco-spa", ["00:0e:08:00:00:04"]),
        ("?ip=10.0.0.2", ["00:15:65:00:00:02"]),
        ("?ip=2001:db8:0:0::3", ["00:04:f2:00:00:03"]),  # an address, not a spelling
        ("?vendor=Yealink&config=lobby", ["00:15:65:00:00:02"]),
        ("?vendor=Cisco&config=site", []),
        ("?phone_type=", [m for m, _ in devs]),  # none has one yet
    ]
    for q, want in cases:
        st, got, j = macs(q)
        t.ok(st == 200 and sorted(got) == sorted(want) and j["count"] == len(want),
             f"GET /devices{q}: {len(want)} device(s)", (st, got, want))
    st, got, j = macs("?state=configured")
    t.ok(st == 200 and len(got) == 4 and all(x["state"] == "configured" for x in j["devices"]),
         "state=configured: the four (each has a plugin and rendered files)", got)
    st, got, j = macs("?state=new")
    t.ok(st == 200 and got == [], "state=new: none", got)
    # phone types of the yealink plugin (plugins/yealink/plugin.yml)
    st, _, j = call("PATCH", "/devices/00:15:65:00:00:02", {"plugin": "yealink", "phone_type": "yealink-t4xs"})
    t.ok(st == 200, "PATCH a phone_type", (st, j))
    st, got, _ = macs("?phone_type=yealink-t4xs")
    t.ok(st == 200 and got == ["00:15:65:00:00:02"], "GET /devices?phone_type=yealink-t4xs", got)

    # pagination with a filter: pages of one, next, no repeats
    seen, after, pages = [], "", 0
    while pages < 10:
        st, _, j = call("GET", "/devices?vendor=Yealink&limit=1" + (f"&after={after}" if after else ""))
        seen += [x["mac"] for x in j["devices"]]
        pages += 1
        if "next" not in j:
            break
        after = j["next"]
    t.ok(seen == ["00:15:65:00:00:01", "00:15:65:00:00:02"],
         "filtered pages of one: both Yealinks once, in order", (seen, pages))

    # configs pagination
    seen, after = [], ""
    for _ in range(10):
        st, _, j = call("GET", "/configs?limit=2" + (f"&after={after}" if after else ""))
        t.ok(st == 200 and j["count"] <= 2, "GET /configs?limit=2: at most two", j) if not seen else None
        seen += [c["id"] for c in j["configs"]]
        if "next" not in j:
            break
        after = j["next"]
    t.ok(seen == sorted(["site", "lobby", "a1", "a2", "a3"]), "configs in pages of two: all, in id order",
         seen)
    st, _, j = call("GET", "/configs?limit=x")
    t.ok(st == 400 and j["field"] == "limit", "GET /configs?limit=x: 400", (st, j))

    # unknown parameters: 400 naming the parameter (a typo must not list everything)
    for q in ("?vendr=Yealink", "?Vendor=Yealink", "?vendor=Yealink&foo="):
        st, _, j = call("GET", "/devices" + q)
        t.ok(st == 400 and j["field"] in ("vendr", "Vendor", "foo"),
             f"GET /devices{q}: 400 unknown query parameter", (st, j))
    st, _, j = call("GET", "/configs?vendor=x")
    t.ok(st == 400 and j["field"] == "vendor", "a devices filter on /configs: 400", (st, j))
    st, _, j = call("GET", "/devices?ip=10.0.0")
    t.ok(st == 400 and j["field"] == "ip", "a malformed ip filter: 400", (st, j))

    # the CLI lists with the same filters (--opt=value and --opt value)
    p = d.cli("--json", "devices", "list", "--vendor=Yealink", "--config", "lobby")
    got = [x["mac"] for x in json.loads(p.stdout)] if p.returncode == 0 else p.stderr
    t.ok(got == ["00:15:65:00:00:02"], "phoneprov devices list --vendor=Yealink --config lobby", got)
    p = d.cli("--json", "devices", "--config=")
    got = [x["mac"] for x in json.loads(p.stdout)] if p.returncode == 0 else p.stderr
    t.ok(got == ["00:0e:08:00:00:04"], "phoneprov devices --config= (devices without a config)", got)
    p = d.cli("devices", "list", "--serial=1")
    t.ok(p.returncode == 2 and "cannot filter" in p.stderr, "devices list --serial: usage error",
         p.stderr)
t.done()
