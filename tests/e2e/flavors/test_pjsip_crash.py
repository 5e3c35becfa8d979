#!/usr/bin/python3
"""The asterisk-pjsip flavor survives kill -9 in the middle of a rewrite
(docs/flavors.md, "asterisk-pjsip"): its include file is always whole, old
or new.

A real phoneprovd with the bundled flavor (argv[1]: its hooks.so). Each
round: three API clients create devices of type pjsip-desk (two SIP lines
each) as fast as they can; the test watches for the flavor's temporary file
and sends SIGKILL the moment one appears (state or include file), i.e. while a rewrite is under way.
Then, before any restart:
- the include file parses whole: every section has every key, the trailer
  `; end: N endpoints` is there and N is the number of sections;
- every device whose create was answered has both its lines; no other
  device than those created is in it;
and after the restart: no temporary file is left and the file is what the
flavor's state gives (GET include). At least one round must have killed the
daemon mid-rewrite (its temporary file was left behind), else the test
proved nothing."""
import os
import shutil
import sys
import tempfile
import threading
import time

from pphelp import Daemon, SRC, TapRunner

t = TapRunner()
SO = sys.argv[1]
ROUNDS = 4


def parse(text):
    sections, cur, trailer = {}, None, None
    for line in text.splitlines():
        if line.startswith("; end: "):
            trailer = int(line.split()[2])
        elif line.startswith("["):
            cur = line[1:line.index("]")]
            if cur in sections:
                return None, "section twice: " + cur
            sections[cur] = {}
        elif cur is not None and " = " in line:
            k, v = (line[2:] if line.startswith("; ") else line).split(" = ", 1)
            sections[cur][k] = v
    need = {"type", "device", "line", "inbound_auth/username", "inbound_auth/password",
            "endpoint/context", "endpoint/allow", "aor/max_contacts", "transport"}
    for name, kv in sections.items():
        if need - set(kv):
            return None, f"section {name} lacks {need - set(kv)}"
    if trailer is None or trailer != len(sections):
        return None, f"trailer {trailer} for {len(sections)} sections"
    return sections, None


def main():
    tmp = tempfile.mkdtemp(prefix="pppjsip-")
    pdir = os.path.join(tmp, "plugins", "asterisk-pjsip")
    os.makedirs(pdir)
    shutil.copy(os.path.join(SRC, "plugins", "asterisk-pjsip", "plugin.yml"), pdir)
    shutil.copy(SO, os.path.join(pdir, "hooks.so"))
    inc = os.path.join(tmp, "pjsip.conf")
    d = Daemon(plugins_dir=os.path.dirname(pdir),
               extra={"plugins": {"settings": {"asterisk-pjsip": {"include_file": inc}}}})
    created, acked, hits = set(), set(), 0
    try:
        d.start()
        n_cfg = 30 * ROUNDS
        for i in range(n_cfg):
            d.api("POST", "/configs", {"id": f"c{i}", "raw_config": {"sip_lines": [
                {"line": 1, "username": f"{i}01", "password": f"p{i}a"},
                {"line": 2, "username": f"{i}02", "password": f"p{i}b"}]}})
        nxt = iter(range(n_cfg))
        lock = threading.Lock()
        for rnd in range(ROUNDS):
            stop = threading.Event()

            def writer():
                while not stop.is_set():
                    with lock:
                        i = next(nxt, None)
                    if i is None:
                        return
                    mac = f"00:11:33:00:{i >> 8:02x}:{i & 255:02x}"
                    with lock:
                        created.add(mac)
                    st, _ = d.api("POST", "/devices", {"mac": mac, "phone_type": "pjsip-desk",
                                                       "config": f"c{i}"}, timeout=5)
                    if st == 0:  # the daemon is gone
                        return
                    if st == 201:
                        with lock:
                            acked.add(mac)

            before = len(acked)
            th = [threading.Thread(target=writer) for _ in range(3)]
            for x in th:
                x.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(acked) < before + 8:
                time.sleep(0.001)
            # now wait for a rewrite to be under way, and kill it there
            deadline = time.monotonic() + 5
            tmps = (inc + ".tmp", inc + ".json.tmp")
            while time.monotonic() < deadline and not any(map(os.path.exists, tmps)):
                pass
            d.proc.kill()
            d.proc.wait()
            mid = any(map(os.path.exists, tmps))
            hits += mid
            stop.set()
            for x in th:
                x.join()
            with open(inc) as f:
                text = f.read()
            secs, why = parse(text)
            t.ok(secs is not None, f"round {rnd + 1}: after kill -9 "
                 f"({'mid-rewrite' if mid else 'between rewrites'}) the file is whole", why)
            secs = secs or {}
            in_file = {}
            for name, kv in secs.items():
                in_file.setdefault(kv["device"], set()).add(kv["inbound_auth/username"])
            with lock:
                missing = sorted(m for m in acked if m not in in_file)
                strange = sorted(m for m in in_file if m not in created)
            bad_lines = [m for m, users in in_file.items() if len(users) != 2]
            t.ok(not missing and not strange and not bad_lines,
                 f"round {rnd + 1}: every answered device with both its lines, nothing else "
                 f"({len(in_file)} devices, {len(acked)} answered)",
                 (missing[:5], strange[:5], bad_lines[:5]))
            d.stop()
            d.start()
            st, j = d.api("GET", "/plugins/asterisk-pjsip/include")
            with open(inc) as f:
                now = f.read()
            t.ok(st == 200 and j["content"] == now and not any(map(os.path.exists, tmps)) and
                 parse(now)[0] is not None,
                 f"round {rnd + 1}: after the restart the file is the flavor's state, no "
                 f"temporary file left", (st, now[-200:]))
        t.ok(hits >= 1, f"the kill landed mid-rewrite in {hits} of {ROUNDS} rounds", hits)
    finally:
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


main()
