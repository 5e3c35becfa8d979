#!/usr/bin/python3
"""The web console in a real browser: Debian's headless Chromium driven by
chromium-driver through python3-selenium, against the real phoneprovd on
127.0.0.1 (one daemon, one browser session for every case).

The console is served at / (CSP, ETag/304, 404 otherwise); sign-in (a wrong
token refused, the user token, the admin token; never in the URL); a phone
fetching its file over HTTP appears in the device table without a reload;
search; a boot storm of 10,000 devices created through the API while the
other cases run; the device page: the explanation is `phoneprov render
--explain`'s, the chosen plugin, the origin of config values, a rendered file
viewed and downloaded is the file the phone gets, synchronize against a
loopback SIP phone shows the operation's result, an invalid ip and a config
with an unknown parent show the API's error at the field, a client-side hint
for a typed extra field, a valid edit saved; the config tree and what depends
on a config; phone types in display order; firmware install offered only to
the admin token (the API refuses the user anyway) and its progress reaching
100 %; call records arriving live from a monitor, filtered, exported as CSV,
a refused filter at its field; identify gives `phoneprov identify`'s answer;
every form control labelled; keyboard navigation; a narrow screen without
page-wide horizontal scroll; no JavaScript console error on any page. A
screenshot of each page goes to BUILD/console-shots/. The page-load budget:
the device table with 10,000 devices renders in under 1 s (printed)."""
import base64
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "firmware"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "monitor"))
import pphelp  # noqa: E402
from fwhelp import PLUGIN_YML, Server, file_entry, tar_bytes, ti_file  # noqa: E402
from monhelp import line, simple_monitor, write_plugin  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (NoSuchElementException,  # noqa: E402
                                        StaleElementReferenceException, TimeoutException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

t = pphelp.TapRunner()
SHOTS = os.path.join(os.environ.get("PP_BUILD", "build"), "console-shots")
PHONE_MAC = "80:5e:c0:a1:b2:c3"
PHONE_UA = "Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3"
N_DEVICES = 10000
BUDGET_MS = 1000


def browser(tmp):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", f"--user-data-dir={tmp}", "--no-proxy-server",
              "--no-first-run", "--disable-background-networking", "--disable-sync",
              "--disable-component-update", "--disable-default-apps",
              "--disable-domain-reliability", "--disable-client-side-phishing-detection",
              # nothing leaves the machine: every name but loopback fails to resolve
              "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    drv.downloads = os.path.join(tmp, "downloads")
    os.makedirs(drv.downloads)
    drv.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow",
                                                        "downloadPath": drv.downloads})
    return drv


