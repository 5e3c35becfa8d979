"""The conformance runner (test-mustache-spec) itself: it must go red when a
case fails, when a file is unreadable, when an implemented module's file is
absent, and when the spec folder is missing in CI or was named explicitly;
it skips lambda cases only (by their data, not by file name).

Usage: test_spec_harness.py BUILD/tests/unit/mustache/test-mustache-spec
Each check runs the real binary on spec-shaped JSON files written to a
temporary folder.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from pphelp import TapRunner

BIN = sys.argv[1]
REQUIRED = ["comments.json", "delimiters.json", "interpolation.json", "inverted.json",
            "partials.json", "sections.json", "~dynamic-names.json", "~inheritance.json"]


def case(name, template, expected, data=None, partials=None):
    c = {"name": name, "desc": "harness check", "data": data if data is not None else {},
         "template": template, "expected": expected}
    if partials is not None:
        c["partials"] = partials
    return c


BASE = tempfile.TemporaryDirectory(prefix="mst-harness-")
LAMBDA = {"__tag__": "code", "ruby": "proc { 'x' }", "python": "lambda: 'x'"}


def spec_dir(extra=None, drop=()):
    """A folder holding one passing case per required file, plus extra files."""
    d = tempfile.mkdtemp(prefix="spec-", dir=BASE.name)
    files = {f: [case("ok " + f, "{{x}}", "1", {"x": 1})] for f in REQUIRED if f not in drop}
    if "~dynamic-names.json" in files:
        files["~dynamic-names.json"] = [case("dyn", "{{>*p}}", "P", {"p": "q"}, {"q": "P"})]
    files.update(extra or {})
    for f, tests in files.items():
        with open(os.path.join(d, f), "w") as fh:
            if isinstance(tests, str):
                fh.write(tests)
            else:
                json.dump({"overview": "harness", "tests": tests}, fh)
    return d


def run(spec=None, ci=None, src=None):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PP_MUSTACHE_SPEC", "PP_SRC")}
    if spec is not None:
        env["PP_MUSTACHE_SPEC"] = spec
    if ci is not None:
        env["CI"] = ci
    if src is not None:
        env["PP_SRC"] = src
    p = subprocess.run([BIN], env=env, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout


def counts(out, f):
    m = re.search(r"^# %s: (\d+) passed, (\d+) failed, (\d+) skipped$" % re.escape(f), out, re.M)
    return tuple(int(x) for x in m.groups()) if m else None


t = TapRunner()

# all good: exit 0, every case counted
rc, out = run(spec_dir())
t.ok(rc == 0 and "not ok" not in out and counts(out, "~dynamic-names.json") == (1, 0, 0),
     "all cases pass: exit 0", out)

# one failing case among passing ones: exit 1, exactly that case is "not ok"
rc, out = run(spec_dir({"extra.json": [case("good", "a{{x}}", "a1", {"x": 1}),
                                        case("bad", "a{{x}}", "a2", {"x": 1})]}))
bad = [ln for ln in out.splitlines() if ln.startswith("not ok")]
t.ok(rc == 1 and len(bad) == 1 and bad[0].endswith("extra.json: bad")
     and counts(out, "extra.json") == (1, 1, 0) and "# got:      a1" in out,
     "a failing case fails the run and is named", out)

# a case whose template does not compile is a failure with the error
rc, out = run(spec_dir({"extra.json": [case("broken", "{{#a}}", "")]}))
t.ok(rc == 1 and "# error: broken:1:1: unclosed section 'a'" in out,
     "a compile error fails the case with its message", out)

# a malformed case (no expected) and an unreadable file are failures
rc, out = run(spec_dir({"extra.json": [{"name": "no expected", "template": "x"}]}))
t.ok(rc == 1 and re.search(r"^not ok \d+ - extra.json: malformed case no expected$", out, re.M),
     "a malformed case fails", out)
rc, out = run(spec_dir({"extra.json": "{ not json"}))
t.ok(rc == 1 and re.search(r"^not ok \d+ - extra.json: cannot read", out, re.M),
     "an unreadable file fails", out)
rc, out = run(spec_dir({"extra.json": [case("p", "{{>q}}", "", {}, {"q": 5})]}))
t.ok(rc == 1 and "# error: partial 'q': not a string" in out,
     "a non-string partial fails the case instead of being dropped", out)

# a module the engine implements must be there
rc, out = run(spec_dir(drop=("sections.json",)))
t.ok(rc == 1 and "sections.json: missing from" in out, "a missing core file fails", out)
rc, out = run(spec_dir(drop=("~dynamic-names.json",)))
t.ok(rc == 1 and "~dynamic-names.json: missing from" in out,
     "a missing ~dynamic-names file fails", out)

# lambdas: skipped by their data, wherever they are; other cases in
# ~lambdas.json still run and count
rc, out = run(spec_dir({
    "~lambdas.json": [case("lambda", "{{l}}", "x", {"l": LAMBDA}),
                      case("plain", "<{{x}}>", "<1>", {"x": 1}),
                      case("plain bad", "<{{x}}>", "<2>", {"x": 1})],
    "extra.json": [case("nested lambda", "{{#a}}{{l}}{{/a}}", "x", {"a": [{"l": LAMBDA}]})]}))
t.ok(rc == 1 and counts(out, "~lambdas.json") == (1, 1, 1)
     and counts(out, "extra.json") == (0, 0, 1)
     and re.search(r"^ok \d+ - ~lambdas.json: lambda # SKIP lambda: ", out, re.M)
     and re.search(r"^not ok \d+ - ~lambdas.json: plain bad$", out, re.M),
     "only lambda cases are skipped; other ~lambdas cases run", out)

# the spec folder is missing
empty_src = tempfile.mkdtemp(prefix="src-", dir=BASE.name)
rc, out = run(src=os.path.join(empty_src, "src"))
t.ok(rc == 0 and out.startswith("1..0 # SKIP conformance data not found at "),
     "missing folder on a developer machine: whole test skipped with the path", out)
rc, out = run(src=os.path.join(empty_src, "src"), ci="true")
t.ok(rc == 1 and "not ok 1 - conformance data not found at " in out and "CI is set" in out,
     "missing folder with CI=true: failure", out)
rc, out = run(spec=os.path.join(empty_src, "nowhere"))
t.ok(rc == 1 and "not ok 1 - conformance data not found at " in out,
     "missing folder named by PP_MUSTACHE_SPEC: failure", out)
rc, out = run(spec=empty_src, ci="true")
t.ok(rc == 1 and "not ok 1 - conformance data not found at " in out,
     "folder without any .json in CI: failure", out)

BASE.cleanup()
t.done()
