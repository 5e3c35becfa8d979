#!/usr/bin/python3
"""Firmware install / verify / uninstall through the phoneprov CLI: file:// and
a loopback HTTP server, every archive format, wrong hashes and sizes, resumed
downloads, hostile archives (nothing may be written outside), progress output."""
import json
import os
import pty
import re
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pphelp  # noqa: E402
from fwhelp import (Env, Server, file_entry, sha256, tar_bytes, ti_dir, ti_file,  # noqa: E402
                    ti_link, ti_special, tar_huge_declared, zip_bytes)

t = pphelp.TapRunner()
HEX64 = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64})$")


def leftovers(env):
    """Temporary files the firmware code must never leave behind."""
    bad = []
    cache = os.path.join(env.data, "cache")
    if os.path.isdir(cache):
        bad += [n for n in os.listdir(cache) if not HEX64.match(n)]
    bad += [n for n in os.listdir(env.root) if n.startswith(".phoneprov-staging")]
    return bad


def new_files(before, after):
    """Paths that appeared or changed, ignoring verified downloads in the cache."""
    out = []
    for k, v in after.items():
        if before.get(k) == v:
            continue
        parts = k.split(os.sep)
        if parts[:2] == ["var", "cache"] and (len(parts) == 2 or HEX64.match(parts[2])):
            continue
        if k in ("var/firmware", "var/firmware/.lock"):
            continue
        out.append(k)
    return out + [k for k in before if k not in after]


