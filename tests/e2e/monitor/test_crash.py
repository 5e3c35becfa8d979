#!/usr/bin/python3
"""kill -9 while records stream: a PBX writes records as fast as the monitor
takes them; the test watches /api/v1/records and remembers every record the
daemon had stored (acknowledged); the daemon is killed with SIGKILL at three
points of the stream. After each restart on the same data folder every
acknowledged record is there exactly once, no record is there twice, seq
keeps growing across restarts, and each stored record has its `record`
event (the record and its event are one transaction)."""
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter

from pphelp import Daemon, TapRunner, free_port, to_yaml
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monhelp import (Api, Sse, line, simple_monitor, wait_growing,  # noqa: E402
                     write_plugin)

t = TapRunner()
lport = free_port()
d = Daemon(extra={"log_level": "info"})
plugdir = os.path.join(d.tmp, "plugins")
write_plugin(plugdir, "tpbx", simple_monitor("l", "tcp-listen", f"    listen: 127.0.0.1:{lport}\n"))
d.cfg["plugins"]["dir"] = plugdir
with open(d.config_path, "w") as f:
    f.write(to_yaml(d.cfg))

next_id = [0]
AHEAD = 4000          # lines the PBX may be ahead of what is stored
stored = [0]          # records of this round seen stored (the watcher below)


def pbx(stop):
    """Send records until the daemon dies (or stop is set), as fast as the
    monitor takes them: never more than AHEAD lines beyond what is stored, so
    the stream is still flowing at the kill however slow the machine is."""
    for _ in range(100):
        try:
            s = socket.create_connection(("127.0.0.1", lport), timeout=2)
            break
        except OSError:
            time.sleep(0.05)
    else:
        return
    base = next_id[0]
    try:
        while not stop.is_set():
            if next_id[0] - base - stored[0] >= AHEAD:
                time.sleep(0.004)
                continue
            chunk = b"".join(line(next_id[0] + i).encode() for i in range(40))
            s.sendall(chunk)
            next_id[0] += 40
            time.sleep(0.004)
    except OSError:
        pass
    s.close()


acked = Counter()        # account -> times seen stored before a kill
last_seq = 0
for round_, kill_after in enumerate((1500, 2500, 5000)):
    d.start()
    api = Api(d)
    stored[0] = 0
    stop = threading.Event()
    th = threading.Thread(target=pbx, args=(stop,), daemon=True)
    th.start()
    seen, since = {}, 0
    # watch what is stored until enough new records, then SIGKILL mid-stream
    while len([s for s in seen if s > last_seq]) < kill_after:
        st, j, _ = api.get(f"/records?limit=10000&since={since}")
        for r in j["records"]:
            seen[r["seq"]] = r.get("account")
        since = j["next"]
        stored[0] = len([s for s in seen if s > last_seq])
        time.sleep(0.02)
    sent_before_kill = next_id[0]
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    stop.set()
    th.join()
    d.proc = None
    d.log.close()
    d.notify.close()
    new = [s for s in seen if s > last_seq]
    t.ok(new and min(new) > last_seq, f"round {round_ + 1}: seq grows across the restart",
         f"min new {min(new) if new else None} last {last_seq}")
    for s, a in seen.items():
        if s > last_seq:
            acked[a] += 1
    last_seq = max(seen)

    # restart and check
    d.start()
    api = Api(d)
    recs = api.all_records("monitor=tpbx/l")
    counts = Counter(r.get("account") for r in recs)
    lost = [a for a in acked if counts.get(a) != 1]
    dup = [a for a, c in counts.items() if c > 1]
    seqs = [r["seq"] for r in recs]
    t.ok(not lost, f"round {round_ + 1}: every acknowledged record ({len(acked)}) is there "
         "exactly once after kill -9", lost[:5])
    t.ok(not dup and seqs == sorted(set(seqs)),
         f"round {round_ + 1}: no record twice, seq strictly increasing "
         f"({len(recs)} stored, {sent_before_kill} sent before the kill)", dup[:5])
    t.ok(all(r.get("parsed") for r in recs), f"round {round_ + 1}: no torn record")
    sse = Sse(d, since=0)
    wait_growing(lambda: len(sse.records()), len(recs))
    ev_seqs = sorted(r["seq"] for r in sse.records())
    sse.close()
    # (events are kept up to the store's events_max, 100 000)
    t.ok(ev_seqs == seqs[-len(ev_seqs):] and len(ev_seqs) == min(len(seqs), 100000),
         f"round {round_ + 1}: one `record` event per stored record",
         f"{len(ev_seqs)} events for {len(seqs)} records")
    last_seq = max(seqs)
    d.stop()
t.done()
