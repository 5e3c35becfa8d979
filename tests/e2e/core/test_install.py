#!/usr/bin/python3
"""`meson install` lays the product out by the FHS (into a scratch DESTDIR):
phoneprovd in sbin, phoneprov in bin, the firmware worker in libexec, the
plugins under share, the default configuration under etc (data, roots and
tokens under /var/lib/phoneprov), the units with the installed paths, docs,
man pages that `man -l` renders without a warning, and a bash completion
that completes commands, subcommands and options."""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile

from pphelp import BUILD, TapRunner

t = TapRunner()
dest = tempfile.mkdtemp(prefix="ppinst-")
try:
    p = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", dest],
                       capture_output=True, text=True, timeout=120)
    t.ok(p.returncode == 0, "meson install --destdir", p.stdout[-2000:] + p.stderr[-2000:])
    intro = json.loads(subprocess.run(["meson", "introspect", BUILD, "--buildoptions"],
                                      capture_output=True, text=True, timeout=60).stdout)
    opt = {o["name"]: o["value"] for o in intro}
    prefix = opt["prefix"]
    P = lambda *a: os.path.join(dest + prefix, *a)  # noqa: E731
    etc = opt["sysconfdir"] if opt["sysconfdir"].startswith("/") else os.path.join(prefix, opt["sysconfdir"])
    E = lambda *a: os.path.join(dest + etc, *a)  # noqa: E731
    for path, what in [(P(opt["sbindir"], "phoneprovd"), "phoneprovd in sbin"),
                       (P(opt["bindir"], "phoneprov"), "phoneprov in bin"),
                       (P(opt["libexecdir"], "phoneprov", "phoneprov-firmware-worker"),
                        "the firmware worker in libexec/phoneprov")]:
        t.ok(os.access(path, os.X_OK), what, path)
    t.ok(not os.path.exists(P(opt["bindir"], "phoneprovd")) and
         not os.path.exists(P(opt["bindir"], "phoneprov-firmware-worker")),
         "nothing else in bin")
    plugins = sorted(os.path.basename(os.path.dirname(p))
                     for p in glob.glob(P(opt["datadir"], "phoneprov", "plugins", "*", "plugin.yml")))
    t.ok(len(plugins) >= 10 and "yealink" in plugins and
         not os.path.exists(P(opt["datadir"], "phoneprov", "plugins", "meson.build")),
         f"{len(plugins)} plugins in share/phoneprov/plugins", plugins)
    cfg = E("phoneprov", "phoneprov.yml")
    text = open(cfg).read() if os.path.exists(cfg) else ""
    t.ok("data_dir: /var/lib/phoneprov" in text and "root: /var/lib/phoneprov/files" in text
         and "token_file: /var/lib/phoneprov/api-token" in text
         and f"dir: {prefix}/{opt['datadir']}/phoneprov/plugins" in text
         and "local_dir: " + etc + "/phoneprov/plugins.d" in text and "@" not in text,
         "the default configuration: data and roots in /var/lib/phoneprov, the installed plugins",
         text)
    t.ok(os.path.exists(E("phoneprov", "plugins.d", "README")), "plugins.d/README")
    units = glob.glob(dest + "/**/systemd/system/phoneprovd.service", recursive=True)
    unit = open(units[0]).read() if units else ""
    sbin = os.path.join(prefix, opt["sbindir"])
    t.ok(f"ExecStart={sbin}/phoneprovd -c {etc}/phoneprov/phoneprov.yml" in unit and
         f"ExecReload={sbin}/phoneprovd -c {etc}/phoneprov/phoneprov.yml --check" in unit,
         "the unit runs the installed phoneprovd on the installed configuration", units)
    t.ok(glob.glob(dest + "/**/systemd/system/phoneprovd.socket", recursive=True), "the socket unit")
    docs = P(opt["datadir"], "doc", "phoneprov")
    t.ok(all(os.path.exists(os.path.join(docs, f)) for f in ("README.md", "config.md", "api.md",
                                                            "openapi.json")),
         "README, docs and the OpenAPI document in share/doc/phoneprov", os.listdir(docs) if os.path.isdir(docs) else docs)

    # man pages: rendered by man -l, no warning from groff
    mandir = P(opt["mandir"])
    for page, sec in (("phoneprov", 1), ("phoneprovd", 8), ("phoneprov.yml", 5)):
        path = os.path.join(mandir, f"man{sec}", f"{page}.{sec}")
        env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
        p = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                           timeout=60, env=env)
        out = p.stdout
        t.ok(p.returncode == 0 and not p.stderr.strip() and page.upper() in out.split("\n")[0].upper()
             and "@" not in out and "SEE ALSO" in out,
             f"man -l {page}({sec}) renders, no warning", p.stderr[-1500:] + out[:300])
    page8 = subprocess.run(["man", "-l", os.path.join(mandir, "man8", "phoneprovd.8")],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, MANWIDTH="200")).stdout
    t.ok(f"{etc}/phoneprov/phoneprov.yml" in page8 and "MONOTONIC_USEC" in page8,
         "phoneprovd(8) names the installed configuration", page8[:400])

    # bash completion
    comp = glob.glob(dest + "/**/bash-completion/completions/phoneprov", recursive=True)
    t.ok(comp and os.path.islink(os.path.join(os.path.dirname(comp[0]), "phoneprovd")),
         "bash completion for phoneprov (and phoneprovd)", comp)
    bc = "/usr/share/bash-completion/bash_completion"
    if comp and os.path.exists(bc):
        def complete(line):
            words = line.split(" ")
            script = (f"source {bc}; source {comp[0]}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
                      f"COMP_CWORD={len(words) - 1}; COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; "
                      f"_{'phoneprovd' if words[0] == 'phoneprovd' else 'phoneprov'}; "
                      "printf '%s\\n' \"${COMPREPLY[@]}\"")
            r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                               env=dict(os.environ, PATH="/nonexistent:" + os.environ["PATH"]))
            return sorted(r.stdout.split())
        t.ok(complete("phoneprov con") == ["configs"], "complete 'phoneprov con'", complete("phoneprov con"))
        t.ok(complete("phoneprov devices ") == ["add", "list", "rm", "set", "show"],
             "complete 'phoneprov devices '", complete("phoneprov devices "))
        got = complete("phoneprov configs set x --no")
        t.ok(got == ["--no-parents"], "complete 'phoneprov configs set x --no'", got)
        got = complete("phoneprov dhcpd-config --format ")
        t.ok(got == ["isc", "kea"], "complete 'phoneprov dhcpd-config --format '", got)
        got = complete("phoneprovd --ch")
        t.ok(got == ["--check"], "complete 'phoneprovd --ch'", got)
    else:
        t.ok(False, "bash-completion is installed (scripts/deps.sh)", bc)
finally:
    shutil.rmtree(dest, ignore_errors=True)
t.done()
