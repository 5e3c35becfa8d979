#!/usr/bin/python3
"""The administration commands of phoneprov: configs list|show|add|set|rm,
devices set, reconfigure, synchronize (through the running daemon's API, a
real SIP NOTIFY caught on a UDP socket), status (running and not);
--opt=value and --opt value alike on every command; JSON errors under
--json; where the CLI finds its configuration (-c, $PHONEPROV_CONFIG,
./phoneprov.yml)."""
import json
import os
import shutil
import socket
import subprocess

from pphelp import PHONEPROV, Daemon, SipPhone, TapRunner, free_port

t = TapRunner()


def run(*args, cwd=None, env=None):
    e = dict(os.environ)
    e.pop("PHONEPROV_CONFIG", None)
    e.update(env or {})
    return subprocess.run([PHONEPROV] + list(args), capture_output=True, text=True, timeout=60,
                          cwd=cwd, env=e)


def js(p):
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


with Daemon() as d:
    c = ["-c", d.config_path]
    # ---- configs --------------------------------------------------------------
    p = run(*c, "configs", "add", "base", "--description=company defaults", "timezone=Europe/Paris",
            "X_sip.port:=5060", "X_sip.proxy=192.0.2.10")
    t.ok(p.returncode == 0 and p.stdout.strip() == "added base", "configs add base KEY=VALUE KEY:=JSON",
         p.stdout + p.stderr)
    p = run(*c, "--json", "configs", "show", "base")
    cfg = js(p) or {}
    t.ok(cfg.get("raw_config") == {"timezone": "Europe/Paris", "X_sip": {"port": 5060, "proxy": "192.0.2.10"}}
         and cfg.get("description") == "company defaults", "configs show --json: typed, dotted keys", p.stdout)
    p = run(*c, "configs", "add", "site", "--parent", "base", "--raw", '{"timezone": "UTC"}', "--json")
    cfg = js(p) or {}
    t.ok(p.returncode == 0 and cfg.get("parent_ids") == ["base"] and cfg.get("raw_config") == {"timezone": "UTC"},
         "configs add --parent base --raw JSON (--opt value)", p.stdout + p.stderr)
    p = run(*c, "configs", "add", "site")
    t.ok(p.returncode == 1 and "exists" in p.stderr, "configs add of an existing id fails", p.stderr)
    p = run(*c, "configs", "add", "other", "--parent=nosuch")
    t.ok(p.returncode == 1 and "no such config" in p.stderr, "an unknown parent is refused", p.stderr)
    p = run(*c, "configs", "add", ".bad")
    t.ok(p.returncode == 2 and "not a config id" in p.stderr, "a bad id: usage error", p.stderr)
    p = run(*c, "configs", "set", "site", "timezone=CET", "--description=the office", "X_lang=fr")
    p2 = run(*c, "--json", "configs", "show", "site")
    cfg = js(p2) or {}
    t.ok(p.returncode == 0 and cfg.get("raw_config") == {"timezone": "CET", "X_lang": "fr"}
         and cfg.get("parent_ids") == ["base"] and cfg.get("description") == "the office",
         "configs set: changed keys, the rest kept", (p.stderr, p2.stdout))
    p = run(*c, "configs", "set", "site", "--unset=X_lang", "--no-parents")
    cfg = js(run(*c, "--json", "configs", "show", "site")) or {}
    t.ok(p.returncode == 0 and cfg.get("raw_config") == {"timezone": "CET"} and cfg.get("parent_ids") == [],
         "configs set --unset=KEY --no-parents", (p.stderr, cfg))
    p = run(*c, "configs", "set", "site", "--parent=site")
    t.ok(p.returncode == 1 and "itself" in p.stderr, "a config cannot inherit from itself", p.stderr)
    p = run(*c, "configs", "set", "nosuch", "a=b")
    t.ok(p.returncode == 1 and "no config nosuch" in p.stderr, "configs set of a missing id", p.stderr)
    p = run(*c, "configs", "list")
    t.ok(p.returncode == 0 and p.stdout.splitlines()[0].startswith("ID") and
         [l.split()[0] for l in p.stdout.splitlines()[1:]] == ["base", "site"], "configs list", p.stdout)
    p = run(*c, "--json", "configs")
    t.ok([x["id"] for x in js(p) or []] == ["base", "site"], "configs --json (list by default)", p.stdout)
    # the API sees what the CLI wrote: the same store, the same module
    ev = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {d.token}",
                         f"http://127.0.0.1:{d.api_port}/api/v1/configs/site"],
                        capture_output=True, text=True, timeout=10)
    t.ok((json.loads(ev.stdout) or {}).get("raw_config") == {"timezone": "CET"},
         "the running daemon's API reads the config the CLI wrote", ev.stdout)

    # ---- devices set / reconfigure ---------------------------------------------
    p = run(*c, "devices", "add", "00:15:65:aa:bb:01", "--vendor=Yealink", "--model=T46S",
            "--ip=127.0.0.1")
    t.ok(p.returncode == 0, "devices add --opt=value", p.stderr)
    p = run(*c, "--json", "devices", "set", "001565aabb01", "--config=site", "--description", "desk 1")
    dev = js(p) or {}
    t.ok(p.returncode == 0 and dev.get("config") == "site" and dev.get("description") == "desk 1"
         and dev.get("plugin") == "yealink" and dev.get("render", {}).get("files"),
         "devices set: fields changed, associated and rendered in the same transaction", p.stdout + p.stderr)
    p = run(*c, "--json", "devices", "set", "001565aabb01", "--description=")
    dev = js(p) or {}
    t.ok(p.returncode == 0 and "description" not in dev, "devices set --description= removes it", p.stdout)
    p = run(*c, "devices", "set", "00:15:65:aa:bb:99", "--vendor=X")
    t.ok(p.returncode == 1 and "no such device" in p.stderr, "devices set of a missing device", p.stderr)
    p = run(*c, "devices", "set", "00:15:65:aa:bb:01")
    t.ok(p.returncode == 2 and "nothing to change" in p.stderr, "devices set without a field", p.stderr)
    p = run(*c, "devices", "set", "00:15:65:aa:bb:01", "--state=new")
    t.ok(p.returncode == 2 and "set by the server" in p.stderr, "devices set --state refused", p.stderr)
    p = run(*c, "configs", "rm", "site")
    t.ok(p.returncode == 1 and "in use" in p.stderr, "configs rm of a config a device uses", p.stderr)
    p = run(*c, "reconfigure", "00:15:65:aa:bb:01")
    t.ok(p.returncode == 0 and p.stdout.strip() == "reconfigured 00:15:65:aa:bb:01", "reconfigure MAC",
         p.stdout + p.stderr)
    p = run(*c, "--json", "reconfigure", "00:15:65:aa:bb:01", "00:15:65:aa:bb:77")
    r = js(p) or []
    t.ok(p.returncode == 1 and [x["reconfigured"] for x in r] == [True, False],
         "reconfigure: one of two missing -> exit 1, both reported", p.stdout)

    # ---- synchronize: the daemon sends the NOTIFY ---------------------------------
    phone = SipPhone(200, "OK")
    sport = phone.port
    p = run(*c, "synchronize", "00:15:65:aa:bb:01", f"--port={sport}")
    msg = phone.received[0][1] if phone.received else ""
    t.ok(p.returncode == 0 and msg.startswith("NOTIFY sip:001565aabb01@127.0.0.1") and
         "Event: check-sync" in msg and "answered 200 OK" in p.stdout,
         "synchronize MAC --port=N: the phone gets the NOTIFY, the CLI prints its 200",
         p.stdout + p.stderr + msg)
    p = run(*c, "--json", "synchronize", "00:15:65:aa:bb:01", "--port", str(sport))
    j = js(p) or {}
    t.ok(p.returncode == 0 and j.get("state") == "ok" and j.get("kind") == "synchronize"
         and (j.get("result") or {}).get("event", "").startswith("check-sync")
         and j["result"].get("code") == 200, "synchronize --json: the operation, ok",
         p.stdout + p.stderr)
    p = run(*c, "synchronize", "00:15:65:aa:bb:77")
    t.ok(p.returncode == 1 and "no such device" in p.stderr, "synchronize an unknown device", p.stderr)
    phone.close()
    phone = SipPhone(486, "Busy Here")
    p = run(*c, "synchronize", "00:15:65:aa:bb:01", f"--port={phone.port}")
    t.ok(p.returncode == 1 and "refused: 486 Busy Here" in p.stderr,
         "synchronize refused by the phone: exit 1 with the code", p.stdout + p.stderr)
    phone.close()

    # ---- status ---------------------------------------------------------------------
    p = run(*c, "status")
    t.ok(p.returncode == 0 and p.stdout.startswith("phoneprovd running (api ") and "devices" in p.stdout,
         "status: the running daemon", p.stdout + p.stderr)
    st = js(run(*c, "--json", "status")) or {}
    t.ok(st.get("running") is True and st.get("version") and st.get("devices", {}).get("configured") == 1
         and isinstance(st.get("uptime_s"), int), "status --json: version, uptime, devices by state", st)

    # ---- --json errors ------------------------------------------------------------------
    for args in (["devices", "show", "00:15:65:aa:bb:77"], ["configs", "show", "nosuch"],
                 ["devices", "add", "nonsense"], ["configs", "frob"], ["devices", "list", "--bogus"]):
        p = run(*c, "--json", *args)
        j = js(p)
        t.ok(p.returncode != 0 and isinstance(j, dict) and j.get("error") and j.get("exit") == p.returncode
             and p.stderr.strip(), f"--json {' '.join(args)}: the error as JSON on stdout too",
             (p.returncode, p.stdout, p.stderr))
    p = run(*c, "devices", "show", "00:15:65:aa:bb:77", "--json")
    t.ok((js(p) or {}).get("error", "").endswith("no device 00:15:65:aa:bb:77"),
         "--json after the command too", p.stdout)

