"""A small raw TFTP client for tests: sends exactly the bytes we choose (real
clients mangle hostile names) and records every packet it receives."""
import socket
import struct
import time

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6


def rrq(name, mode="octet", options=None, opcode=RRQ):
    if isinstance(name, str):
        name = name.encode("latin-1")
    pkt = struct.pack("!H", opcode) + name + b"\0" + mode.encode() + b"\0"
    for k, v in (options or {}).items():
        pkt += k.encode() + b"\0" + str(v).encode() + b"\0"
    return pkt


def ack(block):
    return struct.pack("!HH", ACK, block & 0xFFFF)


def error(code, msg):
    return struct.pack("!HH", ERROR, code) + msg.encode() + b"\0"


def parse(pkt):
    """(opcode, fields): DATA -> (block, payload); ERROR -> (code, msg); OACK -> dict."""
    if len(pkt) < 2:
        return None, None
    op = struct.unpack("!H", pkt[:2])[0]
    if op == DATA and len(pkt) >= 4:
        return op, (struct.unpack("!H", pkt[2:4])[0], pkt[4:])
    if op == ACK and len(pkt) >= 4:
        return op, struct.unpack("!H", pkt[2:4])[0]
    if op == ERROR and len(pkt) >= 4:
        return op, (struct.unpack("!H", pkt[2:4])[0], pkt[4:].split(b"\0")[0].decode("latin-1"))
    if op == OACK:
        parts = pkt[2:].split(b"\0")
        d = {}
        for i in range(0, len(parts) - 1, 2):
            d[parts[i].decode().lower()] = parts[i + 1].decode()
        return op, d
    return op, None


class Result:
    def __init__(self):
        self.data = b""
        self.packets = []      # every (opcode, fields, from) received
        self.data_packets = 0
        self.error = None      # (code, msg)
        self.oack = None
        self.tid = None
        self.ok = False


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=3.0):
        self.addr = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(timeout)

    def close(self):
        self.sock.close()

    def recv(self):
        pkt, frm = self.sock.recvfrom(70000)
        op, f = parse(pkt)
        return op, f, frm, pkt

    def get(self, name, mode="octet", options=None, blksize=512, windowsize=1, dup_acks=False,
            max_packets=10**7, on_data=None):
        """A full RRQ transfer. Returns a Result (never raises on protocol errors)."""
        r = Result()
        self.sock.sendto(rrq(name, mode, options), self.addr)
        expect = 1
        got_in_window = 0
        while len(r.packets) < max_packets:
            try:
                op, f, frm, pkt = self.recv()
            except socket.timeout:
                r.error = ("timeout", "client timeout")
                return r
            r.packets.append((op, f, frm))
            if r.tid is None:
                r.tid = frm
            if op == ERROR:
                r.error = f
                return r
            if op == OACK:
                r.oack = f
                blksize = int(f.get("blksize", blksize))
                windowsize = int(f.get("windowsize", 1))
                self.sock.sendto(ack(0), frm)
                continue
            if op != DATA:
                r.error = ("bad", f"unexpected opcode {op}")
                return r
            r.data_packets += 1
            block, payload = f
            if on_data:
                on_data(self, r, block, payload, frm)
            if block != expect & 0xFFFF:
                # out of order / duplicate: ack the last good block
                self.sock.sendto(ack(expect - 1), frm)
                got_in_window = 0
                continue
            r.data += payload
            expect += 1
            got_in_window += 1
            last = len(payload) < blksize
            if last or got_in_window >= windowsize:
                self.sock.sendto(ack(block), frm)
                if dup_acks:
                    self.sock.sendto(ack(block), frm)
                got_in_window = 0
            if last:
                r.ok = True
                return r
        return r


def get(port, name, **kw):
    c = Client(port, timeout=kw.pop("timeout", 3.0))
    try:
        return c.get(name, **kw)
    finally:
        c.close()


def wait_for(pred, timeout=5.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def check_clean_exit(t, d, rc=None):
    """Stop the daemon (if still running) and assert a clean exit: status 0 and
    no sanitizer report in its log."""
    if rc is None:
        rc = d.stop()
    log = d.read_log()
    bad = [l for l in log.splitlines() if "Sanitizer" in l or "runtime error" in l]
    t.ok(rc == 0 and not bad, "phoneprovd exits cleanly (status 0, no sanitizer report)",
         f"rc={rc} {bad[:3]}")