class Console:
    def __init__(self, d, drv):
        self.d, self.drv = d, drv
        self.base = f"http://127.0.0.1:{d.api_port}/"
        self.allowed = []  # (substring) of browser log lines a case provoked on purpose

    def wait(self, cond, timeout=15, what=""):
        try:
            return WebDriverWait(self.drv, timeout, poll_frequency=0.05,
                                 ignored_exceptions=(NoSuchElementException,
                                                     StaleElementReferenceException)).until(
                lambda drv: cond())
        except TimeoutException:
            return None

    def css(self, sel):
        return self.drv.find_elements(By.CSS_SELECTOR, sel)

    def one(self, sel, timeout=15):
        r = self.wait(lambda: self.css(sel), timeout)
        return r[0] if r else None

    def go(self, hash_):
        self.drv.execute_script("location.hash = arguments[0]", hash_)

    def shot(self, name):
        """The whole page (not only the viewport), at most 8000 px high."""
        os.makedirs(SHOTS, exist_ok=True)
        m = self.drv.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        r = self.drv.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": m["width"], "height": min(m["height"], 8000),
                     "scale": 1}})
        with open(os.path.join(SHOTS, name + ".png"), "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def console_errors(self):
        """SEVERE browser log lines not provoked on purpose."""
        out = []
        for e in self.drv.get_log("browser"):
            if e.get("level") != "SEVERE":
                continue
            if any(a in e.get("message", "") for a in self.allowed):
                continue
            out.append(e.get("message", ""))
        return out

    def labelled(self):
        """Form controls without a label (visible ones)."""
        return self.drv.execute_script("""
            return [...document.querySelectorAll('input, select, textarea')]
              .filter(e => e.offsetParent !== null && e.type !== 'hidden')
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
              .map(e => e.outerHTML.slice(0, 80));""")

    def page_checks(self, name):
        """After each page: a screenshot, labels, no console error."""
        self.shot(name)
        t.ok(self.labelled() == [], f"{name}: every form control has a label", str(self.labelled()))
        errs = self.console_errors()
        t.ok(errs == [], f"{name}: no JavaScript console error", "\n".join(errs))

    def sign_in(self, token):
        self.drv.execute_script("sessionStorage.clear()")
        self.drv.get(self.base)
        inp = self.one("#token")
        inp.send_keys(token)
        self.one("#signin-form button[type=submit]").click()


def served(d):
    """GET / and the console's files from the API listener, without a token."""
    c = http.client.HTTPConnection("127.0.0.1", d.api_port, timeout=10)
    c.request("GET", "/")
    r = c.getresponse()
    body = r.read().decode()
    t.ok(r.status == 200 and r.getheader("Content-Type", "").startswith("text/html") and
         "console/app.js" in body, "GET / answers the console page", f"{r.status}")
    csp = r.getheader("Content-Security-Policy", "")
    t.ok("script-src 'self'" in csp and "connect-src 'self'" in csp,
         "the console page has a strict Content-Security-Policy", csp)
    etag = r.getheader("ETag")
    c.request("GET", "/", headers={"If-None-Match": etag})
    r = c.getresponse()
    r.read()
    t.ok(r.status == 304, "a page the browser holds is 304 Not Modified", str(r.status))
    for path, typ in (("/console/app.js", "text/javascript"), ("/console/style.css", "text/css")):
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        t.ok(r.status == 200 and r.getheader("Content-Type", "").startswith(typ),
             f"GET {path} is {typ}", f"{r.status} {r.getheader('Content-Type')}")
    c.request("GET", "/console/nope.js")
    r = c.getresponse()
    r.read()
    t.ok(r.status == 404, "an unknown console file is 404", str(r.status))
    c.request("POST", "/")
    r = c.getresponse()
    r.read()
    t.ok(r.status == 404, "POST / is not a console page (404)", str(r.status))
    c.close()


def populate(d, n):
    """n devices through the API (no plugin: nothing to render), 4 connections."""
    def work(k):
        try:
            post(k)
        except (OSError, http.client.HTTPException) as e:
            errs.append(repr(e))

    def post(k):
        c = http.client.HTTPConnection("127.0.0.1", d.api_port, timeout=60)
        h = {"Authorization": f"Bearer {d.token}", "Content-Type": "application/json"}
        for i in range(k, n, 4):
            body = json.dumps({"mac": "02:00:%02x:%02x:%02x:%02x" % (i >> 24, (i >> 16) & 255,
                                                                   (i >> 8) & 255, i & 255),
                               "ip": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
                               "vendor": "Nobody", "model": f"M{i % 7}"})
            c.request("POST", "/api/v1/devices", body=body, headers=h)
            r = c.getresponse()
            r.read()
            if r.status != 201:
                errs.append(r.status)
        c.close()
    errs = []
    th = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    return errs


def main():
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="ppconsole-")
    plugins = os.path.join(tmp, "plugins")
    shutil.copytree(os.path.join(pphelp.SRC, "plugins", "yealink"), os.path.join(plugins, "yealink"))
    os.makedirs(os.path.join(plugins, "acme"))
    with open(os.path.join(plugins, "acme", "plugin.yml"), "w") as f:
        f.write(PLUGIN_YML)
    # a call-record monitor the test feeds: phoneprov listens, the "PBX" connects
    c_port = pphelp.free_port()
    write_plugin(plugins, "tpbx", simple_monitor("listen", "tcp-listen",
                                                 f"    listen: 127.0.0.1:{c_port}\n"))
    srv = Server()
    tgz = tar_bytes([ti_file("fw/a.rom", os.urandom(100000))])
    srv.files["/dl/fw.tar.gz"] = tgz
    with open(os.path.join(plugins, "acme", "pkgs.yml"), "w") as f:
        f.write(f"""packages:
  acme-fw:
    description: Acme phone firmware
    version: "2.0"
    files: [tgz]
    install:
      - untar: {{ file: tgz }}
      - cp: {{ src: "fw/*", dest: acme/firmware }}
files:
{file_entry("tgz", srv.url("/dl/fw.tar.gz"), tgz)}""")
    d = pphelp.Daemon(plugins_dir=plugins, extra={"log_level": "info"},
                      env={"http_proxy": "", "HTTP_PROXY": "", "no_proxy": "*"})
    drv = None
    try:
        d.start()
        drv = browser(os.path.join(tmp, "chromium"))
        c = Console(d, drv)
        served(d)
        d.cdr_port = c_port
        cases(d, c)
        t.ok(True, f"wall time {time.monotonic() - t0:.1f} s (one daemon, one browser)")
    finally:
        if drv:
            drv.quit()
        d.cleanup()
        srv.close()
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