with Daemon() as d:
    c = ["--config=" + d.config_path]
    d.stop()
    p = run(*c, "status")
    t.ok(p.returncode == 3 and p.stdout.startswith("phoneprovd not running:"), "status, stopped: exit 3",
         p.stdout + p.stderr)
    st = js(run(*c, "--json", "status")) or {}
    t.ok(st.get("running") is False and st.get("plugins", 0) > 0, "status --json, stopped", st)
    p = run(*c, "synchronize", "00:15:65:aa:bb:01")
    t.ok(p.returncode == 1 and "does not answer" in p.stderr, "synchronize needs the daemon", p.stderr)

    # ---- --opt=value on every command -----------------------------------------------
    forms = [
        (["records", "--since=0", "--limit=5"], 0),
        (["records", "--since", "0", "--limit", "5"], 0),
        (["dhcpd-config", "--format=kea"], 0),
        (["render", "00:15:65:aa:bb:01", "--explain"], 1),  # no such device, but parsed
        (["identify", "--user-agent=Yealink SIP-T46S 66.86.0.15 00:15:65:aa:bb:cc"], 0),
        (["devices", "list", "--vendor=Yealink"], 0),
        (["configs", "list"], 0),
        (["plugins", "--json"], 0),
        (["check-config"], 0),
        (["firmware", "list", "yealink"], 0),
    ]
    for args, rc in forms:
        p = run(*c, *args)
        t.ok(p.returncode == rc, f"phoneprov --config=FILE {' '.join(args)}: exit {rc}",
             p.stdout[-500:] + p.stderr[-500:])
    for args in (["records", "--limit"], ["dhcpd-config", "--format"], ["devices", "add", "--ip"]):
        p = run(*c, *args)
        t.ok(p.returncode == 2 and "needs a value" in p.stderr, f"{' '.join(args)} without a value: usage error",
             p.stderr)
    p = run(*c, "records", "--limit=x")
    t.ok(p.returncode == 2 and "--limit needs a number" in p.stderr, "records --limit=x", p.stderr)
    p = run(*c, "dhcpd-config", "--format=xml")
    t.ok(p.returncode == 2 and "use isc or kea" in p.stderr, "dhcpd-config --format=xml", p.stderr)

    # ---- where the configuration comes from ---------------------------------------
    p = run("check-config", env={"PHONEPROV_CONFIG": d.config_path}, cwd="/")
    t.ok(p.returncode == 0 and d.config_path in p.stdout, "$PHONEPROV_CONFIG", p.stdout + p.stderr)
    shutil.copy(d.config_path, os.path.join(d.tmp, "copy.yml"))
    os.rename(d.config_path, d.config_path + ".moved")
    shutil.copy(d.config_path + ".moved", os.path.join(d.tmp, "phoneprov.yml"))
    p = run("check-config", cwd=d.tmp)
    t.ok(p.returncode == 0 and os.path.join(d.tmp, "phoneprov.yml") in p.stdout,
         "./phoneprov.yml when it exists", p.stdout + p.stderr)
    p = run("-c", os.path.join(d.tmp, "copy.yml"), "check-config", cwd=d.tmp,
            env={"PHONEPROV_CONFIG": "/nonexistent.yml"})
    t.ok(p.returncode == 0 and "copy.yml" in p.stdout, "-c wins over $PHONEPROV_CONFIG and ./phoneprov.yml",
         p.stdout + p.stderr)
    p = run("check-config", cwd="/")
    t.ok(p.returncode == 1 and "etc/phoneprov/phoneprov.yml" in p.stderr,
         "else the installed default (named in the error)", p.stderr)
t.done()
