#!/usr/bin/python3
"""General settings (issue 14): ip, http_port, tftp_port, http_base_url and
tftp_server are the lowest layer of every device's effective config, from
the listen addresses or provisioning.public_url, so that a never-seen phone
with only the shipped defaults is told where to come back.

- a never-seen Yealink T46S (HTTP GET /<mac>.cfg, Yealink User-Agent) gets
  auto_provision.server.url = http://127.0.0.1:<http port>/;
- provisioning.public_url set: the file carries it; a SIGHUP with another
  public_url re-renders the device (disk mirror, no fetch needed);
- a config of the chain setting http_base_url wins, and so does a plugin's
  autoprov default;
- a wildcard http.listen without public_url: no URL and one warning naming
  provisioning.public_url;
- render --explain names the source of each value."""
import json
import os
import re
import socket
import shutil
import tempfile
import time
import urllib.request

from pphelp import SRC, Daemon, TapRunner, free_port, to_yaml

t = TapRunner()
UA = "Yealink SIP-T46S 66.86.0.15"


def get(d, mac):
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/{mac}.cfg",
                                 headers={"User-Agent": UA})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def server_url(text):
    m = re.search(r"^static\.auto_provision\.server\.url = (.*)$", text, re.M)
    return m.group(1) if m else None


def api(d, method, path, body=None, admin=True):
    return d.api(method, path, body, admin=admin, raw=True)


def explain(d, mac):
    p = d.cli("--json", "render", mac, "--explain")
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"error": p.stdout + p.stderr}


def mirror(d, mac):
    try:
        with open(os.path.join(d.data_dir, "tftpboot", mac + ".cfg")) as f:
            return f.read()
    except OSError:
        return ""


