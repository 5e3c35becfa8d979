#!/usr/bin/python3
"""Firmware through the running daemon: the REST API installs and uninstalls
(admin token only), then TFTP (tftp-hpa) and HTTP (curl) serve the installed
files byte for byte."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pphelp  # noqa: E402
from fwhelp import Env, Server, api_call, file_entry, tar_bytes, ti_file, wait_op  # noqa: E402

t = pphelp.TapRunner()


def api(d, method, path, token):
    p = subprocess.run(["curl", "-s", "--noproxy", "*", "-o", "-", "-w", "\n%{http_code}", "-X",
                        method, "-H", f"Authorization: Bearer {token}",
                        f"http://127.0.0.1:{d.api_port}/api/v1{path}"],
                       capture_output=True, text=True, timeout=60)
    body, _, code = p.stdout.rpartition("\n")
    try:
        j = json.loads(body) if body.strip() else None
    except ValueError:
        j = body
    return int(code or 0), j


def op(d, method, path, token):
    """Start an operation (202 + Location) and follow it to its end: (status, final JSON)."""
    st, j, loc = api_call(d, method, path, token)
    if st != 202 or not loc or not isinstance(j, dict) or j.get("id") != loc.rsplit("/", 1)[-1]:
        return st, j
    return st, wait_op(d, loc, token)


def tftp_get(d, name):
    with tempfile.TemporaryDirectory() as td:
        dst = os.path.join(td, "out")
        p = subprocess.run(["tftp", "127.0.0.1", str(d.tftp_port), "-m", "binary", "-c", "get",
                            name, dst], capture_output=True, timeout=30)
        if not os.path.exists(dst):
            return None, p.stdout + p.stderr
        with open(dst, "rb") as f:
            return f.read(), p.stdout + p.stderr


def http_get(d, name):
    p = subprocess.run(["curl", "-s", "--noproxy", "*", "-o", "-", "-w", "%{http_code}",
                        f"http://127.0.0.1:{d.http_port}/{name}"], capture_output=True, timeout=30)
    return p.stdout[:-3], int(p.stdout[-3:] or 0)


def main():
    check_links()
    env = Env()
    srv = Server()
    a_rom = os.urandom(300000)
    b_bin = os.urandom(1000) + b"\n" * 100
    tgz = tar_bytes([ti_file("fw/a.rom", a_rom), ti_file("fw/b.bin", b_bin)])
    srv.files["/dl/fw.tar.gz"] = tgz
    evil = tar_bytes([ti_file("../../../../sentinel/evil.txt", b"x")])
    env.fixture("evil.tar", evil)
    env.write_pkgs(f"""packages:
  acme-fw:
    description: Acme phone firmware
    version: "2.0"
    files: [tgz]
    install:
      - untar: {{ file: tgz }}
      - cp: {{ src: "fw/*", dest: acme/firmware }}
  evil:
    description: zip-slip style tar
    version: "1"
    files: [evil]
    install: [{{ untar: {{ file: evil }} }}, {{ cp: {{ src: "*", dest: evil }} }}]
  broken:
    description: wrong hash
    version: "1"
    files: [bad]
    install: [{{ cp: {{ src: "*", dest: bad }} }}]
files:
{file_entry("tgz", srv.url("/dl/fw.tar.gz"), tgz)}\
{file_entry("evil", "file://" + env.fixtures + "/evil.tar", evil)}\
  bad: {{ url: "{srv.url('/dl/fw.tar.gz')}", size: {len(tgz)}, sha256: {"0" * 64} }}
