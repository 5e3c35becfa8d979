#!/usr/bin/python3
"""Bundled vendor plugins: the identification strings real phones send
(ids.json) through `phoneprov identify --json`, asserting vendor, model,
version, MAC, score and the chosen plugin; plus a load check of every
bundled plugin (`phoneprov plugins --json`)."""
import json
import os
import shutil
import sys
import tempfile

import pphelp

HERE = os.path.dirname(os.path.abspath(__file__))
VENDORS = ["digium", "yealink", "polycom", "snom", "cisco-spa", "cisco-mpp", "cisco-enterprise",
           "aastra", "avaya", "alcatel", "grandstream", "fanvil",
           "gigaset", "gigaset-nx70", "htek", "panasonic", "patton", "technicolor", "zenitel", "jitsi"]
ARGS = {"dhcp_vci": "--dhcp-vci", "user_agent": "--user-agent", "http_path": "--http-path",
        "tftp_file": "--tftp-file"}


def write_config(tmp):
    cfg = {
        "data_dir": os.path.join(tmp, "var"),
        "tftp": {"listen": f"127.0.0.1:{pphelp.free_port()}", "root": os.path.join(tmp, "tftpboot")},
        "http": {"listen": f"127.0.0.1:{pphelp.free_port()}", "root": os.path.join(tmp, "tftpboot")},
        "api": {"listen": f"127.0.0.1:{pphelp.free_port()}",
                "token_file": os.path.join(tmp, "var", "api-token"),
                "admin_token_file": os.path.join(tmp, "var", "admin-token")},
        "plugins": {"dir": os.path.join(pphelp.SRC, "plugins")},
    }
    os.makedirs(os.path.join(tmp, "tftpboot"), exist_ok=True)
    os.makedirs(os.path.join(tmp, "var"), exist_ok=True)
    path = os.path.join(tmp, "phoneprov.yml")
    with open(path, "w") as f:
        f.write(pphelp.to_yaml(cfg))
    return path


def field(out, name):
    """The extracted field, wherever the JSON puts it (top level or a sub-object)."""
    for holder in (out, out.get("device") or {}, out.get("info") or {}, out.get("extracted") or {}):
        if isinstance(holder, dict) and holder.get(name) not in (None, ""):
            return holder[name]
    return None


def chosen(out):
    for k in ("plugin", "chosen", "chosen_plugin", "winner"):
        v = out.get(k)
        if isinstance(v, dict):
            v = v.get("name")
        if k in out:
            return v
    return None


def scores(out):
    s = out.get("scores")
    if isinstance(s, list):
        return {e.get("plugin") or e.get("name"): e.get("score") for e in s}
    return s or {}


def main():
    t = pphelp.TapRunner()
    tmp = tempfile.mkdtemp(prefix="ppvendors-")
    try:
        cfg = write_config(tmp)
        p = pphelp.run_cli(cfg, "--json", "plugins")
        ok = t.ok(p.returncode == 0, "phoneprov plugins loads the bundled plugins",
                  p.stderr + p.stdout)
        names = set()
        if ok:
            try:
                data = json.loads(p.stdout)
                items = data if isinstance(data, list) else data.get("plugins", [])
                names = {i.get("name") if isinstance(i, dict) else i for i in items}
            except ValueError as e:
                t.ok(False, "plugins --json is JSON", str(e))
        for v in VENDORS:
            t.ok(v in names, f"plugin {v} is loaded", sorted(n for n in names if n))
        # every bundled family comes with its models table
        models = {i.get("name"): i.get("models") for i in items if isinstance(i, dict)} if ok else {}
        for v in VENDORS:
            m = models.get(v)
            t.ok(isinstance(m, (list, dict)) and len(m) > 0, f"plugin {v} lists its models",
                 repr(m)[:300])

        with open(os.path.join(HERE, "ids.json")) as f:
            cases = json.load(f)["cases"]
        for c in cases:
            argv = ["--json", "identify"]
            for k, v in c["in"].items():
                argv += [ARGS[k], v]
            p = pphelp.run_cli(cfg, *argv)
            if not t.ok(p.returncode == 0, f"{c['name']}: identify runs", p.stderr):
                continue
            try:
                out = json.loads(p.stdout)
            except ValueError as e:
                t.ok(False, f"{c['name']}: JSON output", f"{e}\n{p.stdout}")
                continue
            e = c["expect"]
            got = chosen(out)
            t.ok(got == e["plugin"], f"{c['name']}: chosen plugin {e['plugin']}",
                 f"got {got!r}\n{p.stdout}")
            for k in ("vendor", "version", "mac", "serial"):
                if k in e:
                    g = field(out, k)
                    t.ok(isinstance(g, str) and g.lower() == e[k].lower(),
                         f"{c['name']}: {k} {e[k]}", f"got {g!r}\n{p.stdout}")
            if "model" in e:
                g = field(out, "model")
                # the extracted spelling may be an alias (VVX_410, SIP-T46S, spa508G)
                norm = lambda s: (s or "").lower().replace("_", "").replace("sip-", "")
                t.ok(norm(g) == norm(e["model"]), f"{c['name']}: model {e['model']}",
                     f"got {g!r}\n{p.stdout}")
            if "score" in e and e["plugin"]:
                s = scores(out).get(e["plugin"])
                t.ok(str(s).upper() == e["score"], f"{c['name']}: score {e['score']}",
                     f"got {s!r}\n{p.stdout}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
