#!/usr/bin/python3
"""docs/openapi.json stays true:
- it is a valid OpenAPI 3.0 document for a real validator: Debian's
  python3-jsonschema against the OpenAPI Initiative's schema of 3.0
  documents (Debian's openapi-specification), and every $ref resolves;
- its operations are exactly the router's table (daemon/http/api_routes.c,
  dumped by api-routes-dump), with the same query parameters;
- the daemon serves it at /api/v1/openapi.json;
- live answers of the real daemon match the documented schemas (bodies and
  status codes), and every route refuses an undocumented query parameter."""
import json
import os
import subprocess
import urllib.error
import urllib.request

import jsonschema

from pphelp import BUILD, Daemon, SRC, TapRunner

t = TapRunner()
DOC_PATH = os.path.join(SRC, "docs", "openapi.json")
OAS_SCHEMA = "/usr/share/openapi-specification/schemas/v3.0/schema.json"
with open(DOC_PATH) as f:
    doc = json.load(f)

# --- 1. a valid OpenAPI 3.0 document ---------------------------------------------
with open(OAS_SCHEMA) as f:
    oas = json.load(f)
errs = sorted(jsonschema.Draft4Validator(oas).iter_errors(doc), key=lambda e: list(e.path))
t.ok(not errs, "docs/openapi.json validates against the OpenAPI 3.0 schema",
     "\n".join(f"{list(e.path)}: {e.message}" for e in errs[:10]))

# control: the validator does reject a broken document
broken = json.loads(json.dumps(doc))
broken["paths"]["/devices"]["get"]["responses"] = {"200": {"content": {}}}  # no description
broken["openapi"] = "3.0.3"
bad = list(jsonschema.Draft4Validator(oas).iter_errors(broken))
t.ok(bad, "control: a response without a description is refused by the validator")


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                out.append(v)
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)
    return out


def resolve(ref):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


missing = []
for r in refs(doc, []):
    try:
        resolve(r)
    except (KeyError, AssertionError):
        missing.append(r)
t.ok(not missing, "every $ref resolves", missing)

# --- 2. the router's table and the document agree -----------------------------------
dump = subprocess.run([os.path.join(BUILD, "tests", "unit", "http", "api-routes-dump")],
                      capture_output=True, text=True, timeout=30)
routes = json.loads(dump.stdout)
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
documented = {}
for path, item in doc["paths"].items():
    for m, op in item.items():
        if m in METHODS:
            params = [p for p in item.get("parameters", []) + op.get("parameters", [])]
            documented[(path, m.upper())] = sorted(p["name"] for p in params if p["in"] == "query")
# ["*"]: any query, passed on (a plugin's own routes): documented as the
# free-form object parameter "query"
routed = {(r["path"], r["method"]): ["query"] if r["params"] == ["*"] else sorted(r["params"])
          for r in routes}
any_query = {(r["path"], r["method"]) for r in routes if r["params"] == ["*"]}
t.ok(len(routed) >= 20, f"the router knows {len(routed)} routes", routed)
t.ok(set(routed) - set(documented) == set(),
     "every route the router knows is in the document", sorted(set(routed) - set(documented)))
t.ok(set(documented) - set(routed) == set(),
     "every documented operation is a route", sorted(set(documented) - set(routed)))
diff = {k: (routed[k], documented[k]) for k in routed if k in documented and routed[k] != documented[k]}
t.ok(not diff, "each route's query parameters are the documented ones", diff)
ops = [op.get("operationId") for item in doc["paths"].values() for m, op in item.items() if m in METHODS]
t.ok(None not in ops and len(ops) == len(set(ops)), "operationIds present and unique", ops)


# --- 3. the real daemon ---------------------------------------------------------------
def to_jsonschema(s):
    """An OpenAPI 3.0 schema object as JSON Schema draft 4 (nullable, $ref)."""
    if isinstance(s, list):
        return [to_jsonschema(v) for v in s]
    if not isinstance(s, dict):
        return s
    if "$ref" in s:
        return to_jsonschema(resolve(s["$ref"]))
    out = {k: to_jsonschema(v) for k, v in s.items() if k not in ("nullable", "description")}
    if s.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def response_schema(path, method, status):
    op = doc["paths"][path][method.lower()]
    r = op["responses"].get(str(status))
    if r is None:
        return None, None
    if "$ref" in r:
        r = resolve(r["$ref"])
    content = r.get("content", {})
    return r, content


