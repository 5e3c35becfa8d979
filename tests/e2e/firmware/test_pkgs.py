#!/usr/bin/python3
"""pkgs.yml validation: exact FILE:LINE:COL messages from `phoneprov firmware
list`, and every bundled plugin's pkgs.yml is valid and complete."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pphelp  # noqa: E402
from fwhelp import Env  # noqa: E402

t = pphelp.TapRunner()
H64 = "ab" * 32
H40 = "cd" * 20

GOOD_FILE = f"""files:
  f1:
    url: http://example.invalid/fw/a.rom
    size: 10
    sha256: {H64}
"""

CASES = [
    # (name, text, line, col, message)
    ("unknown top-level key",
     "packages: {}\nextra: 1\n", 2, 1, "unknown key 'extra' in pkgs.yml"),
    ("unknown package key",
     "packages:\n  p1:\n    description: d\n    version: '1'\n    files: [f1]\n"
     "    install: [{ mkdir: x }]\n    colour: blue\n" + GOOD_FILE,
     7, 5, "unknown key 'colour' in packages.p1"),
    ("unknown file key",
     "packages: {}\nfiles:\n  f1:\n    url: http://x.invalid/a\n    size: 1\n"
     f"    sha256: {H64}\n    md5: abc\n", 7, 5, "unknown key 'md5' in files.f1"),
    ("sha256 of the wrong length",
     "packages: {}\nfiles:\n  f1:\n    url: http://x.invalid/a\n    size: 1\n"
     "    sha256: abc123\n", 6, 13, "files.f1.sha256 must be 64 hexadecimal digits, not 'abc123'"),
    ("sha1 not hex",
     "packages: {}\nfiles:\n  f1:\n    url: http://x.invalid/a\n    size: 1\n"
     f"    sha1: {'z' * 40}\n", 6, 11,
     f"files.f1.sha1 must be 40 hexadecimal digits, not '{'z' * 40}'"),
    ("no hash at all",
     "packages: {}\nfiles:\n  f1:\n    url: http://x.invalid/a\n    size: 1\n",
     4, 5, "files.f1: needs 'sha256' or 'sha1'"),
    ("size zero",
     f"packages: {{}}\nfiles:\n  f1: {{ url: 'http://x.invalid/a', size: 0, sha1: {H40} }}\n",
     3, 42, "files.f1.size must be between 1 and 1125899906842624, not 0"),
    ("size not a number",
     f"packages: {{}}\nfiles:\n  f1: {{ url: 'http://x.invalid/a', size: big, sha1: {H40} }}\n",
     3, 42, "files.f1.size must be an integer, not 'big'"),
    ("ftp url",
     f"packages: {{}}\nfiles:\n  f1: {{ url: 'ftp://x.invalid/a', size: 3, sha1: {H40} }}\n",
     3, 14, "files.f1.url must be an http://, https:// or file:// URL, not 'ftp://x.invalid/a'"),
    ("url without a file name",
     f"packages: {{}}\nfiles:\n  f1: {{ url: 'http://x.invalid/', size: 3, sha1: {H40} }}\n",
     3, 14, "files.f1: cannot take a file name from the url: add 'name'"),
    ("name with a slash",
     f"packages: {{}}\nfiles:\n  f1: {{ url: 'http://x.invalid/a', name: 'a/b', size: 3, sha1: {H40} }}\n",
     3, 42, "files.f1.name must be a plain file name, not 'a/b'"),
    ("unknown file in a package",
     "packages:\n  p1:\n    description: d\n    version: '1'\n    files: [f1, f2]\n"
     "    install: [{ mkdir: x }]\n" + GOOD_FILE,
     5, 17, "packages.p1.files: no file 'f2' in 'files'"),
    ("unknown step",
     "packages:\n  p1:\n    description: d\n    version: '1'\n    files: [f1]\n"
     "    install:\n      - chmod: { path: x }\n" + GOOD_FILE,
     7, 9, "packages.p1.install[0]: unknown step 'chmod' (untar, unzip, cp, mkdir or rename)"),
    ("cp climbing out",
     "packages:\n  p1:\n    description: d\n    version: '1'\n    files: [f1]\n"
     "    install:\n      - cp: { src: '../*', dest: fw }\n" + GOOD_FILE,
     7, 20, "packages.p1.install[0].cp: parent directory (..) in path: '../*'"),
    ("absolute dest",
     "packages:\n  p1:\n    description: d\n    version: '1'\n    files: [f1]\n"
     "    install:\n      - cp: { src: '*.rom', dest: /etc }\n" + GOOD_FILE,
     7, 35, "packages.p1.install[0].cp must be a relative path, not '/etc'"),
    ("untar of a file not in the package",
     "packages:\n  p1:\n    description: d\n    version: '1'\n    files: [f1]\n"
     f"    install:\n      - untar: {{ file: f2 }}\n" + GOOD_FILE +
     f"  f2: {{ url: 'http://x.invalid/b', size: 3, sha1: {H40} }}\n",
     7, 24, "packages.p1.install[0].untar: 'f2' is not one of the package's files"),
    ("rename with a nested ..",
     "packages:\n  p1:\n    description: d\n    version: '1'\n    files: [f1]\n"
     "    install:\n      - rename: { from: a, to: 'x/../../y' }\n" + GOOD_FILE,
     7, 32, "packages.p1.install[0].rename: parent directory (..) in path: 'x/../../y'"),
    ("two keys in one step",
     "packages:\n  p1:\n    description: d\n    version: '1'\n    files: [f1]\n"
     "    install:\n      - { mkdir: a, cp: { src: x, dest: y } }\n" + GOOD_FILE,
     7, 9, "packages.p1.install[0]: a step is one of untar, unzip, cp, mkdir, rename (exactly one key)"),
    ("missing description",
     "packages:\n  p1:\n    version: '1'\n    files: [f1]\n    install: [{ mkdir: x }]\n" + GOOD_FILE,
     3, 5, "packages.p1: missing 'description'"),
    ("bad package name",
     "packages:\n  ../x:\n    description: d\n", 2, 3,
     "package name '../x' must be 1-100 letters, digits, '.', '_', '+' or '-', starting with a letter or digit"),
    ("empty install list",
     "packages:\n  p1:\n    description: d\n    version: '1'\n    files: [f1]\n    install: []\n" + GOOD_FILE,
     6, 14, "packages.p1.install must list at least one step"),
    ("packages is a list",
     "packages: [a, b]\n", 1, 11, "packages must be a mapping, not a list"),
    ("duplicate package",
     "packages:\n  p1: {}\n  p1: {}\n", 3, 3, None),
    ("empty document", "", 1, 1, "empty document: expected 'packages:'"),
]


def main():
    env = Env()
    try:
        for name, text, line, col, msg in CASES:
            env.write_pkgs(text)
            p = env.cli("firmware", "list", "acme")
            prefix = f"{env.pkgs_path}:{line}:{col}: "
            err = p.stderr.strip()
            if msg is None:
                good = p.returncode == 1 and prefix in err
            else:
                good = p.returncode == 1 and err.endswith(prefix + msg)
            t.ok(good, f"pkgs.yml error: {name}", f"got:  {err}\nwant: {prefix}{msg}")
        # a valid file lists fine, with defaults (name from the url)
        env.write_pkgs("packages:\n  p1:\n    description: d\n    version: 1.0\n    files: [f1]\n"
                       "    install: [{ cp: { src: '*.rom', dest: . } }]\n" + GOOD_FILE)
        p = env.cli("--json", "firmware", "list", "acme")
        j = json.loads(p.stdout) if p.returncode == 0 else []
        t.ok(j and j[0]["version"] == "1.0" and j[0]["files"][0]["name"] == "a.rom",
             "valid pkgs.yml lists (version kept as text, name from the url)", p.stdout + p.stderr)
        os.unlink(env.pkgs_path)
        p = env.cli("--json", "firmware", "list", "acme")
        t.ok(p.returncode == 0 and json.loads(p.stdout) == [], "no pkgs.yml: no packages",
             p.stderr)
    finally:
        env.cleanup()

    # the bundled plugins: every pkgs.yml valid, real-looking entries
    src = pphelp.SRC
    with open(os.path.join(src, "phoneprov.yml")) as f:
        f.read()
    bundled = sorted(d for d in os.listdir(os.path.join(src, "plugins"))
                     if os.path.isfile(os.path.join(src, "plugins", d, "plugin.yml")))
    env = Env()
    try:
        with open(env.config, "a") as f:
            pass
        cfg = open(env.config).read().replace(env.plugins, os.path.join(src, "plugins"))
        open(env.config, "w").write(cfg)
        p = env.cli("--json", "firmware", "list")
        pk = json.loads(p.stdout) if p.returncode == 0 else []
        t.ok(p.returncode == 0, "bundled pkgs.yml files are all valid", p.stderr)
        have = sorted({x["plugin"] for x in pk})
        for name in bundled:
            if os.path.exists(os.path.join(src, "plugins", name, "pkgs.yml")):
                continue
            t.ok(False, f"bundled plugin {name} has a pkgs.yml")
        urls_ok = all(re.match(r"^https?://[a-z0-9.-]+\.(com|community|net|org)/", f["url"])
                      and f["size"] > 1000 for x in pk for f in x["files"])
        t.ok(len(pk) >= 10 and urls_ok and len(have) >= 5,
             f"bundled packages: {len(pk)} in {len(have)} plugins, vendor URLs with sizes",
             json.dumps(pk)[:2000])
    finally:
        env.cleanup()
    t.done()


main()
