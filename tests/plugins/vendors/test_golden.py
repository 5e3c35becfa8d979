#!/usr/bin/python3
"""Bundled vendor plugins: golden rendered configurations.

One phoneprovd on 127.0.0.1; a config (devices.json "config") is stored
through the REST API, one device per plugin is added with the CLI
(`phoneprov devices add MAC --config ID --plugin NAME`), and every file the
real phone asks for is fetched over HTTP with the phone's User-Agent and
compared byte for byte with golden/<plugin>/<path>. Every XML output must be
well-formed (xml.etree) and every plain-text output must parse as key = value.

Regenerate on purpose (after reviewing the diff!) with
    PP_REGEN_GOLDEN=1 meson test -C build --suite plugins vendors-golden
"""
import json
import os
import re
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pphelp

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
REGEN = os.environ.get("PP_REGEN_GOLDEN") == "1"
PLAIN = {"yealink"}  # plain-text key = value formats; the others are XML
KV = re.compile(r"^[A-Za-z0-9_.]+ = .*$")


def http(d, method, path, body=None, token=None, ua=None, port=None):
    url = f"http://127.0.0.1:{port or d.http_port}{path}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if ua:
        req.add_header("User-Agent", ua)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


def store_config(d, cfg):
    """POST /api/v1/configs; returns (ok, detail)."""
    tried = []
    for body in ({"id": "vendors", "raw_config": cfg}, {"id": "vendors", "config": cfg}):
        st, out = http(d, "POST", "/api/v1/configs", body, token=d.admin_token or d.token,
                       port=d.api_port)
        if st in (200, 201):
            return True, ""
        if st == 409:  # already there from the first shape
            return True, ""
        tried.append(f"{st} {out[:300]!r}")
    return False, "\n".join(tried)


def check_format(t, plugin, path, data):
    text = data.decode("utf-8", errors="replace")
    if plugin in PLAIN:
        bad = [l for l in text.splitlines() if l and not l.startswith("#") and not KV.match(l)]
        t.ok(not bad, f"{plugin} {path}: every line is key = value or a comment", "\n".join(bad[:5]))
    else:
        try:
            ET.fromstring(data)
            t.ok(True, f"{plugin} {path}: well-formed XML")
        except ET.ParseError as e:
            t.ok(False, f"{plugin} {path}: well-formed XML", f"{e}\n{text[:2000]}")


def main():
    t = pphelp.TapRunner()
    with open(os.path.join(HERE, "devices.json")) as f:
        spec = json.load(f)
    with pphelp.Daemon(extra={"autoprov": True}) as d:
        ok, why = store_config(d, spec["config"])
        t.ok(ok, "config stored through POST /api/v1/configs", why)
        for dev in spec["devices"]:
            name = dev["plugin"]
            p = d.cli("devices", "add", dev["mac"], "--vendor", name, "--model", dev["model"],
                      "--version", dev["version"], "--config", "vendors", "--plugin", name)
            t.ok(p.returncode == 0, f"{name}: devices add {dev['mac']}", p.stderr + p.stdout)
            p = d.cli("render", dev["mac"])
            t.ok(p.returncode == 0, f"{name}: render {dev['mac']}", p.stderr + p.stdout)
            for path in dev["files"]:
                st, data = http(d, "GET", "/" + path, ua=dev["ua"])
                if not t.ok(st == 200, f"{name} {path}: served (HTTP {st})", data[:500]):
                    continue
                check_format(t, name, path, data)
                gpath = os.path.join(GOLDEN, name, path)
                if REGEN:
                    os.makedirs(os.path.dirname(gpath), exist_ok=True)
                    with open(gpath, "wb") as f:
                        f.write(data)
                    t.skip(f"{name} {path}: golden", "regenerated")
                    continue
                try:
                    with open(gpath, "rb") as f:
                        want = f.read()
                except OSError:
                    t.ok(False, f"{name} {path}: golden exists", gpath)
                    continue
                t.ok(data == want, f"{name} {path}: matches golden byte for byte",
                     "got:\n" + data.decode(errors="replace")[:3000])
            # a secret must never appear unescaped in an XML file
            if name not in PLAIN:
                st, data = http(d, "GET", "/" + dev["files"][0], ua=dev["ua"])
                t.ok(b"s3cr&t<1>" not in data and (b"s3cr&amp;t&lt;1&gt;" in data or st != 200),
                     f"{name}: password is XML-escaped in the per-MAC file", data[:400])
    t.done()


if __name__ == "__main__":
    main()