with Daemon() as d:
    base = f"http://127.0.0.1:{d.api_port}/api/v1"

    def call(method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or d.admin_token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    st, hdr, body = call("GET", "/openapi.json")
    t.ok(st == 200 and hdr.get("Content-Type") == "application/json" and json.loads(body) == doc,
         "GET /openapi.json serves docs/openapi.json", (st, hdr, body[:200]))

    def check(method, tmpl, path, body=None, want=None, stream=False):
        """Call, then hold the answer to the document: a documented status
        and, for JSON, the documented schema."""
        st, hdr, raw = call(method, path, body)
        r, content = response_schema(tmpl, method, st)
        name = f"{method} {path} -> {st} as documented"
        if r is None or (want is not None and st != want):
            return t.ok(False, name, f"status {st} (want {want}) not documented for {method} {tmpl}: {raw[:300]}")
        ctype = (hdr.get("Content-Type") or "").split(";")[0]
        if not content:
            return t.ok(not raw.strip(), name + " (no body)", raw[:200])
        if ctype not in content:
            return t.ok(False, name, f"content type {ctype} not documented: {list(content)}")
        if ctype != "application/json":
            return t.ok(bool(raw), name, raw[:200])
        schema = to_jsonschema(content[ctype]["schema"])
        errs = list(jsonschema.Draft4Validator(schema).iter_errors(json.loads(raw)))
        return t.ok(not errs, name, "\n".join(e.message for e in errs[:5]) + "\n" + raw[:400].decode())

    check("GET", "/health", "/health", want=200)
    check("GET", "/metrics", "/metrics", want=200)
    check("POST", "/configs", "/configs", {"id": "base", "raw_config": {"timezone": "UTC"}}, want=201)
    check("POST", "/configs", "/configs", {"id": "base"}, want=409)
    check("POST", "/configs", "/configs", {"id": "x", "bogus": 1}, want=422)
    check("GET", "/configs", "/configs", want=200)
    check("GET", "/configs/{id}", "/configs/base", want=200)
    check("GET", "/configs/{id}", "/configs/nope", want=404)
    check("PUT", "/configs/{id}", "/configs/base", {"raw_config": {"timezone": "CET"}}, want=200)
    check("POST", "/devices", "/devices", {"mac": "00:15:65:01:02:03", "ip": "127.0.0.1",
                                           "vendor": "Yealink", "model": "T46S",
                                           "config": "base"}, want=201)
    check("POST", "/devices", "/devices", {"mac": "zz"}, want=422)
    check("GET", "/devices", "/devices", want=200)
    check("GET", "/devices", "/devices?vendor=Yealink&limit=1", want=200)
    check("GET", "/devices", "/devices?ip=not-an-ip", want=400)
    check("GET", "/devices/{mac}", "/devices/00:15:65:01:02:03", want=200)
    check("GET", "/devices/{mac}", "/devices/00:15:65:99:99:99", want=404)
    check("PATCH", "/devices/{mac}", "/devices/001565010203", {"description": "desk"}, want=200)
    check("PUT", "/devices/{mac}", "/devices/00-15-65-01-02-03",
          {"ip": "127.0.0.1", "vendor": "Yealink", "model": "T46S", "config": "base"}, want=200)
    check("POST", "/devices/{mac}/reconfigure", "/devices/00:15:65:01:02:03/reconfigure", want=200)
    check("POST", "/devices/{mac}/synchronize", "/devices/00:15:65:01:02:03/synchronize?port=9", want=202)
    check("GET", "/devices/{mac}/explain", "/devices/00:15:65:01:02:03/explain", want=200)
    check("GET", "/devices/{mac}/explain", "/devices/00:15:65:99:99:99/explain", want=404)
    check("GET", "/devices/{mac}/files", "/devices/00:15:65:01:02:03/files?path=001565010203.cfg",
          want=200)
    check("GET", "/devices/{mac}/files", "/devices/00:15:65:01:02:03/files?path=other.cfg", want=404)
    check("GET", "/devices/{mac}/files", "/devices/00:15:65:01:02:03/files", want=400)
    check("POST", "/identify", "/identify", {"user_agent": "Yealink SIP-T46S 66.86.0.15"}, want=200)
    check("POST", "/identify", "/identify", {"nosuch": "x"}, want=422)
    check("POST", "/identify", "/identify", {}, want=422)
    check("GET", "/whoami", "/whoami", want=200)
    check("GET", "/operations", "/operations", want=200)
    check("GET", "/operations/{id}", "/operations/nosuch-1", want=404)
    check("GET", "/plugins", "/plugins", want=200)
    check("GET", "/plugins/{name}", "/plugins/yealink", want=200)
    check("GET", "/plugins/{name}", "/plugins/nope", want=404)
    check("GET", "/phone_types", "/phone_types", want=200)
    check("GET", "/plugins/{name}/{path}", "/plugins/yealink/no/routes?x=1", want=404)
    check("GET", "/dhcpd.conf", "/dhcpd.conf", want=200)
    check("GET", "/dhcpd.conf", "/dhcpd.conf?format=kea", want=200)
    check("GET", "/records", "/records", want=200)
    check("DELETE", "/configs/{id}", "/configs/base", want=409)
    check("DELETE", "/devices/{mac}", "/devices/00:15:65:01:02:03", want=204)
    check("DELETE", "/configs/{id}", "/configs/base", want=204)

    # every route refuses a query parameter it does not document
    refused = []
    for (tmpl, method) in sorted(routed):
        path = (tmpl.replace("{mac}", "00:15:65:01:02:03").replace("{id}", "base")
                .replace("{name}", "yealink").replace("{package}", "p").replace("{path}", "x/y"))
        st, _, raw = call(method, path + "?nosuchparameter=1")
        try:
            j = json.loads(raw)
        except ValueError:
            j = {}
        if (tmpl, method) in any_query:
            ok = st != 400  # the query is the plugin's (yealink has no routes: 404)
        elif method == "HEAD":
            ok = st == 400
        else:
            ok = st == 400 and j.get("field") == "nosuchparameter"
        if not ok:
            refused.append((method, path, st, raw[:120]))
    t.ok(not refused, f"all {len(routed) - len(any_query)} routes answer 400 to an unknown query "
         f"parameter (and the {len(any_query)} plugin routes pass it on)", refused)
    st, hdr, _ = call("PATCH", "/configs")
    t.ok(st == 405 and hdr.get("Allow") == "GET, POST", "405 carries Allow from the route table",
         (st, hdr))
    st, _, _ = call("GET", "/nosuch/endpoint")
    t.ok(st == 404, "a path outside the table: 404", st)
t.done()
