"""Issue 19 (state side), over real sockets on 127.0.0.1:
- config inheritance resolved once per config: the 20-level diamond ladder
  (42 configs, 2^20 paths up from the bottom) serves a phone at once, with
  the same depth-first precedence as before; depth and size limits are a 422
  when a config is written;
- device fields with multi-byte UTF-8 characters: over the API a fact longer
  than 63 bytes is a 422, from a User-Agent it is cut on a character
  boundary, and the rendered file keeps the MAC and every device variable;
- static files whose paths are 512-1023 bytes long (past LMDB's key limit)
  are served over HTTP and TFTP, a missing one is a clean 404 / file not found;
- a config change whose devices cannot be re-rendered is a 207 with each
  device's error (CLI: exit status 1), never a plain 200;
- a full disk (data_dir on a small tmpfs; skipped without the right to
  mount): an administrator's device write whose files cannot be written to
  the disk mirror is a 500 naming "no space left on device (data_dir ...)",
  never a plain 201/200; the change itself stands and phones are served;
Uses the engine's test plugins (tests/e2e/plugins/fixtures)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from pphelp import Daemon, TapRunner, SRC

sys.path.insert(0, os.path.join(SRC, "tests", "e2e", "tftp"))
import rawtftp  # noqa: E402

FIX = os.path.join(SRC, "tests", "e2e", "plugins", "fixtures")
t = TapRunner()


def curl(d, path, ua=None):
    cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "30"]
    if ua:  # bytes as they are: a str is sent as UTF-8
        cmd += [b"-A", ua if isinstance(ua, bytes) else ua.encode()]
    p = subprocess.run(cmd + [f"http://127.0.0.1:{d.http_port}/{path}"], capture_output=True)
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code or 0), body.decode(errors="replace")


def api(d, method, path, body=None):
    return d.api(method, path, body)


cfg = {"plugins": {"settings": {"acme": {"site": "HQ"}}}}

# the test plugins plus a rule that takes a serial of any bytes (the bundled
# rules take \w, ASCII in byte mode) from a User-Agent
plugdir = tempfile.mkdtemp(prefix="pplimits-")
shutil.copytree(os.path.join(FIX, "acme"), os.path.join(plugdir, "acme"))
shutil.copytree(os.path.join(FIX, "zeta"), os.path.join(plugdir, "zeta"))
with open(os.path.join(plugdir, "acme", "plugin.yml")) as f:
    yml = f.read()
yml = yml.replace("extract:\n", "extract:\n"
                  "  - from: http.user_agent\n"
                  "    regex: '^UTF8 (?<model>A100) (?<version>[\\d.]+) mac=(?<mac>[0-9a-f:]+) sn=(?<serial>\\S+)'\n"
                  "    set: { vendor: ACME }\n", 1)
with open(os.path.join(plugdir, "acme", "plugin.yml"), "w") as f:
    f.write(yml)
# a config can name a partial of the per-MAC file (a missing one fails the render)
with open(os.path.join(plugdir, "acme", "templates", "phone.cfg.mustache"), "a") as f:
    f.write("{{#X_extra_tpl}}{{>*X_extra_tpl}}{{/X_extra_tpl}}")


def device(d, mac):
    s, b = api(d, "GET", f"/devices/{mac}")
    return b if s == 200 and isinstance(b, dict) else {"_status": s, "_body": b}


with Daemon(plugins_dir=plugdir, extra=cfg) as d:
    # ---- the diamond ladder ------------------------------------------------
    # top; L0a, L0b inherit from top; Lia, Lib (i = 1..19) inherit from both
    # L(i-1)a and L(i-1)b; bottom inherits from L19a and L19b: 42 configs.
    # ntp_ip: set by top and L5b; locale: by L0b and L19b. Depth first, the
    # first parent's whole chain comes before the second parent: top's ntp_ip
    # (reached through L19a ... L0a) wins over L5b's, L0b's locale (reached
    # through L19a ... L1a) over L19b's.
    bad = []
    s, b = api(d, "POST", "/configs", {"id": "top", "raw_config": {"ntp_ip": "192.0.2.1"}})
    bad += [] if s == 201 else [("top", s, b)]
    for lvl in range(20):
        for k in "ab":
            raw = {"sip_lines": [{"line": 1, "username": f"L{lvl}{k}", "password": "pw"}]} if lvl == 0 else {}
            if (lvl, k) == (5, "b"):
                raw["ntp_ip"] = "192.0.2.55"
            if (lvl, k) in ((0, "b"), (19, "b")):
                raw["locale"] = "fr_FR" if lvl == 0 else "de_DE"
            parents = ["top"] if lvl == 0 else [f"L{lvl - 1}a", f"L{lvl - 1}b"]
            s, b = api(d, "POST", "/configs", {"id": f"L{lvl}{k}", "parent_ids": parents, "raw_config": raw})
            bad += [] if s == 201 else [(f"L{lvl}{k}", s, b)]
    s, b = api(d, "POST", "/configs", {"id": "bottom", "parent_ids": ["L19a", "L19b"],
                                       "raw_config": {"sip_lines": [{"line": 1, "username": "alice",
                                                                     "password": "pw1"}]}})
    bad += [] if s == 201 else [("bottom", s, b)]
    t.ok(not bad, "42 configs of a 20-level diamond ladder created over the API (201 each)", bad)

    t0 = time.monotonic()
    s, b = api(d, "POST", "/devices", {"mac": "00:04:f2:00:00:42", "plugin": "acme", "model": "A100",
                                       "vendor": "ACME", "config": "bottom"})
    t_create = time.monotonic() - t0
    t.ok(s == 201, f"device using the bottom config created and rendered ({t_create * 1000:.1f} ms)",
         (s, b))
    # a forced re-render on the fetch: the ladder is resolved on the request's way
    s, b = api(d, "PUT", "/configs/top", {"raw_config": {"ntp_ip": "192.0.2.2"}})
    t.ok(s == 200, "PUT top (re-renders the device through 2^20 paths)", (s, b))
    t0 = time.monotonic()
    code, body = curl(d, "acme/0004f2000042.cfg")
    t_fetch = time.monotonic() - t0
    # generous: the tree expansion took ~10 s; measured figures in the name
    t.ok(code == 200 and t_fetch < 2.0, f"phone using the bottom config fetched over HTTP in "
         f"{t_fetch * 1000:.1f} ms (< 2 s)", (code, t_fetch))
    t.ok("ntp=192.0.2.2\n" in body, "top's ntp_ip wins over L5b's (first parent's chain first)", body)
    t.ok("locale=fr_FR\n" in body, "L0b's locale wins over L19b's (depth first)", body)
    t.ok("line1.user=alice\n" in body and "L0a" not in body,
         "the bottom config's own sip_lines win", body)
    t.ok("# ACME A100 00:04:f2:00:00:42" in body, "device variables rendered", body)

    # resolve cost shows in the explain call too (a walk per config, each once)
    r = d.cli("render", "00:04:f2:00:00:42", "--explain", "--json")
    try:
        ex = json.loads(r.stdout)
    except ValueError:
        ex = {}
    ids = [c.get("id") for c in ex.get("config_chain", [])]
    t.ok(len(ids) == 42 and len(set(ids)) == 42 and ids[:3] == ["bottom", "L19a", "L18a"] and
         ids.index("top") < ids.index("L0b"),
         "render --explain lists each of the 42 configs once, depth first", ids)

    # ---- limits: 422 when a config is written ------------------------------
    # depth: a chain of 31 more configs under bottom (22 deep) passes 32
    prev, last_ok, refused = "bottom", None, None
    for i in range(1, 20):
        s, b = api(d, "POST", "/configs", {"id": f"deep{i}", "parent_ids": [prev]})
        if s != 201:
            refused = (i, s, b)
            break
        last_ok, prev = i, f"deep{i}"
    # bottom is 22 configs deep: deep10 is the 32nd, deep11 the 33rd
    t.ok(last_ok == 10 and refused and refused[0] == 11 and refused[1] == 422 and
         refused[2].get("field") == "parent_ids" and "too deep" in refused[2].get("error", "") and
         "32" in refused[2].get("error", ""),
         "depth limit: 32 configs on one path, the 33rd refused with 422", (last_ok, refused))
    s, b = api(d, "GET", "/configs/deep11")
    t.ok(s == 404, "the refused config is not stored", (s, b))
    # a PUT that deepens a config's heirs is refused too: deep10 is at the limit
    s, b = api(d, "POST", "/configs", {"id": "extra", "parent_ids": []})
    s2, b2 = api(d, "PUT", "/configs/top", {"parent_ids": ["extra"], "raw_config": {"ntp_ip": "192.0.2.2"}})
    t.ok(s == 201 and s2 == 422 and "too deep" in b2.get("error", "") and "deep10" in b2.get("error", ""),
         "PUT making an heir too deep: 422 naming the heir", (s, b, s2, b2))
    s, b = api(d, "GET", "/configs/top")
    t.ok(s == 200 and b.get("parent_ids") == [], "and top is unchanged", (s, b))

    # size: 256 distinct configs in one chain
    wide = []
    for i in range(240):
        s, b = api(d, "POST", "/configs", {"id": f"w{i}", "parent_ids": []})
        if s != 201:
            break
        wide.append(f"w{i}")
    # 8 configs each inheriting from 30 (32 parents at most), then one over them all
    groups, gbad = [], []
    for g in range(8):
        s, b = api(d, "POST", "/configs", {"id": f"g{g}", "parent_ids": wide[g * 30:(g + 1) * 30]})
        groups.append(f"g{g}") if s == 201 else gbad.append((g, s, b))
    # g0..g7 + w0..w239 + the new one = 249: fine; with bottom's 42 on top: 291
    s, b = api(d, "POST", "/configs", {"id": "allw", "parent_ids": groups})
    s2, b2 = api(d, "POST", "/configs", {"id": "toobig", "parent_ids": groups + ["bottom"]})
    t.ok(len(wide) == 240 and not gbad and s == 201 and s2 == 422 and
         b2.get("field") == "parent_ids" and "too large" in b2.get("error", "") and
         "256" in b2.get("error", ""),
         "size limit: a chain of 249 configs stored, one of 291 refused with 422", (s, b, s2, b2, gbad))
    s, b = api(d, "GET", "/configs/toobig")
    t.ok(s == 404, "the refused config is not stored", (s, b))

    # ---- device fields with multi-byte characters ---------------------------
    # over the API: refused when longer than 63 bytes, whole (not cut) below
    s, b = api(d, "POST", "/devices", {"mac": "00:04:f2:00:00:61", "plugin": "acme", "model": "A100",
                                       "vendor": "ACME", "serial": "\u00fc" * 32})
    t.ok(s == 422 and isinstance(b, dict) and b.get("field") == "serial" and "64 bytes" in b.get("error", "")
         and "63" in b.get("error", ""), "API: a 64-byte serial of 2-byte characters is a 422", (s, b))
    t.ok(device(d, "00:04:f2:00:00:61").get("_status") == 404, "and no device was created")
    s, b = api(d, "POST", "/devices", {"mac": "00:04:f2:00:00:62", "plugin": "acme", "model": "A100",
                                       "vendor": "ACME", "version": "2.0.1", "serial": "x" + "\u00fc" * 31})
    code, body = curl(d, "acme/0004f2000062.cfg")
    t.ok(s == 201 and code == 200 and body.startswith("# ACME A100 00:04:f2:00:00:62 (A100, 2 lines)\n"),
         "API: a 63-byte serial of 2-byte characters stored; the file keeps MAC and model",
         (s, b, code, body[:200]))
    dev = device(d, "00:04:f2:00:00:62")
    t.ok(dev.get("serial") == "x" + "\u00fc" * 31, "the serial kept whole", dev)
    s, b = api(d, "PATCH", "/devices/00:04:f2:00:00:62", {"model": "\u20ac" * 22})
    t.ok(s == 422 and b.get("field") == "model", "API: a 66-byte model (3-byte characters) is a 422", (s, b))

    # from the network: a User-Agent whose serial is 80 bytes of 2-byte
    # characters (and a 4-byte one): cut at a character boundary
    ua = "UTF8 A100 2.0.1 mac=00:04:f2:00:00:71 sn=" + "\u00fc" * 40
    code, body = curl(d, "acme/0004f2000071.cfg", ua)
    t.ok(code == 200 and body.startswith("# ACME A100 00:04:f2:00:00:71 (A100, 2 lines)\n") and
         "site=HQ" in body,
         "User-Agent with an 80-byte UTF-8 serial: the file has the MAC, model and the rest", (code, body[:300]))
    dev = device(d, "00:04:f2:00:00:71")
    t.ok(dev.get("serial") == "\u00fc" * 31 and dev.get("model") == "A100" and dev.get("version") == "2.0.1",
         "the serial cut at 62 bytes (31 characters), not inside the 32nd", dev)
    ua = "UTF8 A100 2.0.1 mac=00:04:f2:00:00:72 sn=x" + "\U0001F4DE" * 20
    code, body = curl(d, "acme/0004f2000072.cfg", ua)
    dev = device(d, "00:04:f2:00:00:72")
    t.ok(code == 200 and body.startswith("# ACME A100 00:04:f2:00:00:72 ") and
         dev.get("serial") == "x" + "\U0001F4DE" * 15,
         "4-byte characters: cut at 61 bytes (x + 15 characters)", (code, body[:200], dev))
    # a byte that is not UTF-8 in the User-Agent: replaced, nothing lost
    code, body = curl(d, "acme/0004f2000073.cfg",
                      b"UTF8 A100 2.0.1 mac=00:04:f2:00:00:73 sn=ab\xe9cd")
    dev = device(d, "00:04:f2:00:00:73")
    t.ok(code == 200 and body.startswith("# ACME A100 00:04:f2:00:00:73 ") and dev.get("serial") == "ab?cd",
         "a Latin-1 byte in the User-Agent becomes '?'", (code, body[:200], dev))

    # ---- static files with long paths ---------------------------------------
    # (HTTP: a URL "/" + 1022 bytes is the longest path; past it a 414)
    for n in (511, 512, 600, 1000, 1022, 1023):
        # components of at most 200 bytes (NAME_MAX is 255)
        parts, left = [], n - len("static/")
        while left > 0:
            k = min(200, left)
            if left - k == 1:  # never a trailing "/"
                k -= 1
            parts.append(("p%03d" % len(parts) + "x" * 200)[:k] if left - k > 0 else ("f" * k))
            left -= k + (1 if left - k > 0 else 0)
        rel = "static/" + "/".join(parts)
        assert len(rel) == n, (n, len(rel))
        full = os.path.join(d.root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        content = f"static file of a {n}-byte path\n".encode()
        with open(full, "wb") as f:
            f.write(content)
        missing = rel[:-1] + "Z"
        if n < 1023:
            code, body = curl(d, rel)
            t.ok(code == 200 and body == content.decode(),
                 f"HTTP: static file with a {n}-byte path served", (code, body[:100]))
            code, body = curl(d, missing)
            t.ok(code == 404, f"HTTP: missing file with a {n}-byte path: 404", (code, body[:100]))
        r = rawtftp.get(d.tftp_port, rel, timeout=5.0)
        t.ok(r.ok and r.data == content, f"TFTP: static file with a {n}-byte path served",
             (r.error, r.data[:100]))
        r = rawtftp.get(d.tftp_port, missing, timeout=5.0)
        t.ok(r.error is not None and r.error[0] == 1, f"TFTP: missing file with a {n}-byte path: "
             f"error 1 (file not found)", r.error)

    # ---- a config change whose re-render fails: 207 with per-device errors ------
    s1, _ = api(d, "POST", "/configs", {"id": "rr", "raw_config": {"ntp_ip": "192.0.2.70"}})
    s2, _ = api(d, "POST", "/devices", {"mac": "00:04:f2:00:00:81", "plugin": "acme", "model": "A100",
                                        "config": "rr"})
    s3, _ = api(d, "POST", "/devices", {"mac": "00:04:f2:00:00:82", "plugin": "acme", "model": "A100",
                                        "config": "rr"})
    s, b = api(d, "PUT", "/configs/rr", {"raw_config": {"ntp_ip": "192.0.2.71", "X_extra_tpl": "nosuch"}})
    rr = b.get("rerender", {}) if isinstance(b, dict) else {}
    failed = {f.get("mac"): f.get("error", "") for f in rr.get("failed", [])}
    t.ok((s1, s2, s3) == (201, 201, 201) and s == 207 and b.get("config", {}).get("id") == "rr" and
         rr.get("devices") == 2 and rr.get("pending") == 0 and
         set(failed) == {"00:04:f2:00:00:81", "00:04:f2:00:00:82"} and
         all("nosuch" in e for e in failed.values()),
         "PUT /configs whose re-render fails: 207 with the config and each device's error", (s, b))
    s, b = api(d, "GET", "/configs/rr")
    t.ok(s == 200 and b.get("raw_config", {}).get("X_extra_tpl") == "nosuch",
         "the config change itself stands", (s, b))
    r = d.cli("configs", "set", "rr", "ntp_ip=192.0.2.72")
    t.ok(r.returncode == 1 and "device 00:04:f2:00:00:81 not re-rendered" in r.stderr and "nosuch" in r.stderr,
         "CLI configs set: exit 1 naming the devices not re-rendered", (r.returncode, r.stdout, r.stderr))
    s, b = api(d, "PUT", "/configs/rr", {"raw_config": {"ntp_ip": "192.0.2.73", "X_extra_tpl": "header"}})
    code, body = curl(d, "acme/0004f2000081.cfg")
    t.ok(s == 200 and b.get("id") == "rr" and "rerender" not in b and code == 200 and
         "ntp=192.0.2.73\n" in body, "a re-render that works: 200 with the config as before", (s, b, body[:200]))

    # the daemon still serves after all that
    code, body = curl(d, "acme/0004f2000042.cfg")
    t.ok(code == 200 and "ntp=192.0.2.2\n" in body, "phone still served", (code, body[:200]))

# ---- a full disk ----------------------------------------------------------------
d = Daemon(plugins_dir=plugdir, extra=cfg)
os.makedirs(d.data_dir)
m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", d.data_dir], capture_output=True)
if m.returncode != 0:
    t.skip("full disk: device write answers 500 naming the cause", "cannot mount a tmpfs: "
           + m.stderr.decode(errors="replace").strip())
else:
    try:
        d.start()
        s, b = api(d, "POST", "/devices", {"mac": "00:04:f2:00:01:00", "plugin": "acme", "model": "A100"})
        t.ok(s == 201, "full disk: a device created while there is room: 201", (s, b))
        # pages LMDB can reuse once the disk is full (its file does not grow)
        for i in range(2, 10):
            api(d, "POST", "/devices", {"mac": f"00:04:f2:00:02:{i:02x}", "plugin": "acme", "model": "A100"})
        for i in range(2, 10):
            api(d, "DELETE", f"/devices/00:04:f2:00:02:{i:02x}")
        # fill the file system
        with open(os.path.join(d.data_dir, "filler"), "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        # two ways to fail, both reported: LMDB's commit (nothing stored) or,
        # when LMDB still had free pages, the disk mirror (the change stands)
        cause = "no space left on device (data_dir " + d.data_dir + ")"
        s, b = api(d, "POST", "/devices", {"mac": "00:04:f2:00:01:01", "plugin": "acme", "model": "A100"})
        err = b.get("error", "") if isinstance(b, dict) else str(b)
        s2, b2 = api(d, "GET", "/devices/00:04:f2:00:01:01")
        stored = s2 == 200
        t.ok(s == 500 and cause in err and
             ((not stored and "device: store: " + cause in err) or
              (stored and "00:04:f2:00:01:01" in err and "acme/0004f2000101.cfg" in err and
               "is stored and rendered" in err)),
             "full disk: POST /devices is a 500 naming the cause (%s)" %
             ("stored in LMDB, the disk mirror failed" if stored else
              "LMDB's commit failed, nothing stored"), (s, b, s2))
        s, b = api(d, "PATCH", "/devices/00:04:f2:00:01:00", {"description": "lobby"})
        err = b.get("error", "") if isinstance(b, dict) else str(b)
        t.ok(s == 500 and cause in err, "full disk: PATCH re-rendering: 500 naming the cause", (s, b))
        s, b = api(d, "POST", "/configs", {"id": "c9", "raw_config": {"ntp_ip": "192.0.2.9"}})
        err = b.get("error", "") if isinstance(b, dict) else str(b)
        t.ok(s == 201 or (s == 500 and "store: " + cause in err),
             "full disk: a config write that fails names the cause", (s, b))
        r = d.cli("devices", "add", "00:04:f2:00:01:02", "--plugin", "acme", "--model", "A100")
        # (LMDB may report the short write as EIO rather than ENOSPC)
        t.ok(r.returncode != 0 and "(data_dir " + d.data_dir + ")" in r.stderr,
             "CLI devices add on a full disk: exit status != 0 naming the cause", (r.returncode, r.stderr))
        # room again: the next write answers 200 and the file reaches the disk
        os.unlink(os.path.join(d.data_dir, "filler"))
        s, b = api(d, "PATCH", "/devices/00:04:f2:00:01:00", {"description": "room again"})
        t.ok(s == 200 and os.path.exists(os.path.join(d.data_dir, "tftpboot", "acme", "0004f2000100.cfg")),
             "with room again: 200 and the file on disk", (s, b))
    finally:
        d.stop()
        subprocess.run(["umount", d.data_dir])
        d.cleanup()

shutil.rmtree(plugdir, ignore_errors=True)
t.done()
