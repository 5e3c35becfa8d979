"""docs/adding-a-phone-model.md, tried as a new user would: the files shown in
the document are copied verbatim into an empty plugins folder, then the
commands it gives are run and their promised results checked."""
import json
import os
import re
import subprocess
import tempfile

import pphelp
from pphelp import Daemon, TapRunner, SRC

t = TapRunner()
doc = open(os.path.join(SRC, "docs", "adding-a-phone-model.md")).read()
blocks = re.findall(r"```[a-z]*\n(.*?)```", doc, re.S)
files = {}
for b in blocks:
    first = b.split("\n", 1)[0]
    m = re.match(r"(?:# file: (\S+)|\{\{! file: (\S+) \}\})$", first)
    if m:
        files[m.group(1) or m.group(2)] = b
t.ok(set(files) == {"plugins/excorp/plugin.yml", "plugins/excorp/templates/phone.cfg.mustache",
                    "plugins/excorp/templates/common.cfg.mustache"},
     "the document gives the plugin.yml and both templates", sorted(files))

tmp = tempfile.mkdtemp(prefix="ppnewmodel-")
for rel, text in files.items():
    path = os.path.join(tmp, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

UA = "Excorp-EX20/4_2_1 (00:1a:2b:3c:4d:5e)"
d = Daemon(plugins_dir=os.path.join(tmp, "plugins"))
try:
    r = d.cli("check-config")
    t.ok(r.returncode == 0, "step 4: check-config accepts the new plugin", r.stdout + r.stderr)
    r = d.cli("identify", "--user-agent", UA)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        j = {}
    t.ok(j.get("vendor") == "Excorp" and j.get("model") == "EX20" and j.get("version") == "4.2.1"
         and j.get("mac") == "00:1a:2b:3c:4d:5e" and j.get("plugin") == "excorp"
         and j.get("score") == "EXACT" and j.get("scores") == {"excorp": "EXACT"},
         "step 5: identify prints what the document promises", r.stdout + r.stderr)
    # a typo is reported with its position
    yml = os.path.join(tmp, "plugins/excorp/plugin.yml")
    good = open(yml).read()
    with open(yml, "w") as f:
        f.write(good.replace("(?<model>EX\\d+)", "(?<model>EX\\d+"))
    r = d.cli("check-config")
    t.ok(r.returncode == 1 and re.search(r"plugin\.yml:\d+:\d+: regex: missing closing parenthesis",
                                         r.stderr or r.stdout),
         "step 4: a broken regex is reported at FILE:LINE:COL", r.stderr + r.stdout)
    with open(yml, "w") as f:
        f.write(good)
    d.start()
    p = subprocess.run(["curl", "-s", "-A", UA, "-w", "\n%{http_code}",
                        f"http://127.0.0.1:{d.http_port}/excorp/001a2b3c4d5e.cfg"],
                       capture_output=True, text=True)
    body, _, code = p.stdout.rpartition("\n")
    t.ok(code == "200" and body.startswith("# Excorp EX20 00:1a:2b:3c:4d:5e (4 lines)\nlocale = en_US\n"),
         "step 6: the phone gets its rendered file", p.stdout)
    disk = os.path.join(d.data_dir, "tftpboot", "excorp", "001a2b3c4d5e.cfg")
    t.ok(pphelp.mirrored(disk, body) == body, "step 6: and it is on disk (the mirror)")
    out = tempfile.mktemp()
    subprocess.run(["tftp", "127.0.0.1", str(d.tftp_port), "-m", "binary", "-c", "get",
                    "excorp/ex-common.cfg", out], capture_output=True, timeout=20)
    got = open(out).read() if os.path.exists(out) else None
    t.ok(got == "# Excorp common settings\nprovisioning.mode = http\n", "step 6: common file over TFTP", got)
    if got is not None:
        os.unlink(out)
    r = d.cli("render", "00:1a:2b:3c:4d:5e", "--explain", "--json")
    try:
        ex = json.loads(r.stdout)
    except ValueError:
        ex = {}
    t.ok(ex.get("plugin") == "excorp" and ex.get("scores", {}).get("excorp") == "EXACT" and
         ex.get("files", [{}])[0].get("template") == "phone.cfg.mustache" and
         ex.get("config_merged", {}).get("locale") == "en_US",
         "step 7: render --explain shows scores, merged config and template", r.stdout + r.stderr)
    r = d.cli("render", "00:1a:2b:3c:4d:5e", "--explain")
    t.ok(r.returncode == 0 and "phone.cfg.mustache" in r.stdout, "step 7: human-readable --explain")
finally:
    d.cleanup()
    subprocess.run(["rm", "-rf", tmp])
t.done()
