#!/usr/bin/python3
"""systemd/phoneprovd.service: `systemd-analyze verify` accepts it (with the
built binary substituted in ExecStart), and it carries the DESIGN §2 hardening."""
import os
import re
import shutil
import subprocess
import tempfile

from pphelp import PHONEPROVD, SRC, TapRunner

t = TapRunner()
unit_path = os.path.join(SRC, "systemd", "phoneprovd.service")
with open(unit_path) as f:
    unit = f.read()


def directives(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


d = directives(unit)
t.ok(d.get("Type") == ["notify"], "Type=notify")
t.ok(d.get("NoNewPrivileges") == ["yes"], "NoNewPrivileges=yes")
t.ok(d.get("ProtectSystem") == ["strict"], "ProtectSystem=strict")
t.ok(d.get("StateDirectory") == ["phoneprov"], "StateDirectory=phoneprov")
for key in ("CapabilityBoundingSet", "AmbientCapabilities"):
    caps = set(" ".join(d.get(key, [])).split())
    t.ok(caps == {"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}, f"{key} is exactly the two capabilities",
         str(caps))
t.ok(any("-HUP" in v for v in d.get("ExecReload", [])), "ExecReload sends SIGHUP")
t.ok(all("phoneprovd" in v for v in d.get("ExecStart", [])), "ExecStart runs phoneprovd")

sa = shutil.which("systemd-analyze")
if not sa:
    t.skip("systemd-analyze verify", "systemd-analyze not installed")
else:
    with tempfile.TemporaryDirectory() as tmp:
        text = unit.replace("/usr/local/bin/phoneprovd", os.path.abspath(PHONEPROVD))
        path = os.path.join(tmp, "phoneprovd.service")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([sa, "verify", "--man=no", path], capture_output=True, text=True,
                           timeout=60)
        out = (p.stdout + p.stderr).strip()
        # only complaints about this unit count (the host's other units are not ours)
        ours = [l for l in out.splitlines() if "phoneprovd.service" in l]
        t.ok(p.returncode == 0 and not ours, "systemd-analyze verify: no complaint", out)
        # control: the same check does notice a broken unit
        with open(path, "w") as f:
            f.write(text.replace("Type=notify", "Type=notifyy").replace(
                "ProtectSystem=strict", "ProtectSystem=very"))
        p = subprocess.run([sa, "verify", "--man=no", path], capture_output=True, text=True,
                           timeout=60)
        out = (p.stdout + p.stderr).strip()
        t.ok(any("phoneprovd.service" in l for l in out.splitlines()),
             "systemd-analyze verify flags a broken copy (control)", out)
t.done()
