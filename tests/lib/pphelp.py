"""Shared helpers for phoneprov's integration tests.

Tests start the real phoneprovd on 127.0.0.1 with free ports and a temporary
data folder, wait for its READY=1 (sd_notify protocol on a unix datagram
socket the test owns), and talk to it with real clients.

    with Daemon() as d:             # or Daemon(extra={"autoprov": False})
        d.tftp_port, d.http_port, d.api_port, d.data_dir, d.token, d.admin_token
        d.cli("devices", "list", "--json")   -> subprocess.CompletedProcess
        d.api("POST", "/devices", {"mac": ...}, admin=True) -> (status, JSON)
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PHONEPROVD = os.environ.get("PHONEPROVD", "build/phoneprovd")
PHONEPROV = os.environ.get("PHONEPROV", "build/phoneprov")
SRC = os.environ.get("PP_SRC", os.getcwd())
BUILD = os.environ.get("PP_BUILD", os.path.join(SRC, "build"))


def _port_range():
    """Ports below the kernel's ephemeral range: a client socket elsewhere on
    the machine can never be handed one of them between free_port() and the
    daemon's bind()."""
    lo = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    if lo > 12000:
        return 10000, lo - 1
    return None


def free_port(kind=socket.SOCK_STREAM):
    """A port free for both TCP and UDP on 127.0.0.1 (outside the ephemeral
    range when possible, so that concurrent tests' clients cannot take it)."""
    rng = _port_range()
    rnd = random.Random()
    for _ in range(200):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", rnd.randint(*rng) if rng else 0))
        except OSError:
            s.close()
            continue
        port = s.getsockname()[1]
        s.close()
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        o = socket.socket(socket.AF_INET, other)
        try:
            o.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            o.close()
    raise RuntimeError("no free port")


