#!/usr/bin/python3
"""Total of the meson test logs in a folder (one <build>.json per build, the
copy of its meson-logs/testlog.json). Every TAP case counts ('ok N' /
'not ok N'); an exit-code test counts once. Skips are listed, not counted.
Prints per-build lines, then the last line "N passed, N failed"; exit 1 on
any failure."""
import argparse
import json
import os
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b\s*(\d*)([^#]*)(#\s*(\w+).*)?$")
BAD = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS", "INTERRUPT"}


def count(entry):
    """(passed, failed, skipped, failed names) for one test entry."""
    out = entry.get("stdo") or entry.get("stdout") or ""
    result = entry.get("result", "")
    name = entry.get("name", "?")
    p = f = s = 0
    bad = []
    cases = 0
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = TAP.match(line.strip())
        if not m:
            continue
        cases += 1
        directive = (m.group(5) or "").upper()
        if directive == "SKIP" or (m.group(1) == "not ok" and directive == "TODO"):
            s += 1
        elif m.group(1) == "ok":
            p += 1
        else:
            f += 1
            # the diagnostic lines TAP puts after a failed case, so that a
            # CI log alone tells why (at most 6 lines of 300 characters)
            diag = []
            for nxt in lines[i + 1:i + 7]:
                if not nxt.lstrip().startswith("#"):
                    break
                diag.append(nxt.strip()[:300])
            bad.append("\n    ".join([f"{name}: {line.strip()}"] + diag))
    if cases == 0:
        if result == "SKIP":
            return 0, 0, 1, []
        if result in BAD:
            return 0, 1, 0, [f"{name}: {result}"]
        return 1, 0, 0, []
    if result in BAD and f == 0:
        # crashed or lost cases without a 'not ok' line: the test itself failed
        f += 1
        bad.append(f"{name}: {result} (exit {entry.get('returncode')})")
    return p, f, s, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--extra-pass", type=int, default=0)
    ap.add_argument("--extra-fail", type=int, default=0)
    a = ap.parse_args()
    tp, tf, ts = a.extra_pass, a.extra_fail, 0
    failures = []
    for fn in sorted(os.listdir(a.folder)):
        if not fn.endswith(".json"):
            continue
        bp = bf = bs = 0
        with open(os.path.join(a.folder, fn)) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                p, fl, s, bad = count(e)
                bp, bf, bs = bp + p, bf + fl, bs + s
                failures += [f"[{fn[:-5]}] {b}" for b in bad]
        print(f"{fn[:-5]}: {bp} passed, {bf} failed, {bs} skipped")
        tp, tf, ts = tp + bp, tf + bf, ts + bs
    if a.extra_pass or a.extra_fail:
        print(f"fuzz smoke and builds: {a.extra_pass} passed, {a.extra_fail} failed")
    for b in failures[:200]:
        print(f"FAILED {b}")
    print(f"skipped: {ts} (not counted below)")
    print(f"{tp} passed, {tf} failed")
    return 1 if tf else 0


sys.exit(main())