# ---------------------------------------------------------------------------
def round_trip():
    env = Env()
    srv = Server()
    try:
        a_rom = os.urandom(70000)
        b_bin = b"B" * 5000 + os.urandom(1000)
        c_txt = b"language pack\n"
        d_cfg = os.urandom(3333)
        tgz = tar_bytes([ti_dir("fw"), ti_file("fw/a.rom", a_rom), ti_file("./fw/b.bin", b_bin)])
        tbz = tar_bytes([ti_file("lang/fr/c.lang", c_txt)], mode="w:bz2")
        txz = tar_bytes([ti_file("x/d.cfg", d_cfg), ti_link("x/d-link.cfg", "d.cfg"),
                         ti_link("x/d-hard.cfg", "x/d.cfg", hard=True)], mode="w:xz")
        zp = zip_bytes([("pack/GUI/e.lang", b"zip entry"), ("pack/readme.txt", b"hi")])
        plain = os.urandom(12345)
        env.fixture("fw.tar.gz", tgz)
        env.fixture("lang.tar.bz2", tbz)
        srv.files["/d/cfg.tar.xz"] = txz
        srv.files["/d/pack.zip"] = zp
        srv.files["/d/T46S-66.86.0.15.rom"] = plain
        env.write_pkgs(f"""packages:
  acme-fw:
    description: Acme firmware and languages
    version: "1.2.3"
    files: [tgz, tbz, txz, zp, rom]
    install:
      - untar: {{ file: tgz }}
      - untar: {{ file: tbz, dest: langs }}
      - untar: {{ file: txz, dest: cfg }}
      - unzip: {{ file: zp }}
      - cp: {{ src: "fw/*", dest: acme/firmware }}
      - cp: {{ src: "langs/lang", dest: acme }}
      - cp: {{ src: "cfg/x/*.cfg", dest: acme/cfg }}
      - cp: {{ src: "pack/GUI/*.lang", dest: "acme/lang/gui" }}
      - cp: {{ src: "*.rom", dest: . }}
      - mkdir: acme/empty-but-ignored
      - rename: {{ from: acme/cfg/d.cfg, to: acme/cfg/renamed.cfg }}
files:
{file_entry("tgz", "file://" + env.fixtures + "/fw.tar.gz", tgz)}\
{file_entry("tbz", "file://" + env.fixtures + "/lang.tar.bz2", tbz, algo="sha1")}\
{file_entry("txz", srv.url("/d/cfg.tar.xz"), txz)}\
{file_entry("zp", srv.url("/d/pack.zip?x=1"), zp, name="pack.zip")}\
{file_entry("rom", srv.url("/d/T46S-66.86.0.15.rom"), plain, algo="sha1")}""")
        # an unrelated file of the administrator's, which must stay untouched
        with open(os.path.join(env.root, "site.cfg"), "w") as f:
            f.write("mine\n")
        before = env.snapshot()
        p = env.cli("--json", "firmware", "list")
        lst = json.loads(p.stdout) if p.returncode == 0 else []
        t.ok(p.returncode == 0 and len(lst) == 1 and lst[0]["installed"] is False
             and lst[0]["files"][1]["sha1"] == pphelp_sha1(tbz),
             "list --json shows the package, not installed", p.stdout + p.stderr)
        p = env.cli("firmware", "install", "acme", "acme-fw")
        t.ok(p.returncode == 0, "install (file:// and http://; tar.gz, tar.bz2, tar.xz, zip; inner symlink and hard link)",
             p.stderr)
        want = {
            "site.cfg": b"mine\n",
            "acme/firmware/a.rom": a_rom,
            "acme/firmware/b.bin": b_bin,
            "acme/lang/fr/c.lang": c_txt,
            "acme/cfg/renamed.cfg": d_cfg,
            "acme/cfg/d-link.cfg": d_cfg,
            "acme/cfg/d-hard.cfg": d_cfg,
            "acme/lang/gui/e.lang": b"zip entry",
            "T46S-66.86.0.15.rom": plain,
        }
        got = env.root_files()
        t.ok(got == want, "installed files are present byte for byte",
             f"got {sorted(got)}\nwant {sorted(want)}")
        t.ok(os.path.isdir(os.path.join(env.root, "acme/empty-but-ignored")) is False
             or True, "mkdir step accepted")
        t.ok(not (p.stderr.count("\r")), "no carriage returns when stderr is not a tty",
             repr(p.stderr[:300]))
        t.ok("download T46S-66.86.0.15.rom" in p.stderr and "verify" in p.stderr,
             "plain progress lines name the downloads", p.stderr)
        t.ok(leftovers(env) == [], "no scratch, .part or staging left", leftovers(env))
        rec = os.path.join(env.data, "firmware/acme/acme-fw.json")
        try:
            r = json.load(open(rec))
            ok = (sorted(f["path"] for f in r["files"]) == sorted(k for k in want if k != "site.cfg")
                  and all(f.get("sha256") == sha256(want[f["path"]])
                          or f.get("sha1") == pphelp_sha1(want[f["path"]]) for f in r["files"])
                  and [f for f in r["files"] if f["path"] == "T46S-66.86.0.15.rom"][0].get("sha1"))
        except Exception as e:  # noqa: BLE001
            ok, r = False, e
        t.ok(ok, "install record lists every file with size and hash (the download's sha1 kept)", r)
        p = env.cli("--json", "firmware", "list", "acme")
        t.ok(p.returncode == 0 and json.loads(p.stdout)[0]["installed"] is True,
             "list shows it installed", p.stdout + p.stderr)
        p = env.cli("--json", "firmware", "verify")
        v = json.loads(p.stdout) if p.stdout.strip() else {}
        t.ok(p.returncode == 0 and v.get("ok") is True and len(v["packages"][0]["files"]) == 8,
             "verify --json: all ok", p.stdout + p.stderr)
        p = env.cli("firmware", "install", "acme", "acme-fw")
        t.ok(p.returncode == 1 and "already installed" in p.stderr,
             "second install refused (already installed)", p.stderr)
        # tamper: verify notices
        victim = os.path.join(env.root, "acme/firmware/b.bin")
        with open(victim, "r+b") as f:
            f.write(b"X")
        os.unlink(os.path.join(env.root, "acme/lang/fr/c.lang"))
        p = env.cli("--json", "firmware", "verify")
        v = json.loads(p.stdout) if p.stdout.strip() else {}
        st = {f["path"]: f["status"] for f in v["packages"][0]["files"]} if v else {}
        t.ok(p.returncode == 1 and st.get("acme/firmware/b.bin") == "hash"
             and st.get("acme/lang/fr/c.lang") == "missing" and st.get("acme/firmware/a.rom") == "ok",
             "verify reports a changed file (hash) and a missing one", p.stdout + p.stderr)
        p = env.cli("firmware", "verify")
        t.ok(p.returncode == 1 and "FAILED" in p.stdout and "b.bin: hash" in p.stdout,
             "verify (text) exits 1 and names the file", p.stdout)
        with open(victim, "wb") as f:
            f.write(b_bin)
        p = env.cli("firmware", "uninstall", "acme", "acme-fw")
        t.ok(p.returncode == 0, "uninstall", p.stderr)
        after = env.snapshot()
        t.ok(new_files(before, after) == [] and env.root_files() == {"site.cfg": b"mine\n"},
             "after uninstall: files and folders gone, nothing else touched",
             new_files(before, after))
        p = env.cli("firmware", "uninstall", "acme", "acme-fw")
        t.ok(p.returncode == 1 and "not installed" in p.stderr, "uninstall twice: not installed",
             p.stderr)
        # reinstall comes from the cache: no new HTTP request
        n = len(srv.requests)
        p = env.cli("firmware", "install", "acme", "acme-fw")
        t.ok(p.returncode == 0 and len(srv.requests) == n and env.root_files() == want,
             "reinstall uses the verified cache (no download)", p.stderr)
        # progress bar on a terminal: \r updates
        env.cli("firmware", "uninstall", "acme", "acme-fw")
        for k in os.listdir(os.path.join(env.data, "cache")):
            os.unlink(os.path.join(env.data, "cache", k))
        master, slave = pty.openpty()
        p = subprocess.run([pphelp.PHONEPROV, "-c", env.config, "firmware", "install", "acme",
                            "acme-fw"], stdout=subprocess.PIPE, stderr=slave, timeout=60)
        os.close(slave)
        tty_out = b""
        try:
            while True:
                chunk = os.read(master, 65536)
                if not chunk:
                    break
                tty_out += chunk
        except OSError:
            pass
        os.close(master)
        t.ok(p.returncode == 0 and b"\r" in tty_out and b"%" in tty_out and b"[#" in tty_out,
             "progress bar with \\r updates on a terminal", tty_out[:400])
        # a conflicting file in the root: refused, nothing installed
        env.cli("firmware", "uninstall", "acme", "acme-fw")
        os.makedirs(os.path.join(env.root, "acme/firmware"))
        with open(os.path.join(env.root, "acme/firmware/a.rom"), "wb") as f:
            f.write(b"someone else's")
        p = env.cli("firmware", "install", "acme", "acme-fw")
        t.ok(p.returncode == 1 and "already exists" in p.stderr
             and env.root_files() == {"site.cfg": b"mine\n", "acme/firmware/a.rom": b"someone else's"},
             "an existing different file is never replaced (install refused)", p.stderr)
    finally:
        srv.close()
        env.cleanup()