""")
    d = pphelp.Daemon(plugins_dir=env.plugins, tftp_root=env.root,
                      env={"http_proxy": "", "HTTP_PROXY": "", "no_proxy": "*"})
    try:
        d.start()
    except RuntimeError as e:
        t.ok(False, "daemon starts with the test plugin", str(e))
        t.done()
    try:
        st, j = api(d, "GET", "/plugins/acme/packages", d.token)
        pk = {p["name"]: p for p in (j or {}).get("packages", [])} if isinstance(j, dict) else {}
        t.ok(st == 200 and pk.get("acme-fw", {}).get("installed") is False,
             "GET packages (user token) lists the packages", j)
        st, j = api(d, "POST", "/plugins/acme/packages/acme-fw", d.token)
        t.ok(st == 403 and env.root_files() == {}, "POST install with the user token: 403", j)
        st, j = op(d, "POST", "/plugins/acme/packages/acme-fw", d.admin_token)
        t.ok(st == 202 and isinstance(j, dict) and j.get("state") == "ok"
             and j.get("kind") == "firmware.install",
             "POST install with the admin token: 202, the operation ends ok", (st, j))
        st, j = api(d, "GET", "/plugins/acme/packages", d.token)
        pk = {p["name"]: p for p in (j or {}).get("packages", [])} if isinstance(j, dict) else {}
        t.ok(pk.get("acme-fw", {}).get("installed") is True, "package now listed as installed", j)
        for name, want in (("acme/firmware/a.rom", a_rom), ("acme/firmware/b.bin", b_bin)):
            got, out = tftp_get(d, name)
            t.ok(got == want, f"TFTP (tftp-hpa) serves {name} byte for byte",
                 f"{len(got or b'')} vs {len(want)} {out}")
            body, code = http_get(d, name)
            t.ok(code == 200 and body == want, f"HTTP (curl) serves {name} byte for byte",
                 f"{code} {len(body)} vs {len(want)}")
        p = d.cli("--json", "firmware", "verify")
        v = json.loads(p.stdout) if p.returncode == 0 else {}
        t.ok(v.get("ok") is True, "CLI verify agrees with what the API installed",
             p.stdout + p.stderr)
        st, j = op(d, "POST", "/plugins/acme/packages/acme-fw", d.admin_token)
        t.ok(st == 202 and (j or {}).get("state") == "failed" and j.get("status") == 409,
             "installing again: the operation fails with 409", (st, j))
        st, j = op(d, "POST", "/plugins/acme/packages/broken", d.admin_token)
        t.ok(st == 202 and isinstance(j, dict) and j.get("state") == "failed"
             and j.get("status") == 422 and "sha256 mismatch" in j.get("error", "")
             and not os.path.exists(os.path.join(env.root, "bad")),
             "wrong hash through the API: clear 4xx error, nothing installed", (st, j))
        st, j = op(d, "POST", "/plugins/acme/packages/evil", d.admin_token)
        t.ok(st == 202 and (j or {}).get("status") == 422 and "refused" in (j or {}).get("error", "")
             and sorted(os.listdir(env.sentinel)) == ["secret.txt", "sub"]
             and not os.path.exists(os.path.join(env.root, "evil")),
             "hostile archive through the API: 422, nothing written", (st, j))
        st, j = op(d, "POST", "/plugins/acme/packages/nosuch", d.admin_token)
        t.ok(st == 202 and (j or {}).get("state") == "failed" and j.get("status") == 404
             and "nosuch" in j.get("error", ""), "unknown package: the operation fails, 404", (st, j))
        st, j = api(d, "POST", "/plugins/nosuch/packages/acme-fw", d.admin_token)
        t.ok(st == 404, "unknown plugin: 404", (st, j))
        st, j = api(d, "DELETE", "/plugins/acme/packages/acme-fw", d.token)
        t.ok(st == 403 and "acme/firmware/a.rom" in env.root_files(),
             "DELETE with the user token: 403, files stay", (st, j))
        st, j = op(d, "DELETE", "/plugins/acme/packages/acme-fw", d.admin_token)
        t.ok(st == 202 and (j or {}).get("state") == "ok" and env.root_files() == {} and not os.path.exists(
            os.path.join(env.root, "acme")), "DELETE with the admin token removes the files", (st, j))
        body, code = http_get(d, "acme/firmware/a.rom")
        t.ok(code == 404, "after uninstall HTTP answers 404", code)
        got, out = tftp_get(d, "acme/firmware/a.rom")
        t.ok(not got, "after uninstall TFTP has no file", out)
        st, j = op(d, "DELETE", "/plugins/acme/packages/acme-fw", d.admin_token)
        t.ok(st == 202 and (j or {}).get("state") == "failed" and j.get("status") == 404,
             "DELETE of a package not installed: the operation fails, 404", (st, j))
        log = d.read_log()
        t.ok("event=firmware.installed" in log and "event=firmware.uninstalled" in log,
             "install and uninstall are logged as events")
        p = d.cli("firmware", "--worker", "list", "acme")
        lines = p.stdout.splitlines()
        w = json.loads(lines[0]) if p.returncode == 0 and len(lines) == 1 else {}
        t.ok(w.get("rc") == 0 and w.get("error") == "" and isinstance(w.get("result"), list)
             and {x["name"] for x in w["result"]} == {"acme-fw", "evil", "broken"},
             "worker mode: one JSON object {rc, error, result}, exit 0", p.stdout + p.stderr)
        p = d.cli("firmware", "--worker", "install", "acme", "nosuch")
        w = json.loads(p.stdout) if p.returncode == 0 else {}
        t.ok(w.get("rc") == -2 and "nosuch" in w.get("error", "") and w.get("result") is None,
             "worker mode: a failure is an rc and a message, still exit 0", p.stdout + p.stderr)
        p = d.cli("firmware", "--help")
        t.ok(p.returncode == 0 and "install" in p.stdout and "worker" not in p.stdout,
             "worker mode is not in --help", p.stdout)
    finally:
        d.cleanup()
    try:
        worker_failures(env)
    finally:
        srv.close()
        env.cleanup()
    t.done()


def worker_failures(env):
    """The daemon without a usable CLI binary: clear 500s, never a hang or a crash."""
    tmp = tempfile.mkdtemp(prefix="pp-fwcli-")
    fake = os.path.join(tmp, "phoneprov")
    d = pphelp.Daemon(plugins_dir=env.plugins, tftp_root=env.root,
                      env={"PHONEPROV_CLI": fake})
    try:
        d.start()
        st, j = api(d, "GET", "/plugins/acme/packages", d.token)
        t.ok(st == 500 and fake in (j or {}).get("error", "")
             and "PHONEPROV_CLI" in (j or {}).get("error", ""),
             "CLI binary missing: 500 naming the binary", (st, j))
        with open(fake, "w") as f:
            f.write("#!/bin/sh\nkill -SEGV $$\n")
        os.chmod(fake, 0o755)
        st, j = op(d, "POST", "/plugins/acme/packages/acme-fw", d.admin_token)
        t.ok(st == 202 and (j or {}).get("status") == 500 and "signal 11" in j.get("error", "")
             and env.root_files() == {}, "worker crashing: the operation fails (500) with the signal",
             (st, j))
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho '{\"rc\": 1' ; exit 0\n")
        st, j = api(d, "GET", "/plugins/acme/packages", d.token)
        t.ok(st == 500 and "unreadable answer" in (j or {}).get("error", ""),
             "worker answering garbage: 500", (st, j))
        st, j = api(d, "GET", "/health", d.token)
        t.ok(st == 200 and d.proc.poll() is None, "daemon still serving after worker failures",
             (st, j))
    except RuntimeError as e:
        t.ok(False, "daemon starts with PHONEPROV_CLI set", str(e))
    finally:
        d.cleanup()
        subprocess.run(["rm", "-rf", tmp])


def linked_libs(path):
    p = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


def check_links():
    rc, out = linked_libs(pphelp.PHONEPROVD)
    t.ok(rc == 0 and "libc.so" in out and "libcurl" not in out and "libarchive" not in out,
         "phoneprovd does not link libcurl or libarchive (ldd)", out)
    rc, out = linked_libs(pphelp.PHONEPROV)
    t.ok(rc == 0 and "libcurl" in out and "libarchive" in out,
         "the phoneprov CLI links both", out)
    worker = os.path.join(os.path.dirname(pphelp.PHONEPROVD), "phoneprov-firmware-worker")
    rc, out = linked_libs(worker)
    t.ok(rc == 0 and "libcurl" in out and "libarchive" in out and "libnettle" in out,
         "the firmware worker (what phoneprovd runs) links libcurl, libarchive, nettle", out)


main()
