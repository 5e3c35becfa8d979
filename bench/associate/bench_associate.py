"""Run bench-associate (C: µs per request, all bundled plugins), time
`phoneprov identify` per call, and a Python `re` peer doing the same
identify + associate over the same plugin.yml rules (the approach of
Python provisioning servers such as Wazo provd). Prints ratios."""
import os
import re
import subprocess
import sys
import tempfile
import time

import yaml

bench, cli, plugdir = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
reqs = open(os.path.join(here, "requests.txt")).read()

out = subprocess.run([bench, plugdir, "50000"], input=reqs, capture_output=True, text=True)
print(out.stdout.strip())
if out.returncode:
    print(out.stderr)
    sys.exit(1)
c_us = float(re.search(r"us_per_request=([\d.]+)", out.stdout).group(1))

# --- Python peer -------------------------------------------------------------
SRC_ORDER = ["dhcp.vendor_class", "http.user_agent", "dhcp.user_class", "dhcp.hostname",
             "dhcp.client_id", "http.path", "tftp.filename"]
rules, plugins = [], []
for name in sorted(os.listdir(plugdir)):
    f = os.path.join(plugdir, name, "plugin.yml")
    if not os.path.exists(f):
        continue
    y = yaml.safe_load(open(f))
    models = {}
    for m, e in (y.get("models") or {}).items():
        # the engine reads every scalar as text; PyYAML types "6905:" or "[715]" as int
        for a in [m] + list((e or {}).get("aliases", [])):
            models[str(a).lower()] = (e or {}).get("firmware_version")
    plugins.append((name, y["vendor"].lower(), models, tuple(int(x) for x in y["version"].split("."))))
    for i, r in enumerate(y.get("extract") or []):
        pat = re.sub(r"\(\?<(\w+)>", r"(?P<\1>", r["regex"])
        try:
            rx = re.compile(pat, re.I if r.get("caseless") else 0)
        except re.error:
            continue
        rules.append((SRC_ORDER.index(r["from"]), len(plugins), i, rx, r["from"], r.get("set") or {}))
rules.sort(key=lambda x: x[:3])
parsed = []
for line in reqs.splitlines():
    a, b, *c = line.split("|") + [""]
    if a == "dhcp":
        parsed.append({"dhcp.vendor_class": b})
    else:
        d = {("tftp.filename" if c and c[0] == "tftp" else "http.path"): b}
        if a != "-":
            d["http.user_agent"] = a
        parsed.append(d)


def py_identify(src):
    info = {}
    for _, _, _, rx, frm, st in rules:
        s = src.get(frm)
        if not s:
            continue
        m = rx.search(s)
        if not m:
            continue
        g = {k: v for k, v in m.groupdict().items() if v}
        for k, v in st.items():
            g.setdefault(k, v)
        for k, v in g.items():
            info.setdefault(k, v)
    best = None
    for name, vendor, models, ver in plugins:
        sc = 0
        if info.get("vendor", "").lower() == vendor:
            sc = 1
            fw = models.get(info.get("model", "").lower(), False)
            if fw is not False:
                sc = 3 if fw and fw == info.get("version") else 2
        if sc and (best is None or (sc, ver) > best[:2]):
            best = (sc, ver, name)
    return info, best


n = 20000
t0 = time.perf_counter()
for i in range(n):
    py_identify(parsed[i % len(parsed)])
py_us = (time.perf_counter() - t0) / n * 1e6
print(f"python_re_peer us_per_request={py_us:.3f}")

# --- phoneprov identify wall time ----------------------------------------------
tmp = tempfile.mkdtemp(prefix="ppbench-")
cfgp = os.path.join(tmp, "phoneprov.yml")
with open(cfgp, "w") as f:
    f.write(f"data_dir: {tmp}/var\ntftp: {{ root: {tmp} }}\nhttp: {{ root: {tmp} }}\n"
            f"plugins: {{ dir: {plugdir} }}\n")
cmd = [cli, "-c", cfgp, "identify", "--user-agent", "Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3"]
subprocess.run(cmd, capture_output=True)
walls = []
for _ in range(30):
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True)
    walls.append((time.perf_counter() - t0) * 1000)
walls.sort()
base = []
for _ in range(30):
    t0 = time.perf_counter()
    subprocess.run([cli, "--version"], capture_output=True)
    base.append((time.perf_counter() - t0) * 1000)
base.sort()
subprocess.run(["rm", "-rf", tmp])
print(f"identify_cli_ms median={walls[15]:.2f} min={walls[0]:.2f} "
      f"(process start alone: phoneprov --version median={base[15]:.2f} min={base[0]:.2f})")
print(f"ratio associate: python_re_peer / phoneprov = {py_us / c_us:.1f}x ; "
      f"target 20 us / measured = {20 / c_us:.1f}x headroom")
if len(sys.argv) > 4:
    out = subprocess.run([sys.argv[4], plugdir, "20000"], capture_output=True, text=True)
    print(out.stdout.strip() or out.stderr)
print(f"ratio identify CLI: target 5 ms / min measured = {5 / walls[0]:.2f}x")