def cases(d, c):
    drv = c.drv
    # ---- sign-in ----------------------------------------------------------
    c.sign_in("not-the-token-0123456789")
    err = c.wait(lambda: drv.find_element(By.ID, "token-err").text)
    t.ok(err and "not valid" in err, "a wrong token is refused at sign-in", repr(err))
    t.ok(drv.execute_script("return sessionStorage.getItem('phoneprov.token')") is None,
         "a refused token is not kept")
    c.allowed.append("/api/v1/whoami - Failed to load resource: the server responded with a "
                     "status of 401")
    c.shot("01-sign-in")
    c.sign_in(d.token)
    t.ok(c.one("table#devices[data-ready]") is not None, "the user token signs in: device table")
    t.ok("token" not in drv.current_url and d.token not in drv.current_url,
         "the token is not in the URL", drv.current_url)
    t.ok(drv.find_element(By.ID, "role").text == "user token", "the role shown: user token")
    t.ok(c.wait(lambda: drv.find_element(By.ID, "live").text == "live: on"),
         "live updates from /events are on")
    # ---- a phone appears without a reload ---------------------------------
    drv.execute_script("window.__noReload = 1")
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/y000000000028.cfg",
                                 headers={"User-Agent": PHONE_UA})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    st = opener.open(req, timeout=10).status
    row = c.one(f"tr[data-mac='{PHONE_MAC}']", 10)
    t.ok(st == 200 and row is not None, "a phone fetching over HTTP appears in the table")
    t.ok(drv.execute_script("return window.__noReload") == 1, "... without a page reload")
    cells = c.wait(lambda: [td.text for td in c.css(f"tr[data-mac='{PHONE_MAC}'] td")]) or []
    t.ok(cells[:6] == [PHONE_MAC, "127.0.0.1", "Yealink", "T46S", "66.86.0.15", "yealink"]
         and cells[6] == "EXACT", "its row: MAC, IP, vendor, model, version, plugin, score",
         str(cells))
    # a boot storm while the other cases run: the page must keep working
    storm = {}
    storm_t = threading.Thread(target=lambda: storm.update(errs=populate(d, N_DEVICES),
                                                          t=time.monotonic()))
    t_storm = time.monotonic()
    storm_t.start()
    search = drv.find_element(By.CSS_SELECTOR, "input[type=search]")
    search.send_keys("t46s")
    t.ok(c.wait(lambda: "1 of 1 devices" in drv.find_element(By.ID, "dev-count").text),
         "search filters the table", drv.find_element(By.ID, "dev-count").text)
    search.clear()
    search.send_keys(" ")
    c.page_checks("02-devices")

    # ---- device page: explanation = render --explain -----------------------
    cli = d.cli("render", PHONE_MAC, "--explain", "--json")
    want = json.loads(cli.stdout) if cli.returncode == 0 else None
    c.go(f"#/device/{PHONE_MAC}")
    pre = c.one("#explain-json")
    got = json.loads(drv.execute_script("return document.getElementById('explain-json')"
                                        ".textContent")) if pre else None
    t.ok(want is not None and got == want,
         "the device page's explanation is phoneprov render --explain's",
         f"cli rc={cli.returncode}\n{cli.stderr}\n{json.dumps(got)[:300]}\n{json.dumps(want)[:300]}")
    win = [tr.text for tr in c.css("#explain-scores tr.win")]
    t.ok(win == ["yealink (chosen) EXACT"], "the chosen plugin and its score stand out", str(win))
    origins = {tr.find_elements(By.TAG_NAME, "td")[0].text: tr.find_elements(By.TAG_NAME, "td")[2].text
               for tr in c.css("#effective-config tbody tr")}
    t.ok(origins.get("http_port") == "general settings (http.listen)" and
         origins.get("locale") == "plugin yealink (autoprov)",
         "the effective config names where each value comes from", str(origins))
    view = c.one("#files li button")
    view.click()
    c.wait(lambda: drv.find_element(By.ID, "file-view").text)
    path = want["files"][0]["path"] if want else ""
    phone = opener.open(urllib.request.Request(f"http://127.0.0.1:{d.http_port}/{path}",
                                               headers={"User-Agent": PHONE_UA})).read().decode()
    shown = drv.execute_script("return document.getElementById('file-view').textContent")
    t.ok(shown == phone and shown, "View shows the rendered file the phone gets", path)
    dl = c.css("#files li button")[1]
    dl.click()
    got = c.wait(lambda: os.path.isfile(os.path.join(drv.downloads, path)) and
                 open(os.path.join(drv.downloads, path)).read() == phone)
    t.ok(got, "Download saves the rendered file", str(os.listdir(drv.downloads)))
    # synchronize: the operation followed to its end, its result shown
    phone_sip = pphelp.SipPhone()
    try:
        c.one("#sync-port").send_keys(str(phone_sip.port))
        [b for b in c.css(".actions button") if b.text == "Synchronize"][0].click()
        res = c.wait(lambda: '"state": "ok"' in drv.find_element(By.ID, "action-result").text and
                     drv.find_element(By.ID, "action-result").text)
    finally:
        phone_sip.close()
    t.ok(res and '"code": 200' in res and phone_sip.received and
         phone_sip.received[0][1].startswith("NOTIFY sip:"),
         "Synchronize sends the NOTIFY and shows the operation's result", str(res)[:300])
    # a device edit with an invalid ip: the API's error next to the field
    ip = drv.find_element(By.CSS_SELECTOR, "#device-form [data-field=ip]")
    ip.clear()
    ip.send_keys("999.1.2.3")
    st, api_err = d.api("PATCH", f"/devices/{PHONE_MAC}", {"ip": "999.1.2.3"})
    c.allowed.append(f"/api/v1/devices/{urllib.parse.quote(PHONE_MAC, safe='')} - Failed to load resource: the server "
                     f"responded with a status of {st}")
    drv.find_element(By.CSS_SELECTOR, "#device-form button[type=submit]").click()
    msg = c.wait(lambda: drv.find_element(By.ID, ip.get_attribute("id") + "-err").text)
    t.ok(st == 422 and msg and api_err["error"] in msg and ip.get_attribute("aria-invalid") == "true",
         "a device edit with a bad ip shows the API's error at the field", f"{msg!r} {api_err}")
    # the phone type's extra fields, typed from its schema
    st, j = d.api("PATCH", f"/devices/{PHONE_MAC}", {"phone_type": "yealink-t4xs"})
    t.ok(st == 200, "a phone type set through the API", f"{st} {j}")
    drv.refresh()
    vlan = c.one("#device-form [data-field='extra.vlan_id']")
    hint = drv.find_element(By.ID, vlan.get_attribute("id") + "-hint").text if vlan else ""
    t.ok(vlan is not None and vlan.get_attribute("type") == "number" and "integer" in hint,
         "the phone type's extra field is a typed input with its schema as a hint", hint)
    if vlan:
        # (the server fills the type's defaults in: extra may exist already)
        extra_before = d.api("GET", f"/devices/{PHONE_MAC}")[1].get("extra")
        vlan.send_keys("1.5")
        drv.find_element(By.CSS_SELECTOR, "#device-form button[type=submit]").click()
        msg = c.wait(lambda: drv.find_element(By.ID, vlan.get_attribute("id") + "-err").text)
        t.ok(msg and vlan.get_attribute("aria-invalid") == "true" and
             d.api("GET", f"/devices/{PHONE_MAC}")[1].get("extra") == extra_before,
             "a client-side hint: 1.5 for an integer is refused at the field, nothing sent",
             repr(msg))
        vlan.clear()
        vlan.send_keys("12")
        drv.find_element(By.CSS_SELECTOR, "#device-form button[type=submit]").click()
    saved = c.wait(lambda: d.api("GET", f"/devices/{PHONE_MAC}")[1].get("extra") == {"vlan_id": 12})
    t.ok(saved, "... and is saved as an integer", str(d.api("GET", f"/devices/{PHONE_MAC}")[1].get("extra")))
    c.page_checks("03-device")

    # ---- configs: tree, invalid edit, dependants ---------------------------
    for body in ({"id": "base", "parent_ids": [], "raw_config": {"locale": "fr_FR"}},
                 {"id": "site", "parent_ids": ["base"], "raw_config": {"ntp_enabled": True, "ntp_ip": "127.0.0.1"},
                  "description": "the site"}):
        d.api("POST", "/configs", body)
    d.api("PATCH", f"/devices/{PHONE_MAC}", {"config": "site"})
    c.go("#/configs")
    tree = c.wait(lambda: [(a.text, b.text) for a, b in
                           zip(c.css("#config-tree > li > a"), c.css("#config-tree > li > ul > li > a"))])
    t.ok(tree == [("base", "site")], "the inheritance tree: site under base", str(tree))
    c.page_checks("04-configs")
    c.go("#/config/site")
    parents = c.one("#config-form [data-field=parent_ids]")
    parents.clear()
    parents.send_keys("base, no-such-config")
    st, api_err = d.api("PUT", "/configs/site", {"id": "site", "parent_ids": ["base", "no-such-config"],
                                                    "raw_config": {"ntp_enabled": True, "ntp_ip": "127.0.0.1"}})
    c.allowed.append("/api/v1/configs/site - Failed to load resource: the server responded "
                     f"with a status of {st}")
    drv.find_element(By.CSS_SELECTOR, "#config-form button[type=submit]").click()
    msg = c.wait(lambda: drv.find_element(By.ID, parents.get_attribute("id") + "-err").text)
    t.ok(st == 422 and api_err.get("field") == "parent_ids" and msg and api_err["error"] in msg
         and parents.get_attribute("aria-invalid") == "true",
         "a config edit with an unknown parent shows the API's error at the field",
         f"{msg!r} {api_err}")
    raw = drv.find_element(By.CSS_SELECTOR, "#config-form [data-field=raw_config]")
    raw.clear()
    raw.send_keys('{"ntp_ip": "127.0.0.2"')
    drv.find_element(By.CSS_SELECTOR, "#config-form button[type=submit]").click()
    msg = c.wait(lambda: drv.find_element(By.ID, raw.get_attribute("id") + "-err").text)
    t.ok(msg and "not valid JSON" in msg, "a config that is not JSON is refused at its field "
         "before anything is sent", repr(msg))
    raw.send_keys("}")
    parents.clear()
    parents.send_keys("base")
    drv.find_element(By.CSS_SELECTOR, "#config-form button[type=submit]").click()
    saved = c.wait(lambda: d.api("GET", "/configs/site")[1].get("raw_config") ==
                   {"ntp_ip": "127.0.0.2"})
    t.ok(saved and d.api("GET", "/configs/site")[1].get("parent_ids") == ["base"],
         "a valid config edit is saved", str(d.api("GET", "/configs/site")))
    deps = c.one("#config-devices li a")
    t.ok(deps is not None and deps.text == PHONE_MAC, "what depends on a config: its device")
    c.page_checks("05-config-edit")

    # ---- plugins: user token sees no install -------------------------------
    c.go("#/plugins")
    c.one("#phone-types tbody tr")
    idx = [tr.find_elements(By.TAG_NAME, "td")[0].text for tr in c.css("#phone-types tbody tr")]
    t.ok(idx and [int(x) for x in idx] == sorted(int(x) for x in idx),
         "phone types listed in display order", str(idx))
    c.one("details[data-plugin=acme] summary").click()
    c.one("details[data-plugin=acme] li[data-package=acme-fw]")
    t.ok(c.css("details[data-plugin=acme] li[data-package=acme-fw] button") == [],
         "the user token is not offered firmware install")
    st, _ = d.api("POST", "/plugins/acme/packages/acme-fw")
    t.ok(st == 403, "... and the API refuses it anyway (403)", str(st))
    # flavors branch: GET /phone_types; before it, the console falls back (404)
    c.allowed.append("/api/v1/phone_types - Failed to load resource: the server responded "
                     "with a status of 404")
    c.page_checks("06-plugins-user")

    # ---- records, identify ---------------------------------------------------
    c.go("#/records")
    t.ok(c.wait(lambda: "record(s)" in drv.find_element(By.CSS_SELECTOR, "main p[aria-live]").text),
         "the call records page lists records")
    pbx = socket.create_connection(("127.0.0.1", d.cdr_port), timeout=10)
    pbx.sendall((line(1, "I", "0301111111", "201") + line(2, "O", "0302222222", "202") +
                 line(3, "M", "0303333333", "203")).encode())
    rows = c.wait(lambda: len(c.css("#records tbody tr")) == 3 and
                  [tr.find_elements(By.TAG_NAME, "td")[3].text for tr in c.css("#records tbody tr")])
    t.ok(rows == ["missed", "outgoing", "incoming"],
         "call records arrive live, newest first", str(rows))
    Select(c.one("#records-filter select[data-field=direction]")).select_by_value("incoming")
    drv.find_element(By.CSS_SELECTOR, "#records-filter button[type=submit]").click()
    rows = c.wait(lambda: len(c.css("#records tbody tr")) == 1 and
                  [tr.find_elements(By.TAG_NAME, "td")[4].text for tr in c.css("#records tbody tr")])
    t.ok(rows == ["0301111111"], "a filter (direction) narrows the list", str(rows))
    [b for b in c.css("#records-filter button") if b.text == "Export CSV"][0].click()
    csv_path = os.path.join(drv.downloads, "records.csv")
    got = c.wait(lambda: os.path.isfile(csv_path) and open(csv_path).read())
    lines = got.splitlines() if got else []
    t.ok(len(lines) == 2 and lines[0].startswith("seq,ts,monitor,parsed,direction,") and
         ",incoming,0301111111," in lines[1],
         "Export CSV saves the filtered records as CSV", repr(got))
    pbx.close()
    Select(c.one("#records-filter select[data-field=direction]")).select_by_value("")
    frm = c.one("#records-filter [data-field=from]")
    frm.send_keys("yesterday")
    st, api_err = d.api("GET", "/records?from=yesterday")
    c.allowed.append("/api/v1/records?from=yesterday&limit=10000 - Failed to load resource: the "
                     f"server responded with a status of {st}")
    drv.find_element(By.CSS_SELECTOR, "#records-filter button[type=submit]").click()
    msg = c.wait(lambda: drv.find_element(By.ID, frm.get_attribute("id") + "-err").text)
    t.ok(st == 400 and msg and api_err["error"] in msg,
         "a call-record filter the API refuses shows its error at the field", f"{msg!r} {api_err}")
    c.page_checks("07-records")
    c.go("#/identify")
    ua = c.one("#identify-form [data-field=user_agent]")
    ua.send_keys(PHONE_UA)
    drv.find_element(By.CSS_SELECTOR, "#identify-form button[type=submit]").click()
    plug = c.one("#identify-plugin")
    cli = d.cli("identify", "--user-agent", PHONE_UA)
    want = json.loads(cli.stdout) if cli.returncode == 0 else {}
    got = json.loads(drv.execute_script(
        "return document.querySelector('#identify-result pre').textContent")) if plug else None
    t.ok(plug is not None and plug.text == "yealink" and got == want,
         "identify shows what phoneprov identify answers", f"{got} {want}")
    c.page_checks("08-identify")

    # ---- admin: firmware install with a progress bar ---------------------
    c.sign_in(d.admin_token)
    c.one("table#devices[data-ready]")
    t.ok(drv.find_element(By.ID, "role").text == "admin token", "the admin token signs in")
    c.go("#/plugins")
    c.one("details[data-plugin=acme] summary").click()
    btn = c.one("details[data-plugin=acme] button[aria-label='Install acme-fw']")
    t.ok(btn is not None, "the admin token is offered firmware install")
    seen = []
    if btn:
        btn.click()
        bar = c.one("details[data-plugin=acme] progress")

        def done():
            v = bar.get_attribute("value")
            if not seen or seen[-1] != v:
                seen.append(v)
            return v == "100"
        c.wait(done, 60)
    txt = c.css("details[data-plugin=acme] .op-state")
    t.ok(seen and seen[-1] == "100" and txt and "100 %" in txt[0].text,
         "firmware install progress reaches 100 %", f"{seen} {txt[0].text if txt else ''}")
    t.ok(os.path.isfile(os.path.join(d.root, "acme", "firmware", "a.rom")),
         "... and the firmware is in the served tree")
    c.page_checks("09-firmware-install")

    # ---- narrow screen -------------------------------------------------------
    drv.set_window_size(380, 800)
    c.go("#/devices")
    c.one("table#devices[data-ready]")
    wide = drv.execute_script("return document.documentElement.scrollWidth")
    inner = drv.execute_script("return window.innerWidth")
    t.ok(wide <= inner + 1, "a narrow screen: no page-wide horizontal scroll (the table scrolls)",
         f"{wide} > {inner}")
    c.page_checks("10-narrow")
    drv.set_window_size(1280, 900)

    # ---- keyboard: the skip link and tab order reach the navigation ---------
    drv.get(c.base + "?keyboard#/devices")
    c.one("table#devices[data-ready]")
    # the page focuses its heading; backwards from it: the header's controls
    start = drv.switch_to.active_element.text
    seen = []
    for _ in range(2):
        ActionChains(drv).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        seen.append(drv.switch_to.active_element.text)
    t.ok(start == "Devices" and seen == ["Sign out", "Identify"],
         "keyboard: from the page's heading, Shift+Tab reaches the navigation",
         f"{start!r} {seen}")
    ActionChains(drv).send_keys(Keys.ENTER).perform()
    h1 = c.wait(lambda: drv.switch_to.active_element.text == "Identify" and
                drv.switch_to.active_element.tag_name == "h1")
    t.ok(h1, "keyboard: Enter on a link opens its page and moves the focus to its heading",
         drv.switch_to.active_element.tag_name)
    drv.execute_script("document.querySelector('.skip').focus()")
    ActionChains(drv).send_keys(Keys.ENTER).perform()
    t.ok(c.wait(lambda: drv.switch_to.active_element.get_attribute("id") == "main"),
         "keyboard: the skip link moves the focus to the content")

    # ---- the page-load budget ------------------------------------------------
    storm_t.join()
    t.ok(storm["errs"] == [], f"{N_DEVICES} devices created through the API while the cases "
         f"above ran ({storm['t'] - t_storm:.1f} s)", str(storm["errs"][:5]))
    loads = []
    for i in range(3):   # a new document each time: sign-in from the session, list, render
        drv.get(c.base + f"?load={i}#/devices")
        tab = c.one("table#devices[data-ready]", 30)
        loads.append(float(tab.get_attribute("data-load-ms")) if tab else 1e9)
    best = sorted(loads)[1]  # the median
    count = drv.find_element(By.ID, "dev-count").text
    print(f"# page-load: device table with {N_DEVICES + 1} devices rendered in "
          f"{', '.join(f'{x:.0f}' for x in loads)} ms (median {best:.0f} ms, headless Chromium)")
    t.ok(f"of {N_DEVICES + 1} devices" in count, "every device is listed", count)
    name = f"the device table with {N_DEVICES} devices renders in under {BUDGET_MS} ms"
    if os.environ.get("PP_SANITIZED"):
        # the budget is the product's, not a sanitized daemon's (several times slower)
        t.skip(name, f"{best:.0f} ms with a {os.environ['PP_SANITIZED']} daemon")
    else:
        t.ok(best < BUDGET_MS, f"{name} ({best:.0f} ms)")
    c.shot("11-devices-10000")
    nxt = c.one(".pager button:last-child")
    nxt.click()
    t.ok(c.wait(lambda: "page 2 of" in drv.find_element(By.CSS_SELECTOR, ".pager span").text),
         "paging: the next page")
    errs = c.console_errors()
    t.ok(errs == [], "10,000 devices: no JavaScript console error", "\n".join(errs))


if __name__ == "__main__":
    main()