def pphelp_sha1(b):
    import hashlib
    return hashlib.sha1(b).hexdigest()


# ---------------------------------------------------------------------------
def mismatches():
    env = Env()
    srv = Server()
    try:
        data = os.urandom(50000)
        srv.files["/fw.bin"] = data
        env.fixture("fw.bin", data)
        bad_hash = "0" * 64
        env.write_pkgs(f"""packages:
  badhash: {{ description: d, version: "1", files: [h], install: [{{ cp: {{ src: "*", dest: fw }} }}] }}
  badsha1: {{ description: d, version: "1", files: [h1], install: [{{ cp: {{ src: "*", dest: fw }} }}] }}
  bigger: {{ description: d, version: "1", files: [big], install: [{{ cp: {{ src: "*", dest: fw }} }}] }}
  smaller: {{ description: d, version: "1", files: [small], install: [{{ cp: {{ src: "*", dest: fw }} }}] }}
  fsmall: {{ description: d, version: "1", files: [fsmall], install: [{{ cp: {{ src: "*", dest: fw }} }}] }}
  missing: {{ description: d, version: "1", files: [gone], install: [{{ cp: {{ src: "*", dest: fw }} }}] }}
files:
  h: {{ url: "{srv.url('/fw.bin')}", size: {len(data)}, sha256: {bad_hash} }}
  h1: {{ url: "file://{env.fixtures}/fw.bin", size: {len(data)}, sha1: {"a" * 40} }}
  big: {{ url: "{srv.url('/fw.bin')}", size: {len(data) + 10}, sha256: {sha256(data)} }}
  small: {{ url: "{srv.url('/fw.bin')}", size: {len(data) - 10}, sha256: {sha256(data)} }}
  fsmall: {{ url: "file://{env.fixtures}/fw.bin", size: {len(data) - 10}, sha256: {sha256(data)} }}
  gone: {{ url: "{srv.url('/nope.bin')}", size: 10, sha256: {sha256(b'x')} }}
""")
        before = env.snapshot()
        for pkg, words in (("badhash", "sha256 mismatch"), ("badsha1", "sha1 mismatch"),
                           ("bigger", "size mismatch"), ("smaller", "size mismatch"),
                           ("fsmall", "size mismatch"), ("missing", "404")):
            p = env.cli("firmware", "install", "acme", pkg)
            after = env.snapshot()
            cache = os.path.join(env.data, "cache")
            cached = os.listdir(cache) if os.path.isdir(cache) else []
            t.ok(p.returncode == 1 and words in p.stderr and cached == []
                 and env.root_files() == {} and new_files(before, after) == [],
                 f"{pkg}: refused ({words}), download deleted, nothing installed",
                 p.stderr + str(cached) + str(new_files(before, after)))
        p = env.cli("firmware", "install", "acme", "nosuch")
        t.ok(p.returncode == 1 and "no firmware package 'nosuch'" in p.stderr,
             "unknown package: clear error", p.stderr)
        p = env.cli("firmware", "install", "nosuchplugin", "x")
        t.ok(p.returncode == 1 and "no such plugin" in p.stderr, "unknown plugin: clear error",
             p.stderr)
        p = env.cli("firmware", "install", "acme")
        t.ok(p.returncode == 2, "missing argument: usage error (2)", p.stderr)
    finally:
        srv.close()
        env.cleanup()


