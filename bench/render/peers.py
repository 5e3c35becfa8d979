"""Render the devices dumped by bench-render with Jinja2 and pystache, check
that every output is byte-identical to the C engine's, and print per-render
rates with the ratio of the C rate to each peer."""
import json
import os
import sys
import time

import jinja2
import pystache

here = os.path.dirname(os.path.abspath(__file__))
workdir, c_rate = sys.argv[1], float(sys.argv[2])
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 0

with open(os.path.join(workdir, "devices.jsonl")) as f:
    devices = [json.loads(line) for line in f]
with open(os.path.join(workdir, "c_out.jsonl")) as f:
    c_out = [json.loads(line) for line in f]
if limit:
    devices, c_out = devices[:limit], c_out[:limit]

env = jinja2.Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True,
                         keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
with open(os.path.join(here, "phone.j2")) as f:
    jtpl = env.from_string(f.read())
with open(os.path.join(here, "phone.mustache")) as f:
    msrc = f.read()
renderer = pystache.Renderer(escape=lambda s: s, missing_tags="ignore")
mparsed = pystache.parse(msrc)


def run(name, fn, n):
    outs = []
    t0 = time.process_time()
    for d in devices[:n]:
        outs.append(fn(d))
    dt = time.process_time() - t0
    bad = [i for i, o in enumerate(outs) if o != c_out[i]]
    rate = n / dt
    mb = sum(len(o.encode()) for o in outs) / dt / 1e6
    print(f"{name}: {n} renders in {dt:.3f} s: {rate:.0f} renders/s, {mb:.1f} MB/s; "
          f"identical to C output: {n - len(bad)}/{n}")
    if bad:
        i = bad[0]
        a, b = outs[i].splitlines(True), c_out[i].splitlines(True)
        for la, lb in zip(a, b):
            if la != lb:
                print(f"  first difference (device {i}): {name}={la!r} c={lb!r}")
                break
    print(f"ratio c-mustache / {name}: {c_rate / rate:.1f}x")
    return not bad


n = len(devices)
ok = run("jinja2", jtpl.render, n)
ok = run("pystache", lambda d: renderer.render(mparsed, d), min(n, max(200, n // 4))) and ok
sys.exit(0 if ok else 1)
