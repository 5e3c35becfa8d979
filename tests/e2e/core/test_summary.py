#!/usr/bin/python3
"""scripts/test-summary.py: the CI total is computed from real results
(TAP cases, exit-code tests, skips, crashes), last line 'N passed, N failed'."""
import json
import os
import subprocess
import tempfile

from pphelp import SRC, TapRunner

t = TapRunner()
SUMMARY = os.path.join(SRC, "scripts", "test-summary.py")


def run(builds, *extra):
    with tempfile.TemporaryDirectory() as tmp:
        for name, entries in builds.items():
            with open(os.path.join(tmp, name + ".json"), "w") as f:
                for e in entries:
                    f.write(json.dumps(e) + "\n")
        p = subprocess.run(["/usr/bin/python3", SUMMARY, tmp] + list(extra), capture_output=True,
                           text=True, timeout=30)
    return p.returncode, p.stdout.splitlines()


tap_ok = {"name": "a", "result": "OK", "stdout": "ok 1 - x\nok 2 - y\nok 3 - z # SKIP no\n1..3\n"}
tap_bad = {"name": "b", "result": "FAIL", "stdout": "ok 1 - x\nnot ok 2 - y\n# why\n1..2\n"}
crash = {"name": "c", "result": "ERROR", "stdout": "ok 1 - x\n", "returncode": -11}
exit_ok = {"name": "d", "result": "OK", "stdout": "[  PASSED  ] 6 test(s).\n"}
exit_skip = {"name": "e", "result": "SKIP", "stdout": ""}
exit_fail = {"name": "f", "result": "TIMEOUT", "stdout": ""}

rc, out = run({"build": [tap_ok, exit_ok, exit_skip]})
t.ok(rc == 0 and out[-1] == "3 passed, 0 failed", "TAP cases + exit-code test, skips not counted",
     "\n".join(out))
t.ok("skipped: 2 (not counted below)" in out, "skips reported before the total", "\n".join(out))
rc, out = run({"build": [tap_ok, tap_bad], "build-asan": [crash, exit_fail, exit_ok]})
t.ok(rc == 1 and out[-1] == "5 passed, 3 failed", "failures from TAP, crash and timeout counted",
     "\n".join(out))
t.ok("build: 3 passed, 1 failed, 1 skipped" in out and "build-asan: 2 passed, 2 failed, 0 skipped" in out,
     "per-build lines", "\n".join(out))
t.ok(any("not ok 2 - y" in l for l in out), "failed case named", "\n".join(out))
rc, out = run({"build": [tap_ok]}, "--extra-pass", "4", "--extra-fail", "1")
t.ok(rc == 1 and out[-1] == "6 passed, 1 failed", "fuzz smoke and build failures added", "\n".join(out))
rc, out = run({})
t.ok(rc == 0 and out[-1] == "0 passed, 0 failed", "no builds: zero totals", "\n".join(out))
t.done()