def _ports_held_by_self():
    """Local ports of the sockets this process has open (from /proc)."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/self/fd"):
            try:
                link = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "udp", "tcp6", "udp6"):
        try:
            with open(f"/proc/self/net/{table}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if len(cols) > 9 and cols[9] in inodes:
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        except (OSError, StopIteration, ValueError):
            continue
    return ports


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON strings are valid YAML double-quoted scalars
    raise TypeError(v)


def to_yaml(obj, indent=0):
    """Tiny YAML writer for test configs (maps, lists, scalars)."""
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        if not obj:
            return pad + "{}\n"
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:\n{to_yaml(v, indent + 1)}")
            elif isinstance(v, dict):
                out.append(f"{pad}{k}: {{}}\n")
            elif isinstance(v, list):
                out.append(f"{pad}{k}: []\n")
            else:
                out.append(f"{pad}{k}: {yaml_scalar(v)}\n")
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, (dict, list)) and v:
                body = to_yaml(v, indent + 1).lstrip()
                out.append(f"{pad}- {body}")
            else:
                out.append(f"{pad}- {yaml_scalar(v) if not isinstance(v, (dict, list)) else json.dumps(v)}\n")
    return "".join(out)


def deep_update(base, extra):
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_update(base[k], v)
        else:
            base[k] = v
    return base


class Daemon:
    """A phoneprovd on loopback with its own temporary folder."""

    def __init__(self, extra=None, tftp_root=None, http_root=None, plugins_dir=None,
                 env=None, args=(), ready_timeout=10.0, keep=False, wrapper=(), pass_fds=()):
        """wrapper: argv run before phoneprovd (e.g. setpriv ... --); the
        temporary folder and the notify socket are then open to every user,
        so that a daemon running as another user can use them."""
        self.tmp = tempfile.mkdtemp(prefix="pptest-")
        self.wrapper = list(wrapper)
        self.pass_fds = tuple(pass_fds)  # kept open for phoneprovd (socket activation)
        if self.wrapper:
            os.chmod(self.tmp, 0o755)
        self.keep = keep
        self.tftp_port = free_port(socket.SOCK_DGRAM)
        self.http_port = free_port()
        self.api_port = free_port()
        self.data_dir = os.path.join(self.tmp, "var")
        self.root = tftp_root or os.path.join(self.tmp, "tftpboot")
        os.makedirs(self.root, exist_ok=True)
        cfg = {
            "data_dir": self.data_dir,
            "log_level": "debug",
            "tftp": {"listen": f"127.0.0.1:{self.tftp_port}", "root": self.root},
            "http": {"listen": f"127.0.0.1:{self.http_port}", "root": http_root or self.root},
            "api": {"listen": f"127.0.0.1:{self.api_port}",
                    "token_file": os.path.join(self.tmp, "var", "api-token"),
                    "admin_token_file": os.path.join(self.tmp, "var", "admin-token")},
            "plugins": {"dir": plugins_dir or os.path.join(SRC, "plugins")},
        }
        deep_update(cfg, extra or {})
        self.cfg = cfg
        self.config_path = os.path.join(self.tmp, "phoneprov.yml")
        with open(self.config_path, "w") as f:
            f.write(to_yaml(cfg))
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.args = list(args)
        self.ready_timeout = ready_timeout
        self.proc = None
        self.log_path = os.path.join(self.tmp, "phoneprovd.log")

    # -- port collisions -------------------------------------------------
    _retries = 0

    def _auto_ports(self):
        """Sections whose listen address is still the one picked here."""
        out = []
        for sec, attr in (("tftp", "tftp_port"), ("http", "http_port"), ("api", "api_port")):
            if self.cfg.get(sec, {}).get("listen") == f"127.0.0.1:{getattr(self, attr)}":
                out.append((sec, attr))
        return out

    def _collision(self, log):
        """True when the daemon lost one of our auto-picked ports to ANOTHER
        process (a test that occupies the port on purpose is not retried)."""
        if "Address already in use" not in log:
            return False
        ports = {getattr(self, attr) for _, attr in self._auto_ports()}
        return bool(ports) and not (_ports_held_by_self() & ports)

    def _new_ports(self):
        for sec, attr in self._auto_ports():
            port = free_port(socket.SOCK_DGRAM if sec == "tftp" else socket.SOCK_STREAM)
            setattr(self, attr, port)
            self.cfg[sec]["listen"] = f"127.0.0.1:{port}"
        with open(self.config_path, "w") as f:
            f.write(to_yaml(self.cfg))

    # -- lifecycle -------------------------------------------------------
    def start(self):
        sock_path = os.path.join(self.tmp, "notify.sock")
        if os.path.exists(sock_path):  # restart after stop()
            os.unlink(sock_path)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(sock_path)
        if self.wrapper:
            os.chmod(sock_path, 0o777)
        env = dict(self.env)
        env["NOTIFY_SOCKET"] = sock_path
        self.log = open(self.log_path, "wb")
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(self.wrapper + [PHONEPROVD, "-c", self.config_path] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     pass_fds=self.pass_fds)
        self.notify.settimeout(0.05)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            try:
                msg = self.notify.recv(4096).decode(errors="replace")
                if "READY=1" in msg.split("\n"):
                    self.ready_s = time.monotonic() - self.t_start
                    self._load_tokens()
                    return self
            except socket.timeout:
                pass
            if self.proc.poll() is not None:
                log = self.read_log()
                if self._retries < 3 and self._collision(log):
                    # another process took a port between free_port() and bind: new ports
                    self._retries += 1
                    self.log.close()
                    self.notify.close()
                    self._new_ports()
                    return self.start()
                raise RuntimeError(f"phoneprovd exited {self.proc.returncode} before READY:\n"
                                   + log)
        self.proc.kill()
        raise RuntimeError("phoneprovd not READY in time:\n" + self.read_log())

    def _load_tokens(self):
        self.token = self.admin_token = None
        for attr, key in (("token", "token_file"), ("admin_token", "admin_token_file")):
            try:
                with open(self.cfg["api"][key]) as f:
                    setattr(self, attr, f.read().strip())
            except OSError:
                pass

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("phoneprovd did not stop in time:\n" + self.read_log())
        rc = self.proc.returncode
        self.log.close()
        self.notify.close()
        self.proc = None
        return rc

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_events(self, event=None):
        """Parsed key=value log lines (list of dicts), optionally one event."""
        out = []
        for line in self.read_log().splitlines():
            kv = parse_kv(line)
            if event is None or kv.get("event") == event:
                out.append(kv)
        return out

    def api(self, method, path, body=None, admin=False, token=None, timeout=60, raw=False,
            headers=None, data=None):
        """One REST call to /api/v1<path> with the user (or admin, or the
        given) token: (status, body). body is the parsed JSON (None when
        empty; the text when it is not JSON), or the bytes with raw=True. A
        connection that fails is (0, its error). data: raw bytes to send
        instead of a JSON body (set Content-Type in headers)."""
        tok = token if token is not None else (self.admin_token if admin else self.token)
        hdrs = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
        hdrs.update(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}/api/v1{path}", method=method,
            data=data, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                st, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            st, data = e.code, e.read()
        except OSError as e:
            return 0, (str(e).encode() if raw else str(e))
        if raw:
            return st, data
        if not data.strip():
            return st, None
        try:
            return st, json.loads(data)
        except ValueError:
            return st, data.decode(errors="replace")

    def cli(self, *args, check=False, input=None, timeout=60):
        return run_cli(self.config_path, *args, check=check, input=input, timeout=timeout)

    def cleanup(self):
        if self.proc:
            try:
                self.stop()
            except Exception:
                pass
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            sys.stderr.write("---- phoneprovd log ----\n" + self.read_log()[-20000:] + "\n")
        self.cleanup()
        return False


def run_cli(config_path, *args, check=False, input=None, timeout=60):
    cmd = [PHONEPROV]
    if config_path:
        cmd += ["-c", config_path]
    cmd += list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} exited {p.returncode}: {p.stderr}")
    return p


def parse_kv(line):
    """Parse one key=value log line (values may be double-quoted)."""
    out, i, n = {}, 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        j = line.find("=", i)
        if j < 0:
            break
        key = line[i:j]
        i = j + 1
        if i < n and line[i] == '"':
            i += 1
            val = []
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n:
                    i += 1
                val.append(line[i])
                i += 1
            i += 1
            out[key] = "".join(val)
        else:
            j = line.find(" ", i)
            j = n if j < 0 else j
            out[key] = line[i:j]
            i = j
    return out


def mirrored(path, want=None, timeout=10.0, has=None):
    """The content of a file of the rendered-files mirror (<data_dir>/tftpboot)
    once it is there (and equals `want`, or contains `has`, when given), else
    what is there (None when nothing). The mirror is written after a phone is
    answered, by its own thread: a test waits for it instead of assuming it
    is instant."""
    deadline = time.monotonic() + timeout
    got = None
    while True:
        try:
            with open(path, "rb" if isinstance(want, bytes) else "r") as f:
                got = f.read()
        except OSError:
            got = None
        if got is not None and (want is None or got == want) and (has is None or has in got):
            return got
        if time.monotonic() >= deadline:
            return got
        time.sleep(0.02)


class TapRunner:
    """Minimal TAP output so meson counts each case:  t = TapRunner(); t.ok(cond, name)."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}", flush=True)
            for line in str(detail).splitlines():
                print(f"# {line}", flush=True)
        return cond

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)


class SipPhone:
    """A UDP 'phone' on 127.0.0.1: records every SIP request it receives and
    answers each with `code` (None: stays silent, for Timer F)."""

    def __init__(self, code=200, reason="OK"):
        import threading
        self.code, self.reason = code, reason
        self.received = []  # (monotonic time, text)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        import time
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            text = data.decode(errors="replace")
            self.received.append((time.monotonic(), text))
            if self.code is None:
                continue
            keep = [ln for ln in text.split("\r\n")
                    if ln.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")]
            ans = (f"SIP/2.0 {self.code} {self.reason}\r\n" + "\r\n".join(keep) +
                   "\r\nContent-Length: 0\r\n\r\n")
            self.sock.sendto(ans.encode(), peer)

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()