def wait_for(fn, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


# ---- the listen address --------------------------------------------------------
with Daemon() as d:
    mac = "805ec0a10001"
    st, body = get(d, mac)
    want = f"http://127.0.0.1:{d.http_port}/"
    t.ok(st == 200 and server_url(body) == want,
         "never-seen T46S, shipped defaults: the file points back at http.listen",
         f"{st} {server_url(body)!r} want {want!r}\n{body[:400]}")
    t.ok(f"remote_phonebook.data.1.url = http://127.0.0.1:{d.http_port}/{mac}-directory.xml"
         in body, "the phonebook URL is built from the same base (no double slash)", body[:600])
    ex = explain(d, "80:5e:c0:a1:00:01")
    g = ex.get("general_settings", {})
    t.ok(g.get("http_base_url") == {"value": f"http://127.0.0.1:{d.http_port}",
                                    "source": "general settings (http.listen)"},
         "render --explain: http_base_url from http.listen", g)
    t.ok(g.get("ip", {}).get("value") == "127.0.0.1" and
         g.get("http_port", {}).get("value") == d.http_port and
         g.get("tftp_port", {}).get("value") == d.tftp_port and
         g.get("tftp_server", {}).get("value") == f"127.0.0.1:{d.tftp_port}" and
         g.get("tftp_server", {}).get("source") == "general settings (tftp.listen)",
         "render --explain: ip, http_port, tftp_port, tftp_server", g)
    merged = ex.get("config_merged", {})
    t.ok(merged.get("http_base_url") == f"http://127.0.0.1:{d.http_port}" and
         merged.get("tftp_port") == d.tftp_port, "config_merged carries the general settings",
         merged)

    # a config of the chain overrides them
    st1, _ = api(d, "POST", "/configs", {"id": "site", "raw_config": {
        "http_base_url": "http://192.0.2.55:8080/prov"}})
    st2, _ = api(d, "POST", "/configs", {"id": "alice", "parent_ids": ["site"],
                                         "raw_config": {"ntp_ip": "192.0.2.1"}})
    st3, _ = api(d, "PATCH", "/devices/80:5e:c0:a1:00:01", {"config": "alice"})
    st, body = get(d, mac)
    t.ok(st1 == 201 and st2 == 201 and st3 in (200, 204) and
         server_url(body) == "http://192.0.2.55:8080/prov/",
         "a config (parent of the device's) setting http_base_url wins",
         f"{st1} {st2} {st3} {server_url(body)!r}")
    g = explain(d, mac).get("general_settings", {})
    t.ok(g.get("http_base_url") == {"value": "http://192.0.2.55:8080/prov",
                                    "source": "config site"} and
         g.get("ip", {}).get("source") == "general settings (http.listen)",
         "render --explain names the config that set it", g)

# ---- provisioning.public_url, then a SIGHUP changing it --------------------------
with Daemon(extra={"provisioning": {"public_url": "https://prov.example.com/base/"}}) as d:
    mac = "805ec0a10002"
    st, body = get(d, mac)
    t.ok(st == 200 and server_url(body) == "https://prov.example.com/base/",
         "provisioning.public_url: the file carries it (one slash)", server_url(body))
    g = explain(d, mac).get("general_settings", {})
    t.ok(g.get("http_base_url") == {"value": "https://prov.example.com/base",
                                    "source": "provisioning.public_url"} and
         g.get("ip") == {"value": "prov.example.com", "source": "provisioning.public_url"} and
         g.get("http_port", {}).get("value") == 443,
         "render --explain: values from provisioning.public_url (https: port 443)", g)
    before = wait_for(lambda: "prov.example.com" in mirror(d, mac) and mirror(d, mac))
    d.cfg["provisioning"]["public_url"] = "http://192.0.2.10:8667"
    with open(d.config_path, "w") as f:
        f.write(to_yaml(d.cfg))
    d.reload()
    after = wait_for(lambda: "192.0.2.10" in mirror(d, mac) and mirror(d, mac))
    t.ok(bool(before) and server_url(after or "") == "http://192.0.2.10:8667/",
         "SIGHUP with a new public_url re-renders the device (disk mirror, no fetch)",
         f"{server_url(before or '')!r} -> {server_url(after or '')!r}")
    st, body = get(d, mac)
    t.ok(server_url(body) == "http://192.0.2.10:8667/", "and serves the new URL",
         server_url(body))
    t.ok(not d.log_events("config.no_public_url"), "no warning when public_url is set")
    rc = d.stop()
    t.ok(rc == 0, "phoneprovd stops cleanly after the reload (exit 0; leaks fail it under ASan)",
         f"exit {rc}\n" + d.read_log()[-3000:])

# ---- a plugin's autoprov default wins over the general settings --------------------
plugdir = tempfile.mkdtemp(prefix="ppgen-")
try:
    shutil.copytree(os.path.join(SRC, "plugins", "yealink"), os.path.join(plugdir, "yealink"))
    yml = os.path.join(plugdir, "yealink", "plugin.yml")
    with open(yml) as f:
        text = f.read()
    text2 = text.replace("\nautoprov:\n", "\nautoprov:\n  http_base_url: http://192.0.2.77:81\n", 1)
    with open(yml, "w") as f:
        f.write(text2)
    with Daemon(plugins_dir=plugdir) as d:
        st, body = get(d, "805ec0a10003")
        t.ok(text2 != text and st == 200 and server_url(body) == "http://192.0.2.77:81/",
             "the plugin's autoprov default wins over the general settings", server_url(body))
        g = explain(d, "805ec0a10003").get("general_settings", {})
        t.ok(g.get("http_base_url") == {"value": "http://192.0.2.77:81",
                                        "source": "plugin yealink autoprov default"},
             "render --explain names the autoprov default", g)
finally:
    shutil.rmtree(plugdir, ignore_errors=True)

# ---- a wildcard listen without public_url ---------------------------------------
hp, tp = free_port(), free_port(socket.SOCK_DGRAM)
with Daemon(extra={"http": {"listen": f"0.0.0.0:{hp}"}, "tftp": {"listen": f"0.0.0.0:{tp}"}}) as d:
    d.http_port = hp
    st, body = get(d, "805ec0a10004")
    t.ok(st == 200 and server_url(body) is None and "auto_provision.server.url" not in body
         and "http://" not in body and "tftp://" not in body,
         "wildcard listens, no public_url: no server URL in the file",
         f"{st} {server_url(body)!r}\n{body[:300]}")
    w = d.log_events("config.no_public_url")
    t.ok(len(w) == 1 and "provisioning.public_url" in w[0].get("message", "") and
         "wildcard" in w[0].get("message", ""),
         "one warning at start naming provisioning.public_url", w)
    g = explain(d, "805ec0a10004").get("general_settings", {})
    t.ok(g.get("http_base_url", {}).get("value") is None and g.get("ip", {}).get("value") is None
         and "provisioning.public_url" in g.get("http_base_url", {}).get("source", "")
         and g.get("tftp_server") == {"value": None,
                                      "source": "not set: tftp.listen is a wildcard address"}
         and g.get("tftp_port", {}).get("value") == tp,
         "render --explain says why there is no URL", g)
    d.reload()
    t.ok(wait_for(lambda: len(d.log_events("config.no_public_url")) == 2, 20),
         "the warning again at SIGHUP", d.log_events("config.no_public_url"))
    rc = d.stop()
    t.ok(rc == 0, "phoneprovd stops cleanly (exit 0)", f"exit {rc}\n" + d.read_log()[-3000:])

t.done()
