"""phoneprov plugins / identify / render: JSON output, errors, speed; and a
SIGHUP reload picking up a new plugin."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from pphelp import Daemon, TapRunner, SRC

FIX = os.path.join(SRC, "tests", "e2e", "plugins", "fixtures")
t = TapRunner()
tmp = tempfile.mkdtemp(prefix="ppcli-")
plugdir = os.path.join(tmp, "plugins")
shutil.copytree(os.path.join(FIX, "acme"), os.path.join(plugdir, "acme"))
d = Daemon(plugins_dir=plugdir, extra={"plugins": {"settings": {"acme": {"site": "X"}}}})


def j(*args):
    r = d.cli(*args)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


try:
    r, out = j("plugins", "--json")
    t.ok(r.returncode == 0 and [p["name"] for p in out] == ["acme"] and out[0]["vendor"] == "ACME"
         and out[0]["models"] == ["A100", "A200"] and out[0]["meta"]["version"] == "1.2.0",
         "plugins --json", r.stdout + r.stderr)
    r = d.cli("plugins")
    t.ok(r.returncode == 0 and "acme" in r.stdout and "ACME test phones" in r.stdout, "plugins (table)")

    r, out = j("identify", "--dhcp-vci", "acme-A200-3_1_4_0", "--tftp-file", "/acme/0004F2AABBCC.cfg")
    t.ok(out and out["vendor"] == "ACME" and out["model"] == "A200" and out["version"] == "3.1.4.0"
         and out["serial"] is None and out["plugin"] == "acme" and out["score"] == "EXACT"
         and out["scores"] == {"acme": "EXACT"} and out["from"]["model"]["source"] == "dhcp.vendor_class",
         "identify: DHCP VCI (version normalised), JSON with scores and sources", r.stdout + r.stderr)
    r, out = j("identify", "--http-path", "/acme/0004f2aabbcc.cfg")
    t.ok(out and out["mac"] == "00:04:f2:aa:bb:cc" and out["score"] == "PROBABLE",
         "identify: MAC from the http path, vendor-only score", r.stdout)
    r, out = j("identify", "--user-agent", "Mozilla/5.0")
    t.ok(out and out["plugin"] is None and out["vendor"] is None and out["score"] == "IMPROBABLE",
         "identify: unknown phone → no plugin", r.stdout)
    r = d.cli("identify")
    t.ok(r.returncode == 2 and "give at least one" in r.stderr, "identify without input: usage error")
    r = d.cli("identify", "--bogus", "x")
    t.ok(r.returncode == 2, "identify with an unknown option: usage error", r.stderr)
    r = d.cli("render", "not-a-mac")
    t.ok(r.returncode == 2 and "not a MAC" in r.stderr, "render with a bad MAC: usage error", r.stderr)
    r = d.cli("render", "00:11:22:33:44:55")
    t.ok(r.returncode == 1 and "no device" in r.stderr, "render an unknown device: clear error", r.stderr)

    # every identify call answers (its speed is bench/associate's business)
    n = 20
    t0 = time.perf_counter()
    rcs = [subprocess.run([os.environ.get("PHONEPROV", "phoneprov"), "-c", d.config_path,
                           "identify", "--user-agent", "ACME A100 2.0.1"],
                          capture_output=True).returncode for _ in range(n)]
    print(f"# identify wall time: {(time.perf_counter() - t0) / n * 1000:.2f} ms per call "
          "(not asserted)")
    t.ok(rcs == [0] * n, f"{n} identify calls in a row all answer", rcs)

    # SIGHUP: a new plugin becomes available without a restart
    d.start()
    shutil.copytree(os.path.join(FIX, "zeta"), os.path.join(plugdir, "zeta"))
    d.reload()
    seen = False
    for _ in range(50):
        time.sleep(0.1)
        p = subprocess.run(["curl", "-s", "-A", "ACME A100 9.9", "-w", "\n%{http_code}",
                            f"http://127.0.0.1:{d.http_port}/zeta/0004f2000099.cfg"],
                           capture_output=True, text=True)
        if p.stdout.endswith("\n200"):
            seen = p.stdout.startswith("zeta 0004f2000099")
            break
    t.ok(seen, "after SIGHUP the new plugin renders its files", p.stdout)
finally:
    d.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
