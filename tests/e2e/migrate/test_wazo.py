#!/usr/bin/python3
"""phoneprov import wazo / export / import (issue 14) against the fixture
wazo-db/ (a provd JSON database written by make_fixture.py: 22 devices of
every bundled family, base, defaultconfigdevice, autoprov (autocreate),
default, a transient config and per-line configs):

- --dry-run lists every change and writes nothing;
- the import loads every document; each device's rendered files are the
  golden ones (golden/, PP_REGEN_GOLDEN=1 rewrites them) and carry its lines;
- a second import changes nothing (same export, same bytes);
- refused documents (bad raw_config, missing parent, no MAC, missing
  config, not JSON) are reported with file and reason, the rest imported;
- export -> wipe -> import gives the same devices, configs and bytes;
- the list shape of every line config renders the same bytes as provd's
  dict shape, for every family."""
import json
import os
import shutil
import tempfile

from pphelp import Daemon, TapRunner

t = TapRunner()
HERE = os.path.dirname(os.path.abspath(__file__))
DB = os.path.join(HERE, "wazo-db")
GOLDEN = os.path.join(HERE, "golden")
REGEN = os.environ.get("PP_REGEN_GOLDEN") == "1"
# plugins whose templates configure line 1 only (Avaya J100 in third-party
# mode: one SIP account, plugins/avaya/plugin.yml)
SINGLE_LINE = {"avaya"}


def js(p):
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"stdout": p.stdout, "stderr": p.stderr}


def fixture():
    cfgs = {}
    for name in os.listdir(os.path.join(DB, "configs")):
        with open(os.path.join(DB, "configs", name)) as f:
            cfgs[name] = json.load(f)
    devs = []
    for name in sorted(os.listdir(os.path.join(DB, "devices"))):
        with open(os.path.join(DB, "devices", name)) as f:
            devs.append(json.load(f))
    return cfgs, devs


def rendered(d):
    """{mac: {path: bytes}} of every device's own files, from the disk mirror."""
    out = {}
    st, j = d.api("GET", "/devices?limit=1000", admin=True)
    for dev in j["devices"]:
        mac = dev["mac"]
        files = {}
        for path in (dev.get("render") or {}).get("files", []):
            with open(os.path.join(d.data_dir, "tftpboot", path), "rb") as f:
                files[path] = f.read()
        out[mac] = files
    return out


def export(d):
    p = d.cli("export")
    return js(p)


