#!/usr/bin/python3
"""One owner of device state (daemon/provision/), end to end on 127.0.0.1.

A real phoneprovd with the test plugins acme and zeta (tests/e2e/plugins/
fixtures), each with a C hooks module (hooks_events.so, argv[1]) that writes
one line per hook call. Asserts:
- hooks fire exactly once per change on every path: API, CLI and phone
  traffic (create, update, delete; a re-association is a delete for the old
  plugin and a create for the new one); fini runs on the main thread;
- the ETag of a rendered file is the same on its first GET, its second GET
  and in `render --explain`;
- PUT keeps the device's record of its rendered files, so a DELETE removes
  them from LMDB and disk, also after a PUT that moved the device to
  another plugin;
- a DELETE racing renders never leaves a file on disk, and concurrent
  re-renders of one device leave the disk equal to what is served."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from pphelp import Daemon, TapRunner, SRC, mirrored, to_yaml

FIX = os.path.join(SRC, "tests", "e2e", "plugins", "fixtures")
t = TapRunner()


def http(d, path, ua=None):
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/{path}")
    if ua:
        req.add_header("User-Agent", ua)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def api(d, method, path, body=None, admin=False):
    return d.api(method, path, body, admin=admin, timeout=20)


class Events:
    def __init__(self, path):
        self.path = path
        self.pos = 0

    def _lines(self):
        try:
            with open(self.path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def new(self, expect=0):
        """Hook lines written since the last call. A phone's hooks run on
        the provisioning worker after the phone was answered: with expect=N
        wait (up to 10 s) for N lines, then a little more for any extra."""
        deadline = time.monotonic() + 10
        while len(self._lines()) - self.pos < expect and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1 if expect else 0.05)
        lines = self._lines()
        out, self.pos = lines[self.pos:], len(lines)
        return out


def plugins_with_hooks(tmp, so, events):
    pdir = os.path.join(tmp, "plugins")
    for name in ("acme", "zeta"):
        shutil.copytree(os.path.join(FIX, name), os.path.join(pdir, name))
        shutil.copy(so, os.path.join(pdir, name, "hooks.so"))
    return pdir


def file_gone(path, wait=10):
    """The disk mirror follows a phone's change on its own thread: wait for
    the file to go (10 s at most)."""
    deadline = time.monotonic() + wait
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not os.path.exists(path)


def disk(d, rel):
    return os.path.join(d.data_dir, "tftpboot", rel)


def main():
    so = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="ppstate-")
    evfile = os.path.join(tmp, "hooks.log")
    pdir = plugins_with_hooks(tmp, so, evfile)
    settings = {"acme": {"events_file": evfile}, "zeta": {"events_file": evfile}}
    ev = Events(evfile)
    try:
        # the race rounds below fetch files of deleted devices: no ban here
        extra = {"plugins": {"settings": settings}, "security": {"unknown_mac_limit": 100000,
                                                                "unknown_mac_limit_per_net": 0}}
        with Daemon(plugins_dir=pdir, extra=extra) as d:
            # --- API ---------------------------------------------------------
            m1 = "00:11:22:00:00:01"
            st, j = api(d, "POST", "/devices", {"mac": m1, "vendor": "ACME", "model": "A100",
                                                "plugin": "acme"})
            t.ok(st == 201, "API create: 201", (st, j))
            t.ok(ev.new() == [f"create {m1} acme"], "API create fires on_device_create once")
            st, j = api(d, "PATCH", f"/devices/{m1}", {"description": "desk 12"})
            t.ok(st == 200 and ev.new() == [f"update {m1} acme"],
                 "API PATCH fires on_device_update once", (st, j))
            st, j = api(d, "PATCH", f"/devices/{m1}", {"description": "desk 12"})
            lines = ev.new()
            t.ok(st == 200 and lines == [], "a PATCH that changes nothing fires nothing", lines)
            st, _ = api(d, "DELETE", f"/devices/{m1}")
            t.ok(st == 204 and ev.new() == [f"delete {m1} acme"],
                 "API DELETE fires on_device_delete once", st)

            # --- CLI ---------------------------------------------------------
            m2 = "00:11:22:00:00:02"
            p = d.cli("devices", "add", m2, "--vendor", "ACME", "--model", "A100",
                      "--plugin", "acme")
            lines = [l for l in ev.new() if not l.startswith("fini")]
            t.ok(p.returncode == 0 and lines == [f"create {m2} acme"],
                 "CLI devices add fires on_device_create once", (p.stderr, lines))
            p = d.cli("render", m2)
            lines = [l for l in ev.new() if not l.startswith("fini")]
            t.ok(p.returncode == 0 and lines == [], "render of an unchanged device fires nothing",
                 (p.stderr, lines))
            p = d.cli("devices", "rm", m2)
            lines = [l for l in ev.new() if not l.startswith("fini")]
            t.ok(p.returncode == 0 and lines == [f"delete {m2} acme"],
                 "CLI devices rm fires on_device_delete once", (p.stderr, lines))

            # --- phone traffic ------------------------------------------------
            m3, f3 = "00:11:22:00:00:03", "acme/001122000003.cfg"
            st, body, h1 = http(d, f3, ua=f"ACME A100 2.0.1 mac={m3}")
            t.ok(st == 200 and ev.new(1) == [f"create {m3} acme"],
                 "a phone's first fetch fires on_device_create once", (st, body[:200]))
            st, body2, h2 = http(d, f3, ua=f"ACME A100 2.0.1 mac={m3}")
            t.ok(st == 200 and ev.new() == [], "fetching again changes nothing, fires nothing")
            # ETag: first GET (rendered in that request), second GET, explain
            p = d.cli("--json", "render", m3, "--explain")
            ex = json.loads(p.stdout) if p.returncode == 0 else {}
            etags = {f["path"]: f["etag"] for f in ex.get("files", [])}
            t.ok(h1.get("ETag") and h1.get("ETag") == h2.get("ETag") == etags.get(f3),
                 "one ETag for a rendered file: first GET, second GET, render --explain",
                 (h1.get("ETag"), h2.get("ETag"), etags))
            ev.new()  # render --explain re-renders: not part of the phone path
            # the phone reports zeta's firmware: zeta scores EXACT, acme COMPLETE
            st, _, _ = http(d, "zeta/001122000003.cfg", ua=f"ACME A100 9.9 mac={m3}")
            t.ok(ev.new(2) == [f"delete {m3} acme", f"create {m3} zeta"],
                 "re-association by phone traffic: delete for acme, create for zeta")
            t.ok(http(d, f3)[0] == 404 and file_gone(disk(d, f3)),
                 "the old plugin's per-MAC file is gone from disk and from HTTP")

            # --- PUT keeps the render record -------------------------------------
            m4, f4 = "00:11:22:00:00:04", "acme/001122000004.cfg"
            st, j = api(d, "POST", "/devices", {"mac": m4, "vendor": "ACME", "model": "A100",
                                                "plugin": "acme"})
            t.ok(st == 201 and os.path.exists(disk(d, f4)), "device rendered on create", (st, j))
            st, j = api(d, "PUT", f"/devices/{m4}", {"mac": m4, "vendor": "ACME", "model": "A100",
                                                     "plugin": "acme", "description": "put"})
            t.ok(st == 200 and f4 in (j.get("render") or {}).get("files", []),
                 "PUT keeps the record of the rendered files", j)
            st, j = api(d, "PUT", f"/devices/{m4}", {"mac": m4, "vendor": "ACME", "model": "A100",
                                                     "plugin": "zeta"})
            t.ok(st == 200 and not os.path.exists(disk(d, f4)) and http(d, f4)[0] == 404,
                 "PUT to another plugin removes the old plugin's file (disk and HTTP)", j)
            st, _ = api(d, "DELETE", f"/devices/{m4}")
            z4 = "zeta/001122000004.cfg"
            t.ok(st == 204 and not os.path.exists(disk(d, z4)) and http(d, z4)[0] == 404,
                 "DELETE after PUT removes every file rendered for the device")
            ev.new()

            # --- DELETE racing renders ------------------------------------------
            left = []
            for r in range(15):
                mac = f"00:11:22:00:01:{r:02x}"
                rel = "acme/" + mac.replace(":", "") + ".cfg"
                api(d, "POST", "/devices", {"mac": mac, "vendor": "ACME", "model": "A100",
                                            "plugin": "acme"})
                stop = threading.Event()

                def render_loop():
                    while not stop.is_set():
                        api(d, "POST", f"/devices/{mac}/reconfigure")
                        http(d, rel, ua=f"ACME A100 2.0.1 mac={mac}")

                th = [threading.Thread(target=render_loop) for _ in range(3)]
                for x in th:
                    x.start()
                time.sleep(0.05)
                st, _ = api(d, "DELETE", f"/devices/{mac}")
                stop.set()
                for x in th:
                    x.join()
                gone = api(d, "GET", f"/devices/{mac}")[0] == 404
                # a fetch after the delete may re-create the device (autoprov);
                # then its file must be there, else it must not
                if gone and os.path.exists(disk(d, rel)):
                    left.append(rel)
                if not gone:
                    api(d, "DELETE", f"/devices/{mac}")
                    if os.path.exists(disk(d, rel)):
                        left.append(rel)
            t.ok(not left, "15 rounds of DELETE racing renders: no file left on disk", left)

            # --- concurrent re-renders: disk = what is served ---------------------
            m5, f5 = "00:11:22:00:00:05", "acme/001122000005.cfg"
            api(d, "POST", "/configs", {"id": "c5", "raw_config": {"ntp_ip": "192.0.2.1"}},
                admin=True)
            api(d, "POST", "/devices", {"mac": m5, "vendor": "ACME", "model": "A100",
                                        "plugin": "acme", "config": "c5"})

            def writer(k):
                for i in range(10):
                    api(d, "PUT", "/configs/c5", {"id": "c5",
                                                  "raw_config": {"ntp_ip": f"192.0.2.{k * 10 + i}"}},
                        admin=True)

            th = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
            for x in th:
                x.start()
            for x in th:
                x.join()
            st, served, _ = http(d, f5, ua=f"ACME A100 2.0.1 mac={m5}")
            # the mirror is written by its own thread after the commit: waited for
            ondisk = mirrored(disk(d, f5), want=served, timeout=20)
            t.ok(st == 200 and served == ondisk,
                 "after 40 concurrent config changes the disk file equals the served one",
                 (served[:120], ondisk[:120]))

            # --- fini on the main thread ------------------------------------------
            # a SIGHUP that changes neither hooks.so nor the settings keeps the
            # instances (docs/flavors.md, "One instance"): no fini
            d.proc.send_signal(1)
            time.sleep(1.0)
            fini = [l for l in ev.new() if l.startswith("fini")]
            t.ok(fini == [], "SIGHUP with the same module and settings keeps both instances",
                 fini)
            # new settings: each old instance is retired (fini, main thread)
            # before its successor starts
            d.cfg["plugins"]["settings"]["acme"]["round"] = 2
            d.cfg["plugins"]["settings"]["zeta"]["round"] = 2
            with open(d.config_path, "w") as f:
                f.write(to_yaml(d.cfg))
            d.proc.send_signal(1)
            time.sleep(1.0)
            fini = [l for l in ev.new() if l.startswith("fini")]
            t.ok(len(fini) == 2 and all(l.split()[1] == l.split()[2] for l in fini),
                 "after a SIGHUP with new settings both plugins' fini ran on the main thread",
                 fini)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
