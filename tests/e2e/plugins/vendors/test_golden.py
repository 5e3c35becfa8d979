#!/usr/bin/python3
"""Bundled vendor plugins: golden rendered configurations.

One phoneprovd on 127.0.0.1; a config (devices.json "config") is stored
through the REST API, one device per plugin is added with the CLI
(`phoneprov devices add MAC --config ID --plugin NAME`), and every file the
real phone asks for is fetched over HTTP with the phone's User-Agent and
compared byte for byte with golden/<plugin>/<path>. Every XML output must be
well-formed (xml.etree) and every plain-text output must parse as key = value.

More devices: every tests/e2e/plugins/vendors/devices.d/*.json holds {"devices": [...]}
with the same fields (one file per family), rendered with the same config, and
optionally "plugin_settings": {"<plugin>": {...}} for plugins.settings in
phoneprov.yml (what a plugin's common files read as plugin.*).
A device may name its output "format": "kv" (key = value lines), "xml",
"text" (no syntax check) or "re:<regex>" (every non-blank line must match
the regex: the vendor's own line syntax, e.g. Aastra "key: value"); the
default is "kv" for yealink, else "xml". An entry of "files" is a path or
{"path": P, "format": F} (that file's own format, e.g. a phone whose
configuration is key = value but whose phonebook is XML). A device may also give "vendor"
(default: the plugin name) and "config": an object stored as its own config
whose parent is the shared one (e.g. {"protocol": "SIP"} for a Cisco phone
running SIP), so one family can show two formats; "secret": false when the
per-MAC file carries no SIP password (a Cisco SCCP phone gets its lines from
the call manager); "no_params": [paths] for files that set no parameter at all
(e.g. a script that only chains to the next file).

Parameter names: when tests/e2e/plugins/vendors/params/<plugin>.json exists,
every parameter name in that plugin's golden files must be one the vendor
documents. The file reads
  {"source": "the vendor document the names come from",
   "extract": "kv" | "kv-raw" | "ini" | "cli" | "xml-elements" | "xml-attributes"
              | "xml-attr:<name>" | "xml-attr:<tag>@<name>" | "re:<regex>" | [several of these],
   "digits": true,           # optional: a run of digits in a name counts as N
                             # (or a regex: what it matches counts as N)
   "names": ["account.N.enable", ...]}
kv: the key of each "key = value" line; kv-raw: the same for "key=value" lines
without spaces (# and ; comments skipped); ini: kv-raw that also skips [section] lines;
cli: the command word (first token) of every line of a CLI configuration (# comments
skipped); xml-elements: every element tag; xml-attributes: every attribute name;
xml-attr:<name>: the value of that attribute on every element that has it
(xml-attr:<tag>@<name>: only on <tag> elements, e.g. xml-attr:setting@id for
<setting id="...">); re:<regex>: group 1 of the regex on every line it matches
(lines it does not match name nothing), e.g. "re:^SET (\\w+) " for Avaya's SET NAME value.
A list of modes takes the union; with a list, XML modes are skipped for a
file that is not XML (a plugin serving both XML and text files).
A plugin whose files use several formats lists several such objects instead:
  {"specs": [{"match": "REGEX on the path", "source": ..., "extract": ..., "names": [...]}, ...]}
and the first spec whose "match" finds the file's path applies (a file no spec
matches fails).

Regenerate on purpose (after reviewing the diff!) with
    PP_REGEN_GOLDEN=1 meson test -C build --suite plugins vendors-golden
"""
import glob
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


def check_format(t, plugin, path, data, fmt):
    text = data.decode("utf-8", errors="replace")
    if fmt == "text":
        t.ok(len(data) > 0, f"{plugin} {path}: not empty")
    elif fmt.startswith("re:"):
        line_re = re.compile(fmt[3:])
        bad = [l for l in text.splitlines() if l.strip() and not line_re.match(l)]
        t.ok(len(data) > 0 and not bad, f"{plugin} {path}: every line matches the vendor syntax",
             "\n".join(bad[:5]))
    elif fmt == "kv":
        bad = [l for l in text.splitlines() if l and not l.startswith("#") and not KV.match(l)]
        t.ok(not bad, f"{plugin} {path}: every line is key = value or a comment", "\n".join(bad[:5]))
    else:
        try:
            ET.fromstring(data)
            t.ok(True, f"{plugin} {path}: well-formed XML")
        except ET.ParseError as e:
            t.ok(False, f"{plugin} {path}: well-formed XML", f"{e}\n{text[:2000]}")