CFGS, DEVS = fixture()
with Daemon(extra={"provisioning": {"public_url": "http://192.0.2.1:8667"}}) as d:
    # ---- dry run -----------------------------------------------------------------
    p = d.cli("import", "wazo", DB, "--dry-run")
    st, j = d.api("GET", "/configs", admin=True)
    t.ok(p.returncode == 0 and p.stdout.count(": would add") == len(CFGS) + len(DEVS) and
         "configs: %d would add" % len(CFGS) in p.stdout and j.get("count") == 0,
         "--dry-run lists every config and device it would add, writes nothing",
         p.stdout[-600:] + p.stderr)

    # ---- import --------------------------------------------------------------------
    p = d.cli("--json", "import", "wazo", DB)
    rep = js(p)
    t.ok(p.returncode == 0 and rep.get("configs", {}).get("added") == len(CFGS) and
         rep.get("devices", {}).get("added") == len(DEVS) and rep.get("refused") == [],
         f"import wazo: {len(CFGS)} configs and {len(DEVS)} devices added, none refused",
         p.stdout[-2000:] + p.stderr)
    notes = " ".join(rep.get("notes", []))
    t.ok("app.json plugin_server not imported" in notes and "app.json locale" in notes,
         "app.json read: each setting reported", notes)
    st, cfg = d.api("GET", "/configs/autoprov", admin=True)
    st2, dflt = d.api("GET", "/configs/defaultconfigdevice", admin=True)
    t.ok(cfg.get("role") == "autocreate" and cfg.get("deletable") is False and
         cfg.get("parent_ids") == ["base", "defaultconfigdevice"] and
         dflt.get("X_type") == "device" and "sip_subscribe_mwi" not in dflt["raw_config"] and
         dflt.get("X_provd_label") == "Default config device",
         "roles, deletable, X_type kept; provd's null dropped; other fields as X_provd_*",
         (cfg, dflt))
    devs_ok = []
    for doc in DEVS:
        st, dev = d.api("GET", "/devices/" + doc["mac"], admin=True)
        want = {k: v for k, v in doc.items() if k not in ("plugin", "sn")}
        if doc.get("sn"):
            want["serial"] = doc["sn"]
        want["X_provd_plugin"] = doc["plugin"]
        miss = {k: (v, dev.get(k)) for k, v in want.items() if dev.get(k) != v}
        if st != 200 or miss or not dev.get("plugin"):
            devs_ok.append((doc["mac"], st, miss, dev.get("plugin")))
    t.ok(not devs_ok, "every device with provd's fields (id, added, configured, options, "
         "description, tenant_uuid, X_*) and a bundled plugin", devs_ok)
    fams = set()
    for doc in DEVS:
        st, dev = d.api("GET", "/devices/" + doc["mac"], admin=True)
        fams.add(dev.get("plugin"))
    t.ok(len(fams) >= 19, f"{len(DEVS)} devices across {len(fams)} bundled plugins",
         sorted(f for f in fams if f))

    before = rendered(d)
    # golden: each device's files, byte for byte
    diffs, lines_missing = [], []
    for mac, files in sorted(before.items()):
        for path, data in files.items():
            g = os.path.join(GOLDEN, path)
            if REGEN:
                os.makedirs(os.path.dirname(g), exist_ok=True)
                with open(g, "wb") as f:
                    f.write(data)
            try:
                with open(g, "rb") as f:
                    want = f.read()
            except OSError:
                want = None
            if want != data:
                diffs.append((mac, path))
    t.ok(sum(len(f) for f in before.values()) >= len(DEVS) and not diffs,
         f"{sum(len(f) for f in before.values())} rendered files equal the golden ones", diffs)
    for doc in DEVS:
        mac = doc["mac"]
        cfg = CFGS[doc["config"]]
        lines = cfg["raw_config"].get("sip_lines") or {"1": {"username": "anonymous"}}
        users = [l["username"] for l in (lines.values() if isinstance(lines, dict) else lines)]
        st, dev = d.api("GET", "/devices/" + mac, admin=True)
        if dev.get("plugin") in SINGLE_LINE:
            users = users[:1]
        text = b"".join(before.get(mac, {}).values()).decode(errors="replace")
        if not text or any(u not in text for u in users):
            lines_missing.append((mac, users, list(before.get(mac, {}))))
    t.ok(not lines_missing, "each device's files carry every line's username", lines_missing)

    # ---- a second import changes nothing ------------------------------------------
    exp1 = export(d)
    p = d.cli("--json", "import", "wazo", DB)
    rep = js(p)
    t.ok(p.returncode == 0 and rep.get("changes") == [] and
         rep.get("configs", {}).get("unchanged") == len(CFGS) and
         rep.get("devices", {}).get("unchanged") == len(DEVS),
         "a second import: everything unchanged", p.stdout[-800:])
    t.ok(export(d) == exp1 and rendered(d) == before,
         "the store and the rendered bytes are the same after it")

    # ---- refused documents --------------------------------------------------------
    bad = tempfile.mkdtemp(prefix="pp-wazo-")
    try:
        shutil.copytree(DB, bad, dirs_exist_ok=True)
        docs = {
            "configs/badvlan": {"id": "badvlan", "raw_config": {"vlan_enabled": True,
                                                                "vlan_id": "abc"}},
            "configs/childofbad": {"id": "childofbad", "parent_ids": ["badvlan"]},
            "configs/orphan": {"id": "orphan", "parent_ids": ["nosuch"]},
            "configs/fresh": {"id": "fresh", "parent_ids": ["base"],
                              "raw_config": {"sip_lines": {"1": {"username": "fresh1"}}}},
            "devices/nomac": {"id": "nomac", "ip": "10.0.9.1"},
            "devices/badcfg": {"id": "badcfg", "mac": "00:15:65:99:00:01",
                               "config": "nosuch"},
            "devices/badmac": {"id": "badmac", "mac": "00:15:65:99"},
            "devices/good": {"id": "good", "mac": "00:15:65:99:00:02", "vendor": "Yealink",
                             "model": "T46S", "config": "fresh", "plugin": "wazo-yealink-v86"},
        }
        for rel, doc in docs.items():
            with open(os.path.join(bad, rel), "w") as f:
                json.dump(doc, f)
        with open(os.path.join(bad, "devices", "notjson"), "w") as f:
            f.write('{"mac": ')
        p = d.cli("--json", "import", "wazo", bad)
        rep = js(p)
        got = {r["file"]: r["reason"] for r in rep.get("refused", [])}
        want = {
            "configs/badvlan": 'raw_config.vlan_id must be an integer 0-4094, not a string',
            "configs/childofbad": "parent config badvlan was refused",
            "configs/orphan": "parent config nosuch: no such config (neither imported nor in "
                              "the store)",
            "devices/nomac": "no mac: phoneprov keys devices by MAC address",
            "devices/badcfg": "config nosuch: no such config (neither imported nor in the "
                              "store)",
            "devices/badmac": "not a MAC address: 00:15:65:99",
            "devices/notjson": "not JSON: unexpected token near end of file (line 1, column 8)",
        }
        t.ok(p.returncode == 1 and got == want,
             "every refused document reported with its file and reason (exit 1)",
             json.dumps(got, indent=1) + p.stderr)
        t.ok(rep.get("configs", {}).get("added") == 1 and
             rep.get("devices", {}).get("added") == 1 and
             rep.get("configs", {}).get("unchanged") == len(CFGS) and
             rep.get("devices", {}).get("unchanged") == len(DEVS),
             "the rest is imported (1 config, 1 device added; the others unchanged)", rep)
        p = d.cli("import", "wazo", bad)
        t.ok(p.returncode == 1 and
             "phoneprov import: refused configs/badvlan: raw_config.vlan_id must be an integer "
             "0-4094, not a string" in p.stderr, "text mode: one line per refused document",
             p.stderr)
        d.api("DELETE", "/devices/00:15:65:99:00:02", admin=True)
        d.api("DELETE", "/configs/fresh", admin=True)
    finally:
        shutil.rmtree(bad, ignore_errors=True)

    # ---- export -> wipe -> import --------------------------------------------------
    exp1 = export(d)
    dump = os.path.join(d.tmp, "backup.json")
    p = d.cli("export", "-o", dump)
    t.ok(p.returncode == 0 and len(exp1.get("configs", [])) == len(CFGS) and
         len(exp1.get("devices", [])) == len(DEVS) and exp1.get("phoneprov_export") == 1,
         "export: every config and device", p.stderr)
    d.stop()
    shutil.rmtree(os.path.join(d.data_dir, "db"))
    shutil.rmtree(os.path.join(d.data_dir, "tftpboot"))
    d.start()
    st, j = d.api("GET", "/configs", admin=True)
    t.ok(j.get("count") == 0, "wiped: no configs", j)
    p = d.cli("--json", "import", dump)
    rep = js(p)
    t.ok(p.returncode == 0 and rep.get("configs", {}).get("added") == len(CFGS) and
         rep.get("devices", {}).get("added") == len(DEVS) and rep.get("refused") == [],
         "import of the export: everything added", p.stdout[-800:] + p.stderr)
    t.ok(export(d) == exp1, "the same devices and configs after the round trip")
    t.ok(rendered(d) == before, "the same rendered bytes after the round trip")
    p = d.cli("--json", "import", dump)
    t.ok(js(p).get("changes") == [], "importing the export again changes nothing",
         p.stdout[-400:])

    # ---- list shape == dict shape, every family -----------------------------------
    fails = []
    for cid, cfg in sorted(CFGS.items()):
        raw = cfg["raw_config"]
        if not cid.startswith("line") or not isinstance(raw.get("sip_lines"), dict):
            continue
        raw = json.loads(json.dumps(raw))
        raw["sip_lines"] = [dict(v, line=int(k)) for k, v in
                            sorted(raw["sip_lines"].items(), key=lambda kv: int(kv[0]))]
        if isinstance(raw.get("funckeys"), dict):
            raw["funckeys"] = [dict(v, index=int(k)) for k, v in
                               sorted(raw["funckeys"].items(), key=lambda kv: int(kv[0]))]
        if isinstance(raw.get("sccp_call_managers"), dict):
            raw["sccp_call_managers"] = [dict(v, index=int(k)) for k, v in sorted(
                raw["sccp_call_managers"].items(), key=lambda kv: int(kv[0]))]
        body = {k: v for k, v in cfg.items() if k != "id"}
        body["raw_config"] = raw
        st, j = d.api("PUT", "/configs/" + cid, body, admin=True)
        if st != 200:
            fails.append((cid, st, j))
    after = rendered(d)
    changed = [(mac, p) for mac, files in after.items() for p in files
               if before.get(mac, {}).get(p) != files[p]]
    t.ok(not fails and not changed and len(after) == len(DEVS),
         "every line config rewritten in the list shape renders the same bytes (every family)",
         (fails, changed))

t.done()
