#!/usr/bin/python3
"""SIGKILL in the middle of a config change (issue 19, item 5).

N devices (2,000; 300 under a sanitizer) of the bundled Yealink plugin use one
config. A PUT changes it and phoneprovd is SIGKILLed while the devices are
being re-rendered, at a random moment in each of several rounds. After each
restart (same data folder: the start-up resync runs before READY) and
without any phone fetching anything (a fetch would re-render by itself):

- every device's per-MAC file, in LMDB (`phoneprov files`, served bytes of a
  sample) and on disk, is rendered from the config that LMDB holds — the new
  value when the PUT committed, the old one when it did not;
- no temporary file is left in the disk mirror."""
import json
import os
import random
import signal
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from pphelp import Daemon, TapRunner

t = TapRunner()
SANITIZED = os.environ.get("PP_SANITIZED")
N = 300 if SANITIZED else 2000
ROUNDS = 2 if SANITIZED else 4
EXTRA = {"log_level": "info"}


def api(d, method, path, body=None, admin=False, timeout=60):
    return d.api(method, path, body, admin=admin, timeout=timeout, raw=True)


MACS = [f"00:15:65:c0:{i // 256:02x}:{i % 256:02x}" for i in range(N)]


def name(mac):
    return mac.replace(":", "") + ".cfg"


def ntp_of(data):
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("local_time.ntp_server1 = "):
            return line.split("= ", 1)[1].strip()
    return None


def disk_state(d):
    root = os.path.join(d.data_dir, "tftpboot")
    vals, temps = {}, []
    for dirpath, _, names in os.walk(root):
        temps += [n for n in names if n.startswith(".") and ".tmp." in n]
    for m in MACS:
        try:
            with open(os.path.join(root, name(m)), "rb") as f:
                vals[m] = ntp_of(f.read())
        except OSError:
            vals[m] = None
    return vals, temps


def check(d, label, timeout=120.0):
    """(ok, detail): every device rendered from the config LMDB holds."""
    st, body = api(d, "GET", "/configs/cc")
    if st != 200:
        return False, f"{label}: GET /configs/cc {st}"
    want = json.loads(body)["raw_config"]["ntp_ip"]
    deadline = time.monotonic() + timeout
    while True:
        vals, temps = disk_state(d)
        wrong = [m for m in MACS if vals[m] != want]
        if not wrong and not temps:
            break
        if time.monotonic() >= deadline:
            return False, (f"{label}: config says {want}; {len(wrong)} devices differ on disk "
                           f"(e.g. {[(m, vals[m]) for m in wrong[:3]]}); temp files {temps[:3]}")
        time.sleep(0.5)
    p = d.cli("--json", "files")
    lm = {f["path"]: f for f in json.loads(p.stdout)} if p.returncode == 0 else {}
    missing = [m for m in MACS if name(m) not in lm]
    sample = random.sample(MACS, 20)
    bad = []
    for m in sample:
        with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/{name(m)}", timeout=20) as r:
            if ntp_of(r.read()) != want:
                bad.append(m)
    if missing or bad:
        return False, f"{label}: not in LMDB {missing[:3]}; served differently {bad}"
    return True, want


d = Daemon(extra=EXTRA)
try:
    d.start()
    st, _ = api(d, "POST", "/configs", {"id": "cc", "raw_config": {"ntp_ip": "192.0.2.1"}},
                admin=True)
    with ThreadPoolExecutor(16) as ex:
        codes = list(ex.map(lambda m: api(d, "POST", "/devices", {
            "mac": m, "vendor": "Yealink", "model": "T46S", "version": "66.86.0.15",
            "plugin": "yealink", "config": "cc"})[0], MACS))
    t.ok(st == 201 and codes == [201] * N, f"{N} devices created with config cc",
         f"config {st}; devices {sorted(set(codes))}")
    ok, why = check(d, "before")
    t.ok(ok and why == "192.0.2.1", f"all {N} files rendered from the first config", why)

    outcomes, failures, partial = [], [], []
    for k in range(ROUNDS):
        value = f"192.0.2.{10 + k}"
        th = threading.Thread(target=api, args=(d, "PUT", "/configs/cc",
                                                {"id": "cc", "raw_config": {"ntp_ip": value}}),
                              kwargs={"admin": True, "timeout": 30})
        th.start()
        time.sleep(random.uniform(0.02, 0.6 if not SANITIZED else 1.5))
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        th.join()
        vals, _ = disk_state(d)
        partial.append(sum(1 for m in MACS if vals[m] == value))
        d.start()  # same data folder: the resync runs before READY
        ok, why = check(d, f"round {k}")
        outcomes.append("new" if why == value else "old" if ok else "bad")
        if not ok:
            failures.append(why)
    t.ok(not failures,
         f"{ROUNDS} SIGKILLs during a {N}-device config change: after restart every file is "
         f"rendered from the stored config, no temp file (PUT committed in "
         f"{outcomes.count('new')} rounds; new files on disk at the kill: {partial})",
         "\n".join(failures))
finally:
    d.stop()
    d.cleanup()
t.done()