def param_names(extract, data):
    """The parameter names a golden file uses, by extraction mode (or list of modes)."""
    if isinstance(extract, list):
        names = []
        for mode in extract:
            try:
                names += param_names(mode, data)
            except ET.ParseError:
                if not mode.startswith("xml"):
                    raise
        return names
    if extract in ("kv", "kv-raw", "ini"):
        return [l.split("=", 1)[0].strip() for l in data.decode("utf-8", "replace").splitlines()
                if "=" in l and not l.lstrip().startswith(("#", ";"))
                and not (extract == "ini" and l.lstrip().startswith("["))]
    if extract == "cli":
        return [l.split()[0] for l in data.decode("utf-8", "replace").splitlines()
                if l.strip() and not l.lstrip().startswith("#")]
    if extract.startswith("re:"):
        rx = re.compile(extract[3:])
        return [m.group(1) for m in map(rx.match, data.decode("utf-8", "replace").splitlines())
                if m]
    root = ET.fromstring(data)
    if extract == "xml-elements":
        return [e.tag for e in root.iter()]
    if extract == "xml-attributes":
        return [a for e in root.iter() for a in e.attrib]
    if extract.startswith("xml-attr:"):
        key = extract.split(":", 1)[1]
        tag, _, attr = key.rpartition("@")
        return [e.attrib[attr] for e in root.iter() if attr in e.attrib and (not tag or e.tag == tag)]
    raise ValueError(f"unknown extract mode {extract!r}")


def check_params(t, plugin, path, data):
    ppath = os.path.join(HERE, "params", plugin + ".json")
    if not os.path.exists(ppath):
        return
    with open(ppath) as f:
        spec = json.load(f)
    if "specs" in spec:
        found = [sp for sp in spec["specs"] if re.search(sp["match"], path)]
        if not t.ok(found, f"{plugin} {path}: a params spec applies", f"no 'match' of params/{plugin}.json finds it"):
            return
        spec = found[0]
    known = set(spec["names"])
    try:
        names = param_names(spec["extract"], data)
    except (ET.ParseError, ValueError) as e:
        t.ok(False, f"{plugin} {path}: parameter names readable", str(e))
        return
    if spec.get("digits"):
        digits = spec["digits"] if isinstance(spec["digits"], str) else r"[0-9]+"
        names = [re.sub(digits, "N", n) for n in names]
    unknown = sorted(set(n for n in names if n not in known))
    t.ok(names and not unknown,
         f"{plugin} {path}: {len(set(names))} parameter names, all documented ({spec['source'][:60]})",
         "not in params/%s.json: %s" % (plugin, ", ".join(unknown[:20])))


def load_spec():
    with open(os.path.join(HERE, "devices.json")) as f:
        spec = json.load(f)
    extra = sorted(glob.glob(os.path.join(HERE, "devices.d", "*.json")))
    spec.setdefault("plugin_settings", {})
    for path in extra:
        with open(path) as f:
            more = json.load(f)
        spec["devices"] += more["devices"]
        spec["plugin_settings"].update(more.get("plugin_settings", {}))
    return spec


def main():
    t = pphelp.TapRunner()
    spec = load_spec()
    extra = {"autoprov": True}
    if spec["plugin_settings"]:
        extra["plugins"] = {"settings": spec["plugin_settings"]}
    with pphelp.Daemon(extra=extra) as d:
        ok, why = store_config(d, spec["config"])
        t.ok(ok, "config stored through POST /api/v1/configs", why)
        for n, dev in enumerate(spec["devices"]):
            name = dev["plugin"]
            cfg_id = "vendors"
            if dev.get("config"):
                cfg_id = f"vendors-{n}"
                st, out = http(d, "POST", "/api/v1/configs",
                               {"id": cfg_id, "parent_ids": ["vendors"], "raw_config": dev["config"]},
                               token=d.admin_token or d.token, port=d.api_port)
                t.ok(st in (200, 201), f"{name}: device config {cfg_id} stored", out[:300])
            p = d.cli("devices", "add", dev["mac"], "--vendor", dev.get("vendor", name),
                      "--model", dev["model"], "--version", dev["version"], "--config", cfg_id,
                      "--plugin", name)
            t.ok(p.returncode == 0, f"{name}: devices add {dev['mac']}", p.stderr + p.stdout)
            p = d.cli("render", dev["mac"])
            t.ok(p.returncode == 0, f"{name}: render {dev['mac']}", p.stderr + p.stdout)
            for entry in dev["files"]:
                path = entry["path"] if isinstance(entry, dict) else entry
                st, data = http(d, "GET", "/" + path, ua=dev["ua"])
                if not t.ok(st == 200, f"{name} {path}: served (HTTP {st})", data[:500]):
                    continue
                fmt = (entry.get("format") if isinstance(entry, dict) else None) or \
                    dev.get("format") or ("kv" if name in PLAIN else "xml")
                check_format(t, name, path, data, fmt)
                if path not in dev.get("no_params", []):
                    check_params(t, name, path, data)
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
            if (dev.get("format") or ("kv" if name in PLAIN else "xml")) == "xml":
                first = dev["files"][0]
                st, data = http(d, "GET", "/" + (first["path"] if isinstance(first, dict) else first),
                                ua=dev["ua"])
                escaped = b"s3cr&amp;t&lt;1&gt;" in data or st != 200 or dev.get("secret") is False
                t.ok(b"s3cr&t<1>" not in data and escaped,
                     f"{name}: password is XML-escaped in the per-MAC file", data[:400])
    t.done()


if __name__ == "__main__":
    main()