# ---------------------------------------------------------------------------
def resume():
    env = Env()
    srv = Server()
    try:
        data = os.urandom(3 * 1024 * 1024 + 17)
        srv.files["/big.rom"] = data
        srv.cut_once.add("/big.rom")
        env.write_pkgs(f"""packages:
  big: {{ description: d, version: "1", files: [b], install: [{{ cp: {{ src: big.rom, dest: fw }} }}] }}
  big2: {{ description: d, version: "1", files: [b2], install: [{{ cp: {{ src: "*.rom", dest: fw2 }} }}] }}
files:
{file_entry("b", srv.url("/big.rom"), data)}\
{file_entry("b2", srv.url("/big2.rom"), data, algo="sha1")}""")
        p = env.cli("firmware", "install", "acme", "big")
        ranges = [r for path, r in srv.requests if path == "/big.rom"]
        t.ok(p.returncode == 0, "install succeeds although the first response was cut", p.stderr)
        t.ok(len(ranges) == 2 and ranges[0] is None and ranges[1] is not None
             and int(ranges[1][6:-1]) > 0,
             "the second request resumed with a byte Range", ranges)
        t.ok(env.root_files().get("fw/big.rom") == data, "resumed download is byte for byte right")
        # a .part left by an earlier, interrupted run is resumed
        srv.files["/big2.rom"] = data
        cache = os.path.join(env.data, "cache")
        part = os.path.join(cache, pphelp_sha1(data) + ".part")
        with open(part, "wb") as f:
            f.write(data[:1000000])
        srv.requests.clear()
        p = env.cli("firmware", "install", "acme", "big2")
        t.ok(p.returncode == 0 and srv.requests == [("/big2.rom", "bytes=1000000-")]
             and env.root_files().get("fw2/big2.rom") == data,
             "a .part from an interrupted run is resumed from its size", str(srv.requests) + p.stderr)
        t.ok(not os.path.exists(part), "the .part became the verified download")
        # a corrupt .part (wrong first bytes): the hash check fails, the download is deleted
        env.cli("firmware", "uninstall", "acme", "big2")
        os.unlink(os.path.join(cache, pphelp_sha1(data)))
        with open(part, "wb") as f:
            f.write(b"\0" * 1000000)
        p = env.cli("firmware", "install", "acme", "big2")
        t.ok(p.returncode == 1 and "sha1 mismatch" in p.stderr and not os.path.exists(part)
             and "fw2/big2.rom" not in env.root_files(),
             "a corrupt partial download fails verification and is deleted", p.stderr)
    finally:
        srv.close()
        env.cleanup()


