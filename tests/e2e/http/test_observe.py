#!/usr/bin/python3
"""What an operator sees: one access line per HTTP request at info
(http.request with status, bytes, duration), api.request per API call, a
missing file at info (tftp.refused code=1, http.request status=404); the
metrics: phoneprov_build_info, request duration histograms per protocol
(cumulative buckets, +Inf = count), no phoneprov_up."""
import re
import subprocess
import time
import urllib.error
import urllib.request

from pphelp import Daemon, PHONEPROVD, TapRunner

t = TapRunner()
with Daemon(extra={"log_level": "info"}) as d:
    with open(d.root + "/f.txt", "w") as f:
        f.write("0123456789")
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/f.txt", timeout=10) as r:
        r.read()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/nothere.cfg", timeout=10)
    except urllib.error.HTTPError as e:
        t.ok(e.code == 404, "GET a missing file: 404", e.code)
    for name in ("f.txt", "nothere.cfg"):
        subprocess.run(["curl", "-s", "--max-time", "5", f"tftp://127.0.0.1:{d.tftp_port}/{name}"],
                       capture_output=True, timeout=10)
    req = urllib.request.Request(f"http://127.0.0.1:{d.api_port}/api/v1/metrics",
                                 headers={"Authorization": f"Bearer {d.token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    time.sleep(0.3)

    acc = d.log_events("http.request")
    ok200 = [e for e in acc if e.get("path") == "/f.txt"]
    t.ok(len(ok200) == 1 and ok200[0]["level"] == "info" and ok200[0]["status"] == "200"
         and ok200[0]["bytes"] == "10" and float(ok200[0]["duration_ms"]) >= 0 and ok200[0]["method"] == "GET",
         "one http.request line at info per request: status, bytes, duration", acc)
    nf = [e for e in acc if e.get("path") == "/nothere.cfg"]
    t.ok(len(nf) == 1 and nf[0]["status"] == "404" and nf[0]["level"] == "info",
         "a missing file: http.request status=404 at info", acc)
    tr = [e for e in d.log_events("tftp.refused") if e.get("file") == "nothere.cfg"]
    t.ok(tr and tr[0]["level"] == "info" and tr[0]["code"] == "1", "TFTP file not found: tftp.refused at info",
         tr)
    warns = [e for e in d.log_events() if e.get("level") == "warn" and e.get("event") != "privs.root"]
    t.ok(not warns, "no warning for all that (privs.root aside: tests may run as root)", warns)
    api = d.log_events("api.request")
    t.ok(any(e.get("path") == "/metrics" and e.get("status") == "200" and e.get("level") == "info"
             and "duration_ms" in e for e in api), "api.request at info with its duration", api)

    version = subprocess.run([PHONEPROVD, "--version"], capture_output=True, text=True).stdout.split()[-1]
    t.ok(f'phoneprov_build_info{{version="{version}"}} 1' in text, "phoneprov_build_info{version}",
         text[-600:])
    t.ok("phoneprov_up" not in text, "no phoneprov_up")
    t.ok("# TYPE phoneprov_request_duration_seconds histogram" in text, "a histogram family")
    for proto, least in (("tftp", 1), ("http", 2)):
        buckets = [(le, int(n)) for le, n in re.findall(
            r'^phoneprov_request_duration_seconds_bucket\{proto="%s",le="([^"]+)"\} (\d+)$' % proto, text, re.M)]
        count = re.search(r'^phoneprov_request_duration_seconds_count\{proto="%s"\} (\d+)$' % proto, text, re.M)
        total = re.search(r'^phoneprov_request_duration_seconds_sum\{proto="%s"\} ([0-9.]+)$' % proto, text, re.M)
        counts = [n for _, n in buckets]
        t.ok(buckets and buckets[-1][0] == "+Inf" and counts == sorted(counts) and count
             and counts[-1] == int(count.group(1)) >= least and total and float(total.group(1)) >= 0,
             f"{proto}: cumulative buckets, +Inf = count >= {least}", (buckets, count and count.group(0)))
    t.ok(re.search(r'^phoneprov_request_duration_seconds_count\{proto="api"\} \d+$', text, re.M),
         "api: its histogram too")
t.done()
