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
from fwhelp import Env, Server, file_entry, tar_bytes, ti_file  # noqa: E402

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
        st, j = api(d, "POST", "/plugins/acme/packages/acme-fw", d.admin_token)
        t.ok(st == 200 and isinstance(j, dict) and j.get("installed") is True,
             "POST install with the admin token: 200", j)
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
        st, j = api(d, "POST", "/plugins/acme/packages/acme-fw", d.admin_token)
        t.ok(st == 409, "installing again: 409", (st, j))
        st, j = api(d, "POST", "/plugins/acme/packages/broken", d.admin_token)
        t.ok(st == 422 and isinstance(j, dict) and "sha256 mismatch" in j.get("error", "")
             and not os.path.exists(os.path.join(env.root, "bad")),
             "wrong hash through the API: clear 4xx error, nothing installed", (st, j))
        st, j = api(d, "POST", "/plugins/acme/packages/evil", d.admin_token)
        t.ok(st == 422 and "refused" in (j or {}).get("error", "")
             and sorted(os.listdir(env.sentinel)) == ["secret.txt", "sub"]
             and not os.path.exists(os.path.join(env.root, "evil")),
             "hostile archive through the API: 422, nothing written", (st, j))
        st, j = api(d, "POST", "/plugins/acme/packages/nosuch", d.admin_token)
        t.ok(st == 404, "unknown package: 404", (st, j))
        st, j = api(d, "POST", "/plugins/nosuch/packages/acme-fw", d.admin_token)
        t.ok(st == 404, "unknown plugin: 404", (st, j))
        st, j = api(d, "DELETE", "/plugins/acme/packages/acme-fw", d.token)
        t.ok(st == 403 and "acme/firmware/a.rom" in env.root_files(),
             "DELETE with the user token: 403, files stay", (st, j))
        st, j = api(d, "DELETE", "/plugins/acme/packages/acme-fw", d.admin_token)
        t.ok(st == 200 and env.root_files() == {} and not os.path.exists(
            os.path.join(env.root, "acme")), "DELETE with the admin token removes the files", (st, j))
        body, code = http_get(d, "acme/firmware/a.rom")
        t.ok(code == 404, "after uninstall HTTP answers 404", code)
        got, out = tftp_get(d, "acme/firmware/a.rom")
        t.ok(not got, "after uninstall TFTP has no file", out)
        st, j = api(d, "DELETE", "/plugins/acme/packages/acme-fw", d.admin_token)
        t.ok(st == 404, "DELETE of a package not installed: 404", (st, j))
        log = d.read_log()
        t.ok("event=firmware.installed" in log and "event=firmware.uninstalled" in log,
             "install and uninstall are logged as events")
    finally:
        d.cleanup()
        srv.close()
        env.cleanup()
    t.done()


main()
