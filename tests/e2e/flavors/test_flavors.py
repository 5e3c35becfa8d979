#!/usr/bin/python3
"""Phone flavors end to end (docs/flavors.md), one real phoneprovd on
127.0.0.1 with the worked example of docs/flavors.md (`hello`, extracted
from the page and built by meson), the bundled flavors asterisk-pjsip and
dect-base, a routes hook answering garbage on purpose, and two small vendor
plugins (acme from tests/e2e/plugins/fixtures, `vend` written here).

argv: example hooks.so, example plugin.yml, garbage hooks.so, asterisk-pjsip
hooks.so, dect-base hooks.so. Asserts:
- GET /phone_types: order (display_index, then name), models with codecs,
  special and prevent_sip, extra_fields; `phoneprov phone-types --json` agrees;
- extra against its type's schema on every write (API and CLI): 20 cases
  with their exact messages, defaults filled in, nothing stored on refusal;
- extra, the phone type and its codecs reach the templates; prevent_sip is
  in the device document and its events;
- special types: the user token is refused on create, update and delete;
  plugins.all_types_public lifts that (SIGHUP);
- plugin routes: GET and POST with query and body, admin routes, the
  boundary (garbage from the hook is a 500 naming it, the API goes on);
- lifecycle hooks counted per change on the API, CLI and phone paths, with
  the effective config;
- jobs: a not-implemented job is called once; a failing job (the base
  station answers 500) is logged and retried, and recovers; a new interval
  follows SIGHUP in the same instance, new settings make a new instance;
- asterisk-pjsip: its include file parsed: every line of every device, none
  for prevent_sip, updates and deletes followed."""
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.request

from pphelp import Daemon, SRC, TapRunner, to_yaml

t = TapRunner()
EX_SO, EX_YML, GARBAGE_SO, PJSIP_SO, DECT_SO = sys.argv[1:6]
FIX = os.path.join(SRC, "tests", "e2e", "plugins", "fixtures")


# --- a DECT base station: its status page on 127.0.0.1 ---------------------------------
class Base:
    status = 500
    page = b""
    hits = 0


class BaseHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        Base.hits += 1
        body = Base.page if Base.status == 200 else b"<html>server error</html>"
        self.send_response(Base.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


PAGE = (b"# DECT base status\r\nbase.name=Office\r\nbase.firmware=2.48.0\r\n"
        b"base.rfpi=0123456789\r\n\r\nhandset.1.ipui=0277A1B2C3\r\nhandset.1.name=Reception\r\n"
        b"handset.1.state=registered\r\nhandset.1.rssi=-52\r\nhandset.1.battery=80\r\n"
        b"handset.2.ipui=0277a1b2c4\r\nhandset.2.state=searching\r\nvendor.extra=ignored\r\n")


def wait_for(fn, what, timeout=10.0):
    """Poll fn() until it returns a true value (the daemon's threads act on
    their own time); the value, or None after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.02)


def events(d, want, timeout=5.0):
    """The SSE replay of /events until an event satisfying want(type, data)."""
    req = urllib.request.Request(f"http://127.0.0.1:{d.api_port}/api/v1/events?since=0",
                                 headers={"Authorization": f"Bearer {d.token}"})
    out, typ = [], None
    with urllib.request.urlopen(req, timeout=timeout) as r:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = r.readline().decode().rstrip("\n")
            except TimeoutError:
                break
            if line.startswith("event: "):
                typ = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:]).get("data", {})
                out.append((typ, data))
                if want(typ, data):
                    return out
    return out


def parse_pjsip(text):
    """The include file as {section: {key: value}} plus the trailer count.
    A section must have every key the flavor writes: a torn file fails."""
    sections, cur, trailer = {}, None, None
    for line in text.splitlines():
        if line.startswith("; end: "):
            trailer = int(line.split()[2])
        elif line.startswith("; ") and cur is not None and " = " in line:
            k, v = line[2:].split(" = ", 1)
            sections[cur][k] = v
        elif line.startswith("["):
            cur = line[1:line.index("]")]
            assert cur not in sections, f"section {cur} twice"
            sections[cur] = {}
        elif " = " in line and cur is not None:
            k, v = line.split(" = ", 1)
            sections[cur][k] = v
    need = {"type", "device", "line", "inbound_auth/username", "inbound_auth/password",
            "endpoint/context", "endpoint/allow", "aor/max_contacts", "transport"}
    for name, kv in sections.items():
        missing = need - set(kv)
        assert not missing, f"section {name} lacks {missing}"
    return sections, trailer


def plugin_tree(tmp):
    pdir = os.path.join(tmp, "plugins")
    shutil.copytree(os.path.join(FIX, "acme"), os.path.join(pdir, "acme"))
    for name, yml, so in (("hello", EX_YML, EX_SO),
                          ("garbage", os.path.join(SRC, "tests", "e2e", "flavors", "fixtures",
                                                   "garbage", "plugin.yml"), GARBAGE_SO),
                          ("asterisk-pjsip", os.path.join(SRC, "plugins", "asterisk-pjsip",
                                                          "plugin.yml"), PJSIP_SO),
                          ("dect-base", os.path.join(SRC, "plugins", "dect-base", "plugin.yml"),
                           DECT_SO)):
        os.makedirs(os.path.join(pdir, name))
        shutil.copy(yml, os.path.join(pdir, name, "plugin.yml"))
        shutil.copy(so, os.path.join(pdir, name, "hooks.so"))
    # vend: a vendor plugin whose template shows what a flavor adds
    v = os.path.join(pdir, "vend")
    os.makedirs(os.path.join(v, "templates"))
    with open(os.path.join(v, "plugin.yml"), "w") as f:
        f.write("name: vend\nversion: \"1.0.0\"\ndescription: test vendor\nvendor: Vend\n"
                "models:\n  V1: { lines: 2, codec: [PCMA] }\n"
                "extract:\n  - from: http.user_agent\n"
                "    regex: '^Vend V1 (?<version>[\\d.]+) mac=(?<mac>[0-9a-f:]+)'\n"
                "    set: { vendor: Vend, model: V1 }\n"
                "files:\n  - path: \"vend/{{mac}}.cfg\"\n    template: v.mustache\n")
    with open(os.path.join(v, "templates", "v.mustache"), "w") as f:
        f.write("room={{extra.room}} floor={{extra.floor}} type={{phone_type.name}} "
                "nosip={{phone_type.prevent_sip}} codecs={{#codecs}}{{name}},{{/codecs}}\n")
    return pdir


def main():
    tmp = tempfile.mkdtemp(prefix="ppflavors-")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BaseHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    inc = os.path.join(tmp, "pjsip-phoneprov.conf")
    settings = {
        "asterisk-pjsip": {"include_file": inc},
        "dect-base": {"status_url": f"http://127.0.0.1:{srv.server_address[1]}/status",
                      "job_interval_s": 0.1, "timeout_ms": 2000},
        "hello": {"job_interval_s": 0.1, "events_file": os.path.join(tmp, "hello.log")},
    }
    try:
        with Daemon(plugins_dir=plugin_tree(tmp), extra={"plugins": {"settings": settings}}) as d:
            run(d, inc)
    finally:
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


def run(d, inc):
    api = d.api
    # ---- phone types --------------------------------------------------------------------
    st, j = api("GET", "/phone_types")
    names = [x["name"] for x in (j or {}).get("phone_types", [])]
    t.ok(st == 200 and names == ["pjsip-desk", "pjsip-softphone", "dect-handset", "hello-desk",
                                 "hello-lobby", "pjsip-paging", "dect-repeater",
                                 "pjsip-trunk-gateway", "hello-vip", "acme-a100"],
         "GET /phone_types: highest display_index first, then by name", names)
    types = {x["name"]: x for x in j["phone_types"]}
    t.ok(j["count"] == 10 and j["all_types_public"] is False, "count and all_types_public", j)
    t.ok(types["acme-a100"]["models"] == [{"name": "A100", "codec": ["PCMU", "PCMA"]}] and
         types["pjsip-desk"]["codec"] == ["G722", "PCMA", "PCMU"],
         "models with their codecs (the model's when the type has none); the type's codec",
         (types["acme-a100"], types["pjsip-desk"]["codec"]))
    t.ok(types["hello-vip"]["special"] is True and types["pjsip-paging"]["prevent_sip"] is True and
         types["hello-desk"]["special"] is False and types["hello-desk"]["plugin"] == "hello",
         "special and prevent_sip listed (special types too, for the user token)")
    t.ok(types["hello-desk"]["extra_fields"] ==
         [{"name": "room", "type": "string", "required": True, "pattern": "^[A-Z][0-9]{3}$",
           "max": 4},
          {"name": "floor", "type": "integer", "required": False, "default": 0, "min": -5,
           "max": 200}],
         "extra_fields: the schema as declared", types["hello-desk"]["extra_fields"])
    p = d.cli("--json", "phone-types")
    t.ok(p.returncode == 0 and json.loads(p.stdout) == j["phone_types"],
         "phoneprov phone-types --json lists the same", p.stderr[-300:])
    p = d.cli("phone-types")
    lines = p.stdout.splitlines()
    t.ok(p.returncode == 0 and lines[1].split()[:3] == ["100", "pjsip-desk", "asterisk-pjsip"] and
         "room*,floor" in p.stdout, "phoneprov phone-types: a table in the same order",
         p.stdout[:400])

    # ---- extra_fields validation ------------------------------------------------------------
    mac = "00:11:22:aa:00:01"

    def refused(body, status, field, msg, name):
        b = {"mac": mac}
        b.update(body)
        st, e = api("POST", "/devices", b)
        t.ok(st == status and e == {"error": msg, "field": field}, name, (st, e))

    desk = {"phone_type": "hello-desk"}
    cases = [
        ({"extra": {}}, 422, "extra.room", "extra.room is required by phone type hello-desk",
         "required field missing"),
        ({"extra": {"room": 101}}, 422, "extra.room",
         "extra.room must be a string, not an integer", "string given an integer"),
        ({"extra": {"room": "lowercase!"}}, 422, "extra.room",
         "extra.room 'lowercase!' does not match ^[A-Z][0-9]{3}$", "pattern (PCRE2)"),
        ({"extra": {"room": "B204", "floor": "notanint"}}, 422, "extra.floor",
         "extra.floor must be an integer, not a string", "integer given a string"),
        ({"extra": {"room": "B204", "floor": 1.5}}, 422, "extra.floor",
         "extra.floor must be an integer, not a number", "integer given a fraction"),
        ({"extra": {"room": "B204", "floor": True}}, 422, "extra.floor",
         "extra.floor must be an integer, not a boolean", "integer given a boolean"),
        ({"extra": {"room": "B204", "floor": -6}}, 422, "extra.floor",
         "extra.floor must be at least -5", "below min"),
        ({"extra": {"room": "B204", "floor": 201}}, 422, "extra.floor",
         "extra.floor must be at most 200", "above max"),
        ({"extra": {"room": "B204", "desk": 3}}, 422, "extra.desk",
         "extra.desk is not a field of phone type hello-desk (fields: room, floor)",
         "unknown field named with the type's fields"),
        ({"extra": {"room": None}}, 422, "extra.room",
         "extra.room is required by phone type hello-desk", "null is absent"),
    ]
    for body, status, field, msg, name in cases:
        b = dict(desk)
        b.update(body)
        refused(b, status, field, msg, "extra: " + name)
    refused({"extra": "room=B204", "phone_type": "hello-desk"}, 400, "extra",
            "extra must be an object", "extra: not an object (400)")
    refused({"extra": {"room": "B204"}}, 422, "extra",
            "extra needs a phone_type: its extra_fields are the schema of these values",
            "extra: without a phone_type")
    refused({"phone_type": "nope"}, 422, "phone_type", "no such phone type: nope",
            "phone_type: unknown")
    refused({"phone_type": "pjsip-desk", "extra": {"transport": "sctp"}}, 422, "extra.transport",
            'extra.transport must be one of udp, tcp, tls; not "sctp"', "extra: enum")
    refused({"phone_type": "pjsip-desk", "extra": {"max_contacts": 0}}, 422, "extra.max_contacts",
            "extra.max_contacts must be at least 1", "extra: min of another type")
    refused({"phone_type": "pjsip-desk", "extra": {"mailbox": "x"}}, 422, "extra.mailbox",
            "extra.mailbox 'x' does not match ^[0-9]{2,10}(@[a-z0-9_-]+)?$",
            "extra: optional field still checked")
    refused({"phone_type": "pjsip-paging"}, 422, "extra.zone",
            "extra.zone is required by phone type pjsip-paging", "extra: required without extra")
    refused({"phone_type": "dect-handset", "extra": {"ipui": "0277a1b2c3"}}, 422, "extra.ipui",
            "extra.ipui '0277a1b2c3' does not match ^[0-9A-F]{10}$", "extra: case matters")
    refused({"phone_type": "dect-handset", "extra": {"ipui": "0277A1B2C3",
                                                     "handset_name": "x" * 33}},
            422, "extra.handset_name", "extra.handset_name must be at most 32 characters",
            "extra: max length in characters")
    st, _ = api("GET", f"/devices/{mac}")
    t.ok(st == 404, "nothing stored by any refused write", st)

    st, dev = api("POST", "/devices", {"mac": mac, "phone_type": "hello-desk",
                                       "extra": {"room": "B204"}, "plugin": "vend",
                                       "vendor": "Vend", "model": "V1", "ip": "127.0.0.1"})
    t.ok(st == 201 and dev.get("extra") == {"room": "B204", "floor": 0} and
         dev.get("prevent_sip") is False,
         "a valid extra is stored with its defaults filled in; prevent_sip in the document",
         (st, dev))
    st, e = api("PATCH", f"/devices/{mac}", {"extra": {"room": "b204"}})
    st2, dev2 = api("GET", f"/devices/{mac}")
    t.ok(st == 422 and e["field"] == "extra.room" and dev2["extra"] == {"room": "B204", "floor": 0},
         "PATCH: checked too, and the stored values stay", (st, e, dev2.get("extra")))
    p = d.cli("devices", "set", mac, '--extra={"room": "B204", "floor": 999}')
    t.ok(p.returncode != 0 and "extra.floor must be at most 200" in p.stderr,
         "CLI devices set --extra: the same check and message", (p.returncode, p.stderr))
    p = d.cli("devices", "add", "00:11:22:aa:00:09", "--phone-type=hello-desk",
              '--extra={"floor": 2}')
    t.ok(p.returncode != 0 and "extra.room is required by phone type hello-desk" in p.stderr,
         "CLI devices add: required checked", (p.returncode, p.stderr))

    # ---- templates: extra, the type, its codecs ------------------------------------------------
    path = os.path.join(d.data_dir, "tftpboot", "vend", mac.replace(":", "") + ".cfg")
    with open(path) as f:
        rendered = f.read()
    t.ok(rendered == "room=B204 floor=0 type=hello-desk nosip=false codecs=G722,PCMU,\n",
         "templates see extra.<name> (defaults too), phone_type and the type's codecs in order",
         rendered)
    st, _ = api("PUT", "/configs/cod", {"id": "cod", "raw_config": {"codecs": ["opus", "PCMA"]}})
    if st == 404 or st == 405:
        st, _ = api("POST", "/configs", {"id": "cod", "raw_config": {"codecs": ["opus", "PCMA"]}})
    st, _ = api("PATCH", f"/devices/{mac}", {"config": "cod", "extra": {"room": "C310",
                                                                         "floor": 3}})
    with open(path) as f:
        rendered = f.read()
    t.ok(st == 200 and rendered == "room=C310 floor=3 type=hello-desk nosip=false codecs=opus,PCMA,\n",
         "a config's own codecs win over the type's; new extra values re-render", (st, rendered))

    # prevent_sip in events
    pmac = "00:11:22:aa:00:02"
    st, _ = api("POST", "/devices", {"mac": pmac, "phone_type": "pjsip-paging",
                                     "extra": {"zone": 4}})
    evs = events(d, lambda ty, da: ty == "device.created" and da.get("mac") == pmac)
    created = [da for ty, da in evs if ty == "device.created" and da.get("mac") == pmac]
    t.ok(st == 201 and created and created[-1].get("prevent_sip") is True and
         created[-1].get("phone_type") == "pjsip-paging",
         "device.created of a prevent_sip type carries prevent_sip and phone_type",
         (created[-3:], evs[-4:]))
    st, e = api("POST", "/devices", {"mac": "00:11:22:aa:00:03", "prevent_sip": False})
    t.ok(st == 422 and e["field"] == "prevent_sip", "prevent_sip is the server's", e)

    # ---- special types ------------------------------------------------------------------------
    vmac = "00:11:22:aa:00:04"
    st, e = api("POST", "/devices", {"mac": vmac, "phone_type": "hello-vip"})
    t.ok(st == 403 and e == {"error": "phone type hello-vip needs the admin token",
                             "field": "phone_type"}, "special type: user token refused on create",
         (st, e))
    st, _ = api("POST", "/devices", {"mac": vmac, "phone_type": "hello-vip"}, admin=True)
    t.ok(st == 201, "special type: the admin token creates", st)
    st, e = api("PATCH", f"/devices/{vmac}", {"description": "lobby"})
    t.ok(st == 403 and e["field"] == "phone_type", "special type: user token refused on update",
         (st, e))
    st, e = api("DELETE", f"/devices/{vmac}")
    t.ok(st == 403 and e["field"] == "phone_type" and api("GET", f"/devices/{vmac}")[0] == 200,
         "special type: user token refused on delete (the device stays)", (st, e))
    st, e = api("PATCH", f"/devices/{mac}", {"phone_type": "hello-vip", "extra": None})
    t.ok(st == 403, "special type: a user cannot move a device to one", (st, e))
    st, e = api("POST", "/devices", {"mac": "00:11:22:aa:00:05", "phone_type": "pjsip-trunk-gateway"})
    t.ok(st == 403, "special type of a bundled flavor: refused too", (st, e))

    # ---- plugin routes ------------------------------------------------------------------------
    st, j = api("GET", "/plugins/hello/echo/a/b?x=1&y=two%20words&x=3")
    t.ok(st == 200 and j["method"] == "GET" and j["path"] == "echo/a/b" and
         j["args"] == {"x": "3", "y": "two words"} and "y=two%20words" in j["query"] and
         j["json"] is None and j["admin"] is False,
         "GET route: the sub path over segments, the query raw and decoded", j)
    st, j = api("POST", "/plugins/hello/echo?verbose=yes", {"name": "Zoë", "n": [1, 2]})
    t.ok(st == 201 and j["method"] == "POST" and j["args"] == {"verbose": "yes"} and
         j["json"] == {"name": "Zoë", "n": [1, 2]} and
         j["body_len"] == len(json.dumps({"name": "Zoë", "n": [1, 2]}).encode()),
         "POST route: the body as JSON and its length, the hook's status", (st, j))
    st, j = api("PUT", "/plugins/hello/echo", data=b"plain text", headers={"Content-Type": "text/plain"},
                admin=True)
    t.ok(st == 200 and j["json"] is None and j["body_len"] == 10 and j["admin"] is True,
         "PUT route with a body that is not JSON; the admin token is told", (st, j))
    st, e = api("POST", "/plugins/hello/echo", data=b"{bad")
    t.ok(st == 400 and "malformed JSON" in e["error"], "a JSON body that does not parse: 400", e)
    st, e = api("POST", "/plugins/hello/reset")
    t.ok(st == 403 and e["error"] == "POST reset of plugin hello needs the admin token",
         "an admin route refuses the user token", (st, e))
    st, e = api("GET", "/plugins/hello/nope")
    t.ok(st == 404 and e == {"error": "plugin hello: no such route", "field": "path"},
         "the hook's error as JSON with its field", (st, e))
    st, e = api("GET", "/plugins/acme/anything")
    t.ok(st == 404 and e["error"] == "plugin acme has no routes (no routes hook)", "no routes hook",
         e)
    st, e = api("GET", "/plugins/nosuch/x")
    t.ok(st == 404 and e["field"] == "name", "no such plugin", e)
    garbage = {
        "status": (500, "plugin garbage: the routes hook answered HTTP status 42 (not 200-599)"),
        "string": (500, "plugin garbage: the routes hook answered a body that is not a JSON "
                        "object or array"),
        "rc": (500, "plugin garbage: the routes hook returned 7, not PP_OK or a PP_E* code"),
        "einval": (422, "plugin garbage: the thing is wrong"),
    }
    for sub, (want_st, want_msg) in garbage.items():
        st, e = api("GET", f"/plugins/garbage/{sub}")
        t.ok(st == want_st and isinstance(e, dict) and e.get("error") == want_msg,
             f"boundary: {sub} -> {want_st} with a clear error", (st, e))
    st, e = api("GET", "/plugins/garbage/teapot")
    t.ok(st == 418 and e == {"short": "stout"}, "a fair 4xx of the hook passes through", (st, e))
    st, e = api("DELETE", "/plugins/garbage/nobody")
    t.ok(st == 204 and e is None, "204 without a body", (st, e))
    st, _ = api("GET", "/health")
    t.ok(st == 200, "after all that garbage the API still answers", st)

    # ---- lifecycle hooks per path -----------------------------------------------------------------
    def counts():
        return api("GET", "/plugins/hello/counts")[1]

    st, _ = api("POST", "/plugins/hello/reset", admin=True)
    c0 = counts()
    hmac = "00:11:22:aa:00:10"
    api("POST", "/devices", {"mac": hmac, "phone_type": "hello-desk", "extra": {"room": "D100"},
                             "plugin": "vend", "vendor": "Vend", "model": "V1"})
    c = counts()
    t.ok((c["created"], c["updated"], c["deleted"]) == (1, 0, 0) and c["rooms"].get(hmac) == "D100",
         "API create: one create, with the effective config (extra.room)", c)
    api("PATCH", f"/devices/{hmac}", {"description": "x"})
    api("PATCH", f"/devices/{hmac}", {"description": "x"})
    c = counts()
    t.ok((c["created"], c["updated"]) == (1, 1), "API PATCH: one update; the same again: none", c)
    p = d.cli("devices", "set", hmac, '--extra={"room": "D101"}')
    c = counts()
    t.ok(p.returncode == 0 and c["updated"] == 2 and c["rooms"][hmac] == "D101",
         "CLI devices set: one update, the new value in the config", (p.stderr, c))
    hmac2 = "00:11:22:aa:00:11"
    p = d.cli("devices", "add", hmac2, "--phone-type=hello-lobby")
    p2 = d.cli("devices", "rm", hmac2)
    c = counts()
    t.ok(p.returncode == 0 and p2.returncode == 0 and (c["created"], c["deleted"]) == (2, 1),
         "CLI devices add and rm: one create, one delete", (p.stderr, p2.stderr, c))
    # phone traffic: the phone reports a new firmware version: one update
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/vend/{hmac.replace(':', '')}.cfg",
                                 headers={"User-Agent": f"Vend V1 9.1.0 mac={hmac}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        served = r.read().decode()
    c = wait_for(lambda: (lambda x: x if x["updated"] >= 3 else None)(counts()),
                 "phone update") or counts()
    t.ok(served.startswith("room=D101 ") and c["updated"] == 3,
         "phone traffic that changes the device: one update", (served, c))
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/vend/{hmac.replace(':', '')}.cfg",
                                 headers={"User-Agent": f"Vend V1 9.1.0 mac={hmac}"})
    urllib.request.urlopen(req, timeout=10).read()
    # a PATCH round trip: the worker answered the phone before its hooks; one
    # more API change orders us after them
    api("PATCH", f"/devices/{hmac}", {"description": "y"})
    c = counts()
    t.ok(c["updated"] == 4, "the same fetch again changes nothing: no hook (then one API update)",
         c)
    api("PATCH", f"/devices/{hmac}", {"phone_type": "pjsip-desk", "extra": {"context": "hotel"}})
    c = counts()
    t.ok(c["deleted"] == 2 and hmac not in c["rooms"],
         "a device moved to another flavor's type leaves this one: one delete", c)
    api("DELETE", f"/devices/{mac}")
    c = counts()
    t.ok(c["deleted"] == 3 and (c["created"], c["updated"]) == (2, 4),
         "API delete: one delete; totals exact", (c0, c))

    # ---- jobs ----------------------------------------------------------------------------------
    dect = lambda: api("GET", "/plugins/dect-base/handsets")[1]  # noqa: E731
    s = wait_for(lambda: (lambda x: x if x["failures"] >= 3 else None)(dect()), "3 failures")
    t.ok(s and s["handsets"] == [] and "HTTP status 500" in (s.get("last_error") or ""),
         "a failing job (the base answers 500) is retried at its interval", s)
    fails = [e for e in d.log_events("plugin.job_failed") if e.get("plugin") == "dect-base"]
    t.ok(len(fails) >= 3 and fails[0].get("retry_in_ms") == "100",
         "each failure is logged with its retry", fails[:2])
    c = counts()
    t.ok(c["job_calls"] == 1, "a not-implemented job: called once at start, never again "
         "(while another job ran 3+ times)", c)
    off = [e for e in d.log_events("plugin.job_off") if e.get("plugin") == "hello"]
    t.ok(len(off) == 1, "plugin.job_off logged once", off)
    # the base recovers
    api("POST", "/devices", {"mac": "00:11:22:aa:00:20", "phone_type": "dect-handset",
                             "extra": {"ipui": "0277A1B2C3"}})
    Base.page, Base.status = PAGE, 200
    s = wait_for(lambda: (lambda x: x if x["handsets"] else None)(dect()), "handsets")
    t.ok(s and [h["ipui"] for h in s["handsets"]] == ["0277A1B2C3", "0277A1B2C4"] and
         s["handsets"][0]["device"] == "00:11:22:aa:00:20" and s["handsets"][1]["device"] is None
         and s["handsets"][0]["rssi"] == -52 and s["base"]["name"] == "Office" and
         s.get("last_error") is None,
         "after the failures the job recovers: the handsets, each with its device", s)
    st, h = api("GET", "/plugins/dect-base/handsets?state=searching")
    t.ok(st == 200 and [x["index"] for x in h["handsets"]] == [2], "a query filter", h)
    st, h = api("GET", "/plugins/dect-base/handsets/0277a1b2c3")
    t.ok(st == 200 and h["name"] == "Reception", "one handset by IPUI", (st, h))
    st, e = api("GET", "/plugins/dect-base/handsets/FFFFFFFFFF")
    t.ok(st == 404 and e["error"] == "plugin dect-base: no handset with IPUI FFFFFFFFFF", "unknown "
         "IPUI: 404", e)
    Base.page = b"<html>login</html>\n"
    s = wait_for(lambda: (lambda x: x if "line 1" in (x.get("last_error") or "") else None)(dect()),
                 "parse error")
    t.ok(s and "line 1: not key=value" in s["last_error"] and len(s["handsets"]) == 2,
         "a page that does not parse fails the poll and keeps the last good list", s)
    Base.page = PAGE

    # SIGHUP: a new interval in the same instance; new settings: a new instance
    polls = dect()["polls"]
    d.cfg["plugins"]["settings"]["dect-base"]["job_interval_s"] = 0.05
    with open(d.config_path, "w") as f:
        f.write(to_yaml(d.cfg))
    n_done = len(d.log_events("reload.done"))
    d.reload()
    wait_for(lambda: len(d.log_events("reload.done")) > n_done, "reload")
    rt = wait_for(lambda: [e for e in d.log_events("plugin.job_retimed")
                           if e.get("plugin") == "dect-base"], "retimed")
    s = dect()
    t.ok(rt and rt[-1].get("interval_ms") == "50" and rt[-1].get("was_ms") == "100" and
         s["polls"] >= polls, "SIGHUP: the new interval followed by the same instance (its "
         "poll count goes on)", (rt, polls, s["polls"]))
    t.ok(counts()["job_calls"] == 1 and not [e for e in d.log_events("plugin.job_off")
                                             if e.get("plugin") == "hello"][1:],
         "SIGHUP keeps hello's instance: its job is not asked again")
    d.cfg["plugins"]["settings"]["dect-base"]["timeout_ms"] = 3000
    with open(d.config_path, "w") as f:
        f.write(to_yaml(d.cfg))
    n_done = len(d.log_events("reload.done"))
    d.reload()
    wait_for(lambda: len(d.log_events("reload.done")) > n_done, "reload")
    s = dect()
    t.ok(s["polls"] < polls and s["failures"] == 0,
         "new settings: a new instance (its counters start again)", (polls, s))

    # a reload whose new instance cannot start fails; the old instance serves on
    d.cfg["plugins"]["settings"]["dect-base"]["status_url"] = "ftp://127.0.0.1/status"
    with open(d.config_path, "w") as f:
        f.write(to_yaml(d.cfg))
    n_failed = len(d.log_events("reload.failed"))
    d.reload()
    failed = wait_for(lambda: d.log_events("reload.failed")[n_failed:], "reload failed")
    s = wait_for(lambda: (lambda x: x if x and x["polls"] >= 1 else None)(dect()), "polls")
    t.ok(failed and "init failed" in failed[0].get("error", "") and s and s["failures"] == 0 and
         s["status_url"].startswith("http://"),
         "a reload whose new init fails: reload.failed, the old instance started again and polling",
         (failed, s))
    d.cfg["plugins"]["settings"]["dect-base"]["status_url"] = s["status_url"] if s else ""

    # ---- asterisk-pjsip ------------------------------------------------------------------------------
    api("POST", "/configs", {"id": "l2", "raw_config": {"sip_lines": [
        {"line": 1, "username": "2001", "password": "pw1", "display_name": "Alice"},
        {"line": 2, "username": "2002", "password": "pw2", "auth_username": "a2002"}]}})
    api("POST", "/configs", {"id": "l1", "raw_config": {"sip_lines": [
        {"line": 1, "username": "3001", "password": "pw3", "transport": "tcp"}]}})
    api("POST", "/configs", {"id": "lp", "raw_config": {"sip_lines": [
        {"line": 1, "username": "4001", "password": "pw4"}]}})
    a, b, c3 = "00:11:22:bb:00:01", "00:11:22:bb:00:02", "00:11:22:bb:00:03"
    api("POST", "/devices", {"mac": a, "phone_type": "pjsip-desk", "config": "l2",
                             "extra": {"context": "office", "mailbox": "2001@default"}})
    api("POST", "/devices", {"mac": b, "phone_type": "pjsip-softphone", "config": "l1"})
    api("POST", "/devices", {"mac": c3, "phone_type": "pjsip-paging", "config": "lp",
                             "extra": {"zone": 2}})

    def include():
        with open(inc) as f:
            return f.read()

    secs, n = parse_pjsip(include())
    want = {"2001": a, "2002": a, "3001": b, "4002": None}
    want.pop("4002")
    # the device moved here earlier (hmac, pjsip-desk without lines) has no endpoint
    t.ok(set(secs) == set(want) and n == 3 and all(secs[k]["device"] == v for k, v in want.items()),
         "every line of every device has its endpoint; none for the prevent_sip type", (secs, n))
    t.ok(secs["2001"]["endpoint/context"] == "office" and
         secs["2001"]["endpoint/allow"] == "!all,g722,alaw,ulaw" and
         secs["2001"]["endpoint/callerid"] == '"Alice" <2001>' and
         secs["2001"]["endpoint/mailboxes"] == "2001@default" and
         secs["2002"]["inbound_auth/username"] == "a2002" and
         secs["2001"]["transport"] == "transport-udp" and secs["2001"]["aor/max_contacts"] == "1",
         "an endpoint from the line, the type's codecs and the extra values", secs.get("2001"))
    t.ok(secs["3001"]["transport"] == "transport-tcp" and
         secs["3001"]["endpoint/allow"] == "!all,opus,g722,ulaw" and
         secs["3001"]["aor/max_contacts"] == "3" and secs["3001"]["endpoint/context"] == "internal",
         "another type: its defaults and codecs; the line's transport wins", secs.get("3001"))
    st, j = api("GET", "/plugins/asterisk-pjsip/include")
    t.ok(st == 200 and j["content"] == include() and j["endpoints"] == 3 and j["path"] == inc,
         "GET include shows the file as it is on disk", (st, {k: v for k, v in (j or {}).items()
                                                              if k != "content"}))
    api("PATCH", f"/devices/{a}", {"config": "l1", "extra": {"context": "lobby"}})
    secs, n = parse_pjsip(include())
    t.ok(set(secs) == {"3001"} and n == 1 and "skipped: endpoint 3001 is already device" in include(),
         "an update rewrites: the device's lines now; a taken username is skipped, said so",
         (secs, include()[-400:]))
    api("PATCH", f"/devices/{a}", {"config": "l2"})
    api("PATCH", f"/devices/{c3}", {"phone_type": "pjsip-desk", "extra": {}})
    api("DELETE", f"/devices/{b}")
    secs, n = parse_pjsip(include())
    t.ok(set(secs) == {"2001", "2002", "4001"} and n == 3 and secs["4001"]["device"] == c3 and
         secs["2001"]["endpoint/context"] == "lobby",
         "a type without prevent_sip gets its endpoints; a deleted device loses its own",
         (secs, n))
    st, e = api("POST", "/plugins/asterisk-pjsip/rewrite")
    st2, j = api("POST", "/plugins/asterisk-pjsip/rewrite", admin=True)
    t.ok(st == 403 and st2 == 200 and j["rewritten"] is True,
         "POST rewrite: admin only", (st, e, st2, j))
    t.ok(not os.path.exists(inc + ".tmp") and os.path.exists(inc + ".json"),
         "no temporary file left; the state file beside the include file")

    # ---- all_types_public -----------------------------------------------------------------------------
    d.cfg["plugins"]["all_types_public"] = True
    with open(d.config_path, "w") as f:
        f.write(to_yaml(d.cfg))
    n_done = len(d.log_events("reload.done"))
    d.reload()
    wait_for(lambda: len(d.log_events("reload.done")) > n_done, "reload")
    st, _ = api("PATCH", f"/devices/{vmac}", {"description": "public now"})
    st2, _ = api("DELETE", f"/devices/{vmac}")
    st3, j = api("GET", "/phone_types")
    t.ok(st == 200 and st2 == 204 and j["all_types_public"] is True,
         "plugins.all_types_public: true lets the user token change and delete special types",
         (st, st2))


main()
