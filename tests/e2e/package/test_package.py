#!/usr/bin/python3
"""The Debian packages: `dpkg-buildpackage -us -uc -b` builds phoneprov and
phoneprov-plugins from a copy of the tree (dpkg-buildflags hardening, no
compiler warning), lintian finds no error, the packages hold the FHS
layout; then (as root) they are really installed: the installed units pass
`systemd-analyze verify` and score at most 1.9 in `systemd-analyze
security`, `phoneprovd --check` accepts the installed default
configuration (found without -c), the installed daemon serves a static
file over HTTP and TFTP and a file rendered from an installed plugin on
127.0.0.1, runs its firmware worker from libexec; finally the packages are
purged and the machine is as it was. Not root: the packages are unpacked
into a scratch folder instead and checked there."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import pphelp
from pphelp import Daemon, SRC, TapRunner

t = TapRunner()
ROOT = os.geteuid() == 0
work = tempfile.mkdtemp(prefix="pppkg-")
src = os.path.join(work, "src")


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 900)
    return subprocess.run(cmd, **kw)


def installed(pkg):
    p = run(["dpkg-query", "-W", "-f=${Status}", pkg])
    return p.returncode == 0 and "ok installed" in p.stdout


try:
    # ---- build ---------------------------------------------------------------
    files = run(["git", "-C", SRC, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    t.ok(files.returncode == 0, "the tree's files (git ls-files)", files.stderr)
    for rel in filter(None, files.stdout.split("\0")):
        s = os.path.join(SRC, rel)
        if not os.path.lexists(s):
            continue  # deleted in the work tree
        d = os.path.join(src, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(s, d, follow_symlinks=False)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2")
    b = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env)
    log = b.stdout + b.stderr
    with open(os.path.join(work, "build.log"), "w") as f:
        f.write(log)
    t.ok(b.returncode == 0, "dpkg-buildpackage -us -uc -b", log[-3000:])
    flags = re.search(r"^\[\d+/\d+\] cc .* -O2 .*-fstack-protector-strong.*-D_FORTIFY_SOURCE=2",
                      log, re.M)
    t.ok(flags is not None, "compiled with the hardening flags of dpkg-buildflags",
         "\n".join(l for l in log.splitlines() if " cc " in l)[:500])
    warnings = [l for l in log.splitlines() if "warning:" in l and ".c:" in l]
    t.ok(not warnings, "no compiler warning in the distribution build", "\n".join(warnings[:20]))
    debs = {os.path.basename(p).split("_")[0]: p for p in glob.glob(os.path.join(work, "*.deb"))}
    t.ok({"phoneprov", "phoneprov-plugins"} <= set(debs), "both packages built", debs)
    if not {"phoneprov", "phoneprov-plugins"} <= set(debs):
        t.done()

    # ---- contents ------------------------------------------------------------
    def contents(deb):
        p = run(["dpkg-deb", "-c", deb])
        return {l.split()[5].lstrip(".") for l in p.stdout.splitlines()}

    main = contents(debs["phoneprov"])
    want = ["/usr/sbin/phoneprovd", "/usr/bin/phoneprov",
            "/usr/libexec/phoneprov/phoneprov-firmware-worker", "/etc/phoneprov/phoneprov.yml",
            "/etc/phoneprov/plugins.d/README", "/lib/systemd/system/phoneprovd.service",
            "/lib/systemd/system/phoneprovd.socket", "/usr/share/man/man1/phoneprov.1.gz",
            "/usr/share/man/man8/phoneprovd.8.gz", "/usr/share/man/man5/phoneprov.yml.5.gz",
            "/usr/share/bash-completion/completions/phoneprov",
            "/usr/share/doc/phoneprov/README.md.gz"]
    t.ok(all(w in main for w in want), "phoneprov: the FHS layout",
         [w for w in want if w not in main])
    t.ok(not any(p.startswith("/usr/share/phoneprov/plugins/") for p in main),
         "phoneprov holds no plugin")
    plug = contents(debs["phoneprov-plugins"])
    t.ok("/usr/share/phoneprov/plugins/yealink/plugin.yml" in plug and
         "/usr/share/phoneprov/plugins/yealink/templates/mac.cfg.mustache" in plug and
         not any(p.startswith(("/usr/bin", "/usr/sbin")) for p in plug),
         "phoneprov-plugins: the plugins under /usr/share/phoneprov/plugins")
    arch = run(["dpkg-deb", "-f", debs["phoneprov-plugins"], "Architecture"]).stdout.strip()
    t.ok(arch == "all", "phoneprov-plugins is Architecture: all", arch)
    cf = run(["dpkg-deb", "-I", debs["phoneprov"], "conffiles"]).stdout
    t.ok("/etc/phoneprov/phoneprov.yml" in cf.split(), "the default configuration is a conffile", cf)

    # ---- lintian -------------------------------------------------------------
    li = run(["lintian", "--fail-on", "error", debs["phoneprov"], debs["phoneprov-plugins"]])
    errors = [l for l in li.stdout.splitlines() if l.startswith("E:")]
    t.ok(li.returncode == 0 and not errors, "lintian: no error",
         li.stdout[-3000:] + li.stderr[-1000:])
    print("# lintian: " + (", ".join(sorted({l.split()[2] for l in li.stdout.splitlines()
                                              if l[:2] in ("W:", "I:")})) or "clean"), flush=True)

    # ---- install -------------------------------------------------------------
    if ROOT and (installed("phoneprov") or installed("phoneprov-plugins")):
        t.skip("installed packages", "phoneprov is installed on this machine: not replaced")
        t.done()
    policy = "/usr/sbin/policy-rc.d"
    made_policy = False
    if ROOT:
        # units are not started by the installation (invoke-rc.d/deb-systemd-invoke ask this)
        if not os.path.exists(policy):
            with open(policy, "w") as f:
                f.write("#!/bin/sh\nexit 101\n")
            os.chmod(policy, 0o755)
            made_policy = True
        inst = run(["dpkg", "-i", debs["phoneprov-plugins"], debs["phoneprov"]],
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        t.ok(inst.returncode == 0, "dpkg -i phoneprov phoneprov-plugins", inst.stdout + inst.stderr)
        prefix = ""
    else:
        prefix = os.path.join(work, "root")
        for deb in (debs["phoneprov"], debs["phoneprov-plugins"]):
            run(["dpkg-deb", "-x", deb, prefix])
        t.ok(os.path.exists(prefix + "/usr/sbin/phoneprovd"), "(not root) unpacked into " + prefix)
    try:
        sbin = prefix + "/usr/sbin/phoneprovd"
        cli = prefix + "/usr/bin/phoneprov"
        cfg = prefix + "/etc/phoneprov/phoneprov.yml"
        plugins = prefix + "/usr/share/phoneprov/plugins"
        if not ROOT:  # the scratch root's paths
            text = open(cfg).read().replace("/usr/share/phoneprov/plugins", plugins)
            with open(cfg, "w") as f:
                f.write(text)
        p = run([sbin, "--check"] if ROOT else [sbin, "-c", cfg, "--check"], cwd=work,
                env={k: v for k, v in os.environ.items() if k != "PHONEPROV_CONFIG"})
        t.ok(p.returncode == 0 and "ok (" in p.stdout and "/etc/phoneprov/phoneprov.yml" in p.stdout,
             "phoneprovd --check on the installed default: " + p.stdout.strip(), p.stderr)
        p = run([cli, "--json", "check-config"] if ROOT else [cli, "-c", cfg, "--json", "check-config"],
                cwd=work, env={k: v for k, v in os.environ.items() if k != "PHONEPROV_CONFIG"})
        t.ok(p.returncode == 0 and '"ok": true' in p.stdout,
             "phoneprov check-config finds the installed configuration", p.stdout + p.stderr)

        sa = shutil.which("systemd-analyze")
        units = [prefix + "/lib/systemd/system/phoneprovd.service",
                 prefix + "/lib/systemd/system/phoneprovd.socket"]
        if sa and ROOT:
            p = run([sa, "verify", "--man=no"] + units, timeout=120)
            ours = [l for l in (p.stdout + p.stderr).splitlines() if "phoneprovd." in l]
            t.ok(p.returncode == 0 and not ours, "systemd-analyze verify: the installed units",
                 p.stdout + p.stderr)
            p = run([sa, "security", "--offline=true", units[0]], timeout=120, cwd=work)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout + p.stderr)
            score = float(m.group(1)) if m else 99
            print(f"# systemd-analyze security phoneprovd.service: {score}", flush=True)
            t.ok(score <= 1.9, f"systemd-analyze security: {score} <= 1.9", p.stdout[-2000:])
        elif sa:
            t.skip("systemd-analyze on the installed units", "not root: tests/e2e/core/test_systemd.py checks the built ones")

        # ---- serve from the installed layout -----------------------------------
        pphelp.PHONEPROVD = sbin
        env = {k: v for k, v in os.environ.items() if k != "PHONEPROV_CLI"}
        with Daemon(plugins_dir=plugins, env=env,
                    extra={"log_level": "info",
                           "plugins": {"local_dir": prefix + "/etc/phoneprov/plugins.d"}}) as d:
            with open(os.path.join(d.root, "hello.txt"), "w") as f:
                f.write("hello from the installed layout\n")
            with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/hello.txt", timeout=10) as r:
                body = r.read().decode()
            t.ok(body == "hello from the installed layout\n", "installed daemon: HTTP GET", body)
            p = run(["curl", "-s", "--max-time", "10", f"tftp://127.0.0.1:{d.tftp_port}/hello.txt"])
            t.ok(p.stdout == "hello from the installed layout\n", "installed daemon: TFTP get (curl tftp://)",
                 p.stdout + p.stderr)
            p = run([cli, "-c", d.config_path, "devices", "add", "00:15:65:12:34:56", "--vendor=Yealink",
                     "--model=T46S", "--ip=127.0.0.1"])
            t.ok(p.returncode == 0, "installed CLI: devices add", p.stderr)
            with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/001565123456.cfg", timeout=10) as r:
                cfgtext = r.read().decode(errors="replace")
            t.ok("#!version:1.0.0.1" in cfgtext,
                 "a file rendered from the installed yealink plugin", cfgtext[:300])
            req = urllib.request.Request(f"http://127.0.0.1:{d.api_port}/api/v1/plugins/yealink/packages",
                                         headers={"Authorization": f"Bearer {d.token}"})
            with urllib.request.urlopen(req, timeout=60) as r:
                st = r.status
            t.ok(st == 200, "firmware list through the worker in /usr/libexec/phoneprov", st)
            lines = d.log_events("http.request")
            t.ok(any(e.get("path") == "/hello.txt" and e.get("status") == "200" for e in lines),
                 "an access log line per HTTP request", lines[-3:])
    finally:
        if ROOT:
            p = run(["dpkg", "--purge", "phoneprov", "phoneprov-plugins"])
            t.ok(p.returncode == 0 and not installed("phoneprov") and not installed("phoneprov-plugins")
                 and not os.path.exists("/etc/phoneprov") and not os.path.exists("/usr/sbin/phoneprovd"),
                 "purged: the machine is as it was", p.stdout + p.stderr)
            if made_policy:
                os.unlink(policy)
finally:
    shutil.rmtree(work, ignore_errors=True)
t.done()
