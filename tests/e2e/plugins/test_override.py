#!/usr/bin/python3
"""plugins.local_dir: <local_dir>/<plugin>/templates/<name>.mustache wins
over the plugin's template of that name (a partial too), survives the
plugin folder being replaced (a package upgrade), takes effect at a reload
and re-renders the devices; a broken local template is refused by --check
with its own path; without it the shipped template is back."""
import os
import shutil
import urllib.request

from pphelp import Daemon, PHONEPROVD, SRC, TapRunner, to_yaml
import subprocess
import time

t = TapRunner()
FIX = os.path.join(SRC, "tests", "e2e", "plugins", "fixtures")

d = Daemon(extra={"plugins": {"enabled": ["acme"]}})
shipped = os.path.join(d.tmp, "plugins")
local = os.path.join(d.tmp, "plugins.d")
shutil.copytree(os.path.join(FIX, "acme"), os.path.join(shipped, "acme"))
d.cfg["plugins"]["dir"] = shipped
d.cfg["plugins"]["local_dir"] = local  # does not exist yet: holds nothing
with open(d.config_path, "w") as f:
    f.write(to_yaml(d.cfg))


def get(path):
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/{path}",
                                 headers={"User-Agent": "ACME A100 2.0.1 mac=00:11:22:33:44:55"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def reload_and_wait():
    n = len(d.log_events("reload.done")) + len(d.log_events("reload.failed"))
    d.reload()
    for _ in range(100):
        if len(d.log_events("reload.done")) + len(d.log_events("reload.failed")) > n:
            return
        time.sleep(0.05)


with d:
    body = get("acme/001122334455.cfg")
    t.ok(body.startswith("# ACME A100 00:11:22:33:44:55"), "a missing local_dir: the shipped template",
         body[:200])
    os.makedirs(os.path.join(local, "acme", "templates"))
    with open(os.path.join(local, "acme", "templates", "phone.cfg.mustache"), "w") as f:
        f.write("# LOCAL {{device.model}} {{device.mac_colon}}\n{{> header}}\n")
    with open(os.path.join(local, "acme", "templates", "header.mustache"), "w") as f:
        f.write("local-header={{plugin.name}}\n")
    p = subprocess.run([PHONEPROVD, "-c", d.config_path, "--check"], capture_output=True, text=True,
                       timeout=60)
    t.ok(p.returncode == 0, "--check accepts the local templates", p.stderr)
    reload_and_wait()
    body = get("acme/001122334455.cfg")
    t.ok(body.startswith("# LOCAL A100 00:11:22:33:44:55\nlocal-header=acme"),
         "after a reload: the local template and the local partial win, the device re-rendered", body)
    d2 = get("acme/001122334455-dir.xml")
    t.ok(d2 and "LOCAL" not in d2, "a template without a local copy stays the shipped one", d2[:200])

    # a package upgrade replaces the plugin folder: the local folder stays and still wins
    shutil.rmtree(os.path.join(shipped, "acme"))
    shutil.copytree(os.path.join(FIX, "acme"), os.path.join(shipped, "acme"))
    with open(os.path.join(shipped, "acme", "templates", "common.cfg.mustache"), "a") as f:
        f.write("# upgraded\n")
    reload_and_wait()
    t.ok(get("acme/001122334455.cfg").startswith("# LOCAL A100"), "the plugin folder replaced: local still wins")
    t.ok("# upgraded" in get("acme/common.cfg"), "... and the upgrade's own changes apply")

    # a broken local template: refused with its path, the running one stays
    with open(os.path.join(local, "acme", "templates", "phone.cfg.mustache"), "w") as f:
        f.write("# LOCAL {{#open}}\n")
    p = subprocess.run([PHONEPROVD, "-c", d.config_path, "--check"], capture_output=True, text=True,
                       timeout=60)
    t.ok(p.returncode == 1 and "plugins.d/acme/templates/phone.cfg.mustache" in p.stderr,
         "--check refuses a broken local template, naming its file", p.stderr)
    reload_and_wait()
    t.ok(get("acme/001122334455.cfg").startswith("# LOCAL A100") and d.log_events("reload.failed"),
         "a reload with it fails and keeps the running templates", d.log_events("reload.failed")[-1:])

    # removed: the shipped template again
    shutil.rmtree(os.path.join(local, "acme"))
    reload_and_wait()
    body = get("acme/001122334455.cfg")
    t.ok(body.startswith("# ACME A100 00:11:22:33:44:55"), "local copy removed: the shipped template again",
         body[:200])
t.done()
