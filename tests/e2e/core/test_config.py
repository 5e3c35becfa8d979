#!/usr/bin/python3
"""phoneprovd --check on malformed configs: each case's exact one-line
message (FILE:LINE:COL: what) and exit status 1; valid configs exit 0."""
import os
import shutil
import subprocess
import tempfile

from pphelp import PHONEPROVD, TapRunner

t = TapRunner()
tmp = tempfile.mkdtemp(prefix="ppcfg-")
os.makedirs(os.path.join(tmp, "tftpboot"))
os.makedirs(os.path.join(tmp, "plugins"))
with open(os.path.join(tmp, "capture.pcap"), "wb") as f:
    f.write(b"")


def check(text, name="bad.yml", cwd=tmp):
    with open(os.path.join(cwd, name), "w") as f:
        f.write(text)
    p = subprocess.run([PHONEPROVD, "-c", name, "--check"], cwd=cwd, capture_output=True,
                       text=True, timeout=30)
    return p


T = tmp
CASES = [
    ("unknown top key", "foo: 1\n", "bad.yml:1:1: unknown key 'foo'"),
    ("unknown tftp key", "tftp:\n  port: 69\n", "bad.yml:2:3: unknown key 'port' in tftp"),
    ("max_blksize too small", "tftp:\n  max_blksize: 7\n",
     "bad.yml:2:16: tftp.max_blksize must be between 8 and 65464, not 7"),
    ("max_blksize too big", "tftp:\n  max_blksize: 65465\n",
     "bad.yml:2:16: tftp.max_blksize must be between 8 and 65464, not 65465"),
    ("max_windowsize 0", "tftp:\n  max_windowsize: 0\n",
     "bad.yml:2:19: tftp.max_windowsize must be between 1 and 65535, not 0"),
    ("timeout_ms not a number", "tftp:\n  timeout_ms: fast\n",
     "bad.yml:2:15: tftp.timeout_ms must be an integer, not 'fast'"),
    ("retries quoted", "tftp:\n  retries: \"5\"\n",
     "bad.yml:2:12: tftp.retries must be an integer, not '5'"),
    ("listen without port", "tftp:\n  listen: \"127.0.0.1\"\n",
     "bad.yml:2:11: tftp.listen '127.0.0.1' must be \"HOST:PORT\" (e.g. \"127.0.0.1:6969\")"),
    ("listen port 0", "http:\n  listen: \"127.0.0.1:0\"\n",
     "bad.yml:2:11: http.listen '127.0.0.1:0' has a port outside 1..65535"),
    ("listen port 65536", "http:\n  listen: 127.0.0.1:65536\n",
     "bad.yml:2:11: http.listen '127.0.0.1:65536' has a port outside 1..65535"),
    ("listen host name", "api:\n  listen: \"localhost:8666\"\n",
     "bad.yml:2:11: api.listen 'localhost:8666' has no valid IPv4 address (numeric addresses only)"),
    ("listen v6 without brackets", "api:\n  listen: \"::1:8666\"\n",
     "bad.yml:2:11: api.listen '::1:8666' must put an IPv6 address in brackets: \"[::1]:PORT\""),
    ("listen v6 no colon", "api:\n  listen: \"[::1]8666\"\n",
     "bad.yml:2:11: api.listen '[::1]8666' must be \"[IPv6]:PORT\""),
    ("listen bad v6", "api:\n  listen: \"[fe80::zz]:80\"\n",
     "bad.yml:2:11: api.listen '[fe80::zz]:80' has no valid IPv6 address (numeric addresses only)"),
    ("listen is a list", "api:\n  listen: [1, 2]\n",
     "bad.yml:2:11: api.listen must be a string, not a list"),
    ("bad log_level", "log_level: verbose\n",
     "bad.yml:1:12: log_level must be error, warn, info or debug, not 'verbose'"),
    ("autoprov yes", "autoprov: yes\n", "bad.yml:1:11: autoprov must be true or false, not 'yes'"),
    ("enabled scalar", "plugins:\n  enabled: some\n",
     "bad.yml:2:12: plugins.enabled must be 'all' or a list of plugin names, not 'some'"),
    ("enabled duplicate", "plugins:\n  enabled: [yealink, yealink]\n",
     "bad.yml:2:22: plugins.enabled: 'yealink' is listed twice"),
    ("enabled bad name", "plugins:\n  enabled:\n    - \"../x\"\n",
     "bad.yml:3:7: plugins.enabled: '../x' is not a valid plugin name"),
    ("settings list", "plugins:\n  settings: [a]\n",
     "bad.yml:2:13: plugins.settings must be a mapping of plugin name to settings"),
    ("settings not map of maps", "plugins:\n  settings:\n    yealink: 3\n",
     "bad.yml:3:14: plugins.settings.yealink must be a mapping, not a scalar"),
    ("section scalar", "tftp: 5\n", "bad.yml:1:7: tftp must be a mapping, not a scalar"),
    ("top-level list", "- a\n- b\n",
     "bad.yml:1:1: the configuration must be a mapping of keys, not a list"),
    ("data_dir list", "data_dir: [x]\n", "bad.yml:1:11: data_dir must be a string, not a list"),
    ("empty root", "tftp:\n  root: \"\"\n", "bad.yml:2:9: tftp.root must not be empty"),
    ("missing tftp root", "tftp:\n  root: nothere\n",
     f"bad.yml:2:9: tftp.root: {T}/nothere: no such folder"),
    ("http root is a file", "http:\n  root: capture.pcap\n",
     f"bad.yml:2:9: http.root: {T}/capture.pcap: not a folder"),
    ("missing plugins dir", "plugins:\n  dir: /nonexistent/plugins\n",
     "bad.yml:2:8: plugins.dir: /nonexistent/plugins: no such folder"),
    ("missing pcap file", "dhcp_sniffer:\n  pcap_file: nothere.pcap\n",
     f"bad.yml:2:14: dhcp_sniffer.pcap_file: {T}/nothere.pcap: No such file or directory"),
    ("interface and pcap", "dhcp_sniffer:\n  interface: eth0\n  pcap_file: capture.pcap\n",
     "bad.yml:3:14: dhcp_sniffer: set either interface or pcap_file, not both"),
    ("bad interface name", "dhcp_sniffer:\n  interface: \"eth0/x\"\n",
     "bad.yml:2:14: dhcp_sniffer.interface 'eth0/x' is not a valid interface name"),
    ("security negative", "security:\n  ban_s: -1\n",
     "bad.yml:2:10: security.ban_s must be between 0 and 2592000, not -1"),
    ("unknown security key", "security:\n  limit: 3\n",
     "bad.yml:2:3: unknown key 'limit' in security"),
    ("public_url ftp scheme", "provisioning:\n  public_url: \"ftp://192.0.2.10/\"\n",
     "bad.yml:2:15: provisioning.public_url 'ftp://192.0.2.10/' must start with http:// or https:// (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url no scheme", "provisioning:\n  public_url: \"192.0.2.10:8667\"\n",
     "bad.yml:2:15: provisioning.public_url '192.0.2.10:8667' must start with http:// or https:// (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url no host", "provisioning:\n  public_url: \"http://:8667/\"\n",
     "bad.yml:2:15: provisioning.public_url 'http://:8667/' has no host (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url empty host", "provisioning:\n  public_url: \"https:///base\"\n",
     "bad.yml:2:15: provisioning.public_url 'https:///base' has no host (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url bad port", "provisioning:\n  public_url: \"http://192.0.2.10:80a/\"\n",
     "bad.yml:2:15: provisioning.public_url 'http://192.0.2.10:80a/' has no valid port (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url port 0", "provisioning:\n  public_url: \"http://192.0.2.10:0\"\n",
     "bad.yml:2:15: provisioning.public_url 'http://192.0.2.10:0' has a port outside 1..65535 (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url port 70000", "provisioning:\n  public_url: \"http://192.0.2.10:70000\"\n",
     "bad.yml:2:15: provisioning.public_url 'http://192.0.2.10:70000' has a port outside 1..65535 (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url query", "provisioning:\n  public_url: \"http://192.0.2.10/?x=1\"\n",
     "bad.yml:2:15: provisioning.public_url 'http://192.0.2.10/?x=1' must not have a query (?) or a fragment (#) (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url userinfo", "provisioning:\n  public_url: \"http://u:p@192.0.2.10/\"\n",
     "bad.yml:2:15: provisioning.public_url 'http://u:p@192.0.2.10/' must not carry a user name or password (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url bad v6", "provisioning:\n  public_url: \"http://[fe80::zz]:8667\"\n",
     "bad.yml:2:15: provisioning.public_url 'http://[fe80::zz]:8667' has no valid [IPv6] host (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url space", "provisioning:\n  public_url: \"http://prov example.com\"\n",
     "bad.yml:2:15: provisioning.public_url 'http://prov example.com' must not contain spaces, quotes, braces or control characters (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url bad host char", "provisioning:\n  public_url: \"http://prov_x!.example.com\"\n",
     "bad.yml:2:15: provisioning.public_url 'http://prov_x!.example.com' has a host that is not a name or an address (e.g. \"http://192.0.2.10:8667\" or \"https://prov.example.com/base\")"),
    ("public_url a list", "provisioning:\n  public_url: [a]\n",
     "bad.yml:2:15: provisioning.public_url must be a string, not a list"),
    ("duplicate key", "log_level: info\nlog_level: debug\n",
     "bad.yml:2:1: duplicate key 'log_level' (first at line 1)"),
    ("anchor", "tftp: &t {retries: 1}\n", "bad.yml:1:7: anchors (&t) are not supported"),
    ("syntax error", "tftp: {listen: \"a\"\n",
     "bad.yml:2:1: YAML syntax error: did not find expected ',' or '}' while parsing a flow mapping"),
]