# ---------------------------------------------------------------------------
def hostile():
    env = Env()
    try:
        cases = [
            ("dotdot", "tar", tar_bytes([ti_file("../../../sentinel/evil.txt", b"x")])),
            ("absolute", "tar", tar_bytes([ti_file(env.sentinel + "/abs.txt", b"x")])),
            ("nested-dotdot", "tar", tar_bytes([ti_file("a/../../x.txt", b"x")])),
            ("symlink-escape-write", "tar", tar_bytes([
                ti_link("link", "../../../../sentinel"), ti_file("link/pwn.txt", b"x")])),
            ("symlink-to-etc", "tar", tar_bytes([ti_link("etc", "/etc"),
                                                 ti_file("etc/pwned", b"x")])),
            ("symlink-dotdot-only", "tar", tar_bytes([ti_link("up", "sub/../..")])),
            ("hardlink-escape", "tar", tar_bytes([
                ti_link("hl", "../../../../sentinel/secret.txt", hard=True)])),
            ("hardlink-absolute", "tar", tar_bytes([ti_link("pw", "/etc/passwd", hard=True)])),
            ("device-node", "tar", tar_bytes([ti_special("dev/null", "chr")])),
            ("block-device", "tar", tar_bytes([ti_special("sda", "blk")])),
            ("fifo", "tar", tar_bytes([ti_special("pipe", "fifo")])),
            ("huge-declared", "tar", tar_huge_declared("big.bin", 3 << 30)),
            ("dotdot-bz2", "tar", tar_bytes([ti_file("../evil.txt", b"x")], mode="w:bz2")),
            ("dotdot-xz", "tar", tar_bytes([ti_file("../evil.txt", b"x")], mode="w:xz")),
            ("zip-slip", "zip", zip_bytes([("ok.txt", b"fine"), ("../../../sentinel/zs.txt", b"x")])),
            ("zip-absolute", "zip", zip_bytes([(env.sentinel + "/za.txt", b"x")])),
            ("zip-nested", "zip", zip_bytes([("a/b/../../../z.txt", b"x")])),
            ("not-an-archive", "tar", b"this is not a tar file at all" * 40),
        ]
        pk, fs = [], []
        for name, kind, data in cases:
            fn = name + (".zip" if kind == "zip" else ".tar")
            env.fixture(fn, data)
            step = "unzip" if kind == "zip" else "untar"
            pk.append(f"  {name}: {{ description: d, version: \"1\", files: [{name}],\n"
                      f"    install: [{{ {step}: {{ file: {name} }} }}, {{ cp: {{ src: \"*\", dest: out }} }}] }}\n")
            fs.append(file_entry(name, "file://" + os.path.join(env.fixtures, fn), data))
        env.write_pkgs("packages:\n" + "".join(pk) + "files:\n" + "".join(fs))
        before = env.snapshot()
        for name, kind, data in cases:
            p = env.cli("firmware", "install", "acme", name)
            after = env.snapshot()
            changed = new_files(before, after)
            print("# " + name + ": " + p.stderr.strip().splitlines()[-1])
            t.ok(p.returncode == 1 and ("refused" in p.stderr or "not a tar" in p.stderr)
                 and changed == [] and leftovers(env) == [] and env.root_files() == {},
                 f"hostile archive '{name}' refused, nothing written anywhere",
                 p.stderr + "\nchanged: " + str(changed) + "\nleft: " + str(leftovers(env)))
        t.ok(open(os.path.join(env.sentinel, "secret.txt")).read() == "do not touch\n",
             "sentinel file intact")
    finally:
        env.cleanup()


def shared():
    env = Env()
    try:
        data = os.urandom(4000)
        env.fixture("same.rom", data)
        env.fixture("admin.rom", b"admin")
        env.write_pkgs(f"""packages:
  p1: {{ description: d, version: "1", files: [r], install: [{{ cp: {{ src: "*.rom", dest: fw }} }}] }}
  p2: {{ description: d, version: "1", files: [r], install: [{{ cp: {{ src: "*.rom", dest: fw }} }}] }}
  p3: {{ description: d, version: "1", files: [a], install: [{{ cp: {{ src: "*.rom", dest: . }} }}] }}
files:
{file_entry("r", "file://" + env.fixtures + "/same.rom", data)}\
{file_entry("a", "file://" + env.fixtures + "/admin.rom", b"admin")}""")
        ok = [env.cli("firmware", "install", "acme", x).returncode for x in ("p1", "p2")]
        t.ok(ok == [0, 0] and env.root_files() == {"fw/same.rom": data},
             "two packages may install the same identical file")
        env.cli("firmware", "uninstall", "acme", "p1")
        t.ok(env.root_files() == {"fw/same.rom": data},
             "uninstalling one keeps the file the other still lists")
        env.cli("firmware", "uninstall", "acme", "p2")
        t.ok(env.root_files() == {} and not os.path.exists(os.path.join(env.root, "fw")),
             "uninstalling the last one removes it and its folder")
        with open(os.path.join(env.root, "admin.rom"), "wb") as f:
            f.write(b"admin")
        p = env.cli("firmware", "install", "acme", "p3")
        env.cli("firmware", "uninstall", "acme", "p3")
        t.ok(p.returncode == 0 and env.root_files() == {"admin.rom": b"admin"},
             "an identical file that was there before is never removed", p.stderr)
    finally:
        env.cleanup()


round_trip()
shared()
mismatches()
resume()
hostile()
t.done()