for name, text, want in CASES:
    p = check(text)
    got = p.stderr.rstrip("\n")
    t.ok(p.returncode == 1 and got == want, f"malformed: {name}",
         f"exit {p.returncode}\nwant: {want}\ngot:  {got}")

# a missing default folder names the key to set
sub = os.path.join(tmp, "nodirs")
os.makedirs(sub)
p = check("", cwd=sub)
want = f"bad.yml: tftp.root: {sub}/tftpboot: no such folder (the default; set tftp.root)"
t.ok(p.returncode == 1 and p.stderr.strip() == want, "missing default folder", p.stderr)

p = subprocess.run([PHONEPROVD, "-c", "nothere.yml", "--check"], cwd=tmp, capture_output=True,
                   text=True)
t.ok(p.returncode == 1 and p.stderr.strip() == "nothere.yml: cannot open: No such file or directory",
     "missing config file", p.stderr)

# valid files: exit 0
for name, text in [
    ("empty file", ""),
    ("comments only", "# nothing\n"),
    ("empty sections", "tftp:\nhttp:\nplugins:\n  settings:\n"),
    ("public_url http", "provisioning:\n  public_url: \"http://192.0.2.10:8667\"\n"),
    ("public_url https path", "provisioning:\n  public_url: \"https://prov.example.com/base/\"\n"),
    ("public_url v6", "provisioning:\n  public_url: \"http://[2001:db8::1]:8667\"\n"),
    ("public_url empty", "provisioning:\n  public_url: \"\"\n"),
    ("every key", """data_dir: var
log_level: debug
tftp: { listen: "0.0.0.0:69", root: tftpboot, max_blksize: 8, max_windowsize: 65535,
        timeout_ms: 10, retries: 0 }
http: { listen: "[::1]:8080", root: tftpboot }
api: { listen: "[::]:8666", token_file: t1, admin_token_file: /tmp/t2 }
dhcp_sniffer: { interface: "", pcap_file: capture.pcap }
autoprov: false
security: { unknown_mac_limit: 0, unknown_mac_window_s: 1, ban_s: 0 }
plugins:
  dir: """ + os.path.join(os.environ.get("PP_SRC", os.getcwd()), "plugins") + """
  enabled: [yealink, snom]
  settings: { yealink: { server: "10.0.0.1", lines: [1, 2] }, snom: {} }
"""),
]:
    p = check(text, name="good.yml")
    t.ok(p.returncode == 0 and p.stdout.startswith("good.yml: ok"), f"valid: {name}",
         p.stdout + p.stderr)

# the shipped default is valid
src = os.environ.get("PP_SRC", os.getcwd())
p = subprocess.run([PHONEPROVD, "-c", os.path.join(src, "phoneprov.yml"), "--check"],
                   capture_output=True, text=True)
t.ok(p.returncode == 0, "shipped phoneprov.yml passes --check", p.stderr)

p = subprocess.run([PHONEPROVD, "--help"], capture_output=True, text=True)
t.ok(p.returncode == 0 and "--check" in p.stdout, "phoneprovd --help", p.stderr)
p = subprocess.run([PHONEPROVD, "--version"], capture_output=True, text=True)
t.ok(p.returncode == 0 and p.stdout.startswith("phoneprovd "), "phoneprovd --version")
p = subprocess.run([PHONEPROVD, "--bogus"], capture_output=True, text=True)
t.ok(p.returncode == 2, "phoneprovd unknown option exits 2", p.stderr)

shutil.rmtree(tmp, ignore_errors=True)
t.done()
