#!/usr/bin/python3
"""Generate the DHCP test captures (run with Debian's /usr/bin/python3, which has scapy).

    /usr/bin/python3 tests/e2e/dhcp/gen_captures.py [OUTDIR]   (default: tests/e2e/dhcp/captures)

Writes, deterministically (fixed timestamps, fixed xids):
  vendors.pcap    Ethernet: DISCOVER/OFFER/REQUEST/ACK flows with every bundled vendor's
                  option-60 strings; ACKs bind 192.0.2.x; a little non-DHCP noise
  vlan.pcap       Ethernet with 802.1Q and QinQ (0x88a8 outer + 0x8100 inner) tags
  sll.pcap        Linux cooked capture (DLT_LINUX_SLL), as captured on "any"
  raw.pcap        raw IPv4 (LINKTYPE_RAW)
  edge.pcap       valid but unusual: option overload, split options (RFC 3396),
                  RFC 3004 user class, relay agent info, Ethernet padding, BOOTP without 53
  malformed.pcap  packets every one of which the parser must refuse (PP_EINVAL)
  manifest.json   for every packet: expected parse result and facts; expected devices

The C unit test (test_dhcp_parse.c) and the integration test (test_dhcp_import.py) read
manifest.json, so captures and expectations cannot drift apart.
"""
import json
import os
import struct
import sys

from scapy.all import Ether, Dot1Q, Dot1AD, IP, UDP, ARP, Raw, CookedLinux, wrpcap  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "captures")
SERVER_MAC = "02:00:5e:00:02:01"
SERVER_IP = "192.0.2.1"
T0 = 1700000000

DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = 1, 2, 3, 4, 5, 6, 7, 8

# Every bundled plugin's real option-60 forms (see plugins/*/plugin.yml extract rules).
PHONES = [
    # mac, vendor class, hostname, expected device
    ("80:5e:c0:a1:b2:c3", "yealink SIP-T46S 66.86.0.15", "SIP-T46S",
     dict(vendor="Yealink", model="T46S", version="66.86.0.15", plugin="yealink")),
    ("80:5e:c0:11:22:33", "yealink SIP-T54W 96.86.0.100", "SIP-T54W",
     dict(vendor="Yealink", model="T54W", version="96.86.0.100", plugin="yealink")),
    ("80:5e:c0:44:55:66", "yealink", None,
     dict(vendor="Yealink", plugin="yealink")),
    ("00:04:f2:ab:cd:ef", "Polycom-VVX410", "VVX410",
     dict(vendor="Polycom", model="VVX410", plugin="polycom")),
    ("64:16:7f:01:02:03", "Polycom-VVX_250", None,
     dict(vendor="Polycom", plugin="polycom")),
    ("00:0e:08:d0:0d:01", "Cisco SPA508G", "SipuraSPA",
     dict(vendor="Cisco", model="SPA508G", plugin="cisco-spa")),
    ("00:0e:08:d0:0d:02", "Cisco CP-7841-3PCC", None,
     dict(vendor="Cisco", model="CP-7841-3PCC", plugin="cisco-mpp")),
    ("00:0b:82:12:34:56", "Grandstream GXP2170 dslforum.org", "GXP2170",
     dict(vendor="Grandstream", model="GXP2170", plugin="grandstream")),
    ("00:04:13:aa:bb:cc", "snomD735", "snomD735-AABBCC",
     dict(vendor="Snom", model="D735", plugin="snom")),
    ("00:0f:d3:05:48:48", "digium_D40_1_4_0_0_57389", None,
     dict(vendor="Digium", model="D40", version="1.4.0.0.57389", plugin="digium")),
    ("0c:38:3e:10:20:30", "Fanvil X6 2.10.2.6887", "X6",
     dict(vendor="Fanvil", model="X6", version="2.10.2.6887", plugin="fanvil")),
]

# Option 60 as bytes, not text:
# - Cisco 79xx send their vendor class NUL-terminated (wazo-provd-plugins cisco
#   common.py option 60 examples, dhcpd-update cisco.conf);
# - SoundPoint IP phones send an RFC 3925 vendor class (enterprise 13885): the
#   IP 601 decode printed in the SoundPoint IP / SoundStation IP administrator
#   guide ("Parsing Vendor ID Information").
CISCO_7940 = b"Cisco Systems, Inc. IP Phone CP-7940G\0"
POLYCOM_IP601 = bytes.fromhex(
    "0000363d6f" "0107" + b"Polycom".hex() + "0215" + b"SoundPointIP-SPIP_601".hex() +
    "0310" + b"2345-11605-001,2".hex() + "041c" + b"SIP/Tip.XXXX/08-Jun-07 10:44".hex() +
    "051d" + b"BR/3.1.0.XXXX/28-Apr-05 13:30".hex() + "ff")
PHONES += [
    ("00:1e:4a:34:56:78", CISCO_7940, None,
     dict(vendor="Cisco", model="CP-7940G", plugin="cisco-enterprise")),
    ("00:04:f2:60:10:01", POLYCOM_IP601, None,
     dict(vendor="Polycom", model="SPIP601", plugin="polycom")),
]

PARAMS = [1, 3, 6, 15, 42, 43, 66, 67, 120, 150, 160]


def vci_text(v):
    """Option 60 as the parser shows it: one trailing NUL dropped, printable
    ASCII kept, backslash doubled, other bytes as \\xNN."""
    if isinstance(v, str):
        v = v.encode()
    if v.endswith(b"\0"):
        v = v[:-1]
    return "".join("\\\\" if c == 0x5c else chr(c) if 0x20 <= c < 0x7f else f"\\x{c:02x}"
                   for c in v)


def vci_facts(v):
    """The manifest facts of an option 60 value: its text and its bytes."""
    if not v:
        return {"vendor_class": "", "vendor_class_hex": ""}
    b = v.encode() if isinstance(v, str) else v
    return {"vendor_class": vci_text(b), "vendor_class_hex": b.hex()}


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ip_bytes(ip):
    return bytes(int(x) for x in ip.split("."))


def opt(code, data):
    if isinstance(data, str):
        data = data.encode()
    if isinstance(data, int):
        data = bytes([data])
    return bytes([code, len(data)]) + data


def bootp(op, mac, xid, ciaddr="0.0.0.0", yiaddr="0.0.0.0", siaddr="0.0.0.0",
          options=b"", htype=1, hlen=6, sname=b"", file=b"", cookie=0x63825363, end=True):
    """A BOOTP/DHCP payload; options are raw bytes (END appended when end)."""
    chaddr = mac_bytes(mac) if mac else b""
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128sI", op, htype, hlen, 0, xid, 0, 0x8000,
                      ip_bytes(ciaddr), ip_bytes(yiaddr), ip_bytes(siaddr), b"\0" * 4,
                      chaddr.ljust(16, b"\0"), sname.ljust(64, b"\0"), file.ljust(128, b"\0"),
                      cookie)
    return hdr + options + (b"\xff" if end else b"")


def client_frame(mac, payload, src="0.0.0.0", dst="255.255.255.255"):
    return Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=src, dst=dst) / \
        UDP(sport=68, dport=67) / Raw(payload)


def server_frame(mac, payload):
    return Ether(src=SERVER_MAC, dst=mac) / IP(src=SERVER_IP, dst="255.255.255.255") / \
        UDP(sport=67, dport=68) / Raw(payload)


class Capture:
    def __init__(self, name, linktype=1):
        self.name = name
        self.linktype = linktype
        self.pkts = []
        self.expect = []

    def add(self, pkt, rc, facts=None, what=""):
        raw = bytes(pkt) if not isinstance(pkt, bytes) else pkt
        self.pkts.append(raw)
        self.expect.append({"index": len(self.pkts) - 1, "rc": rc, "what": what,
                            "facts": facts or {}})

    def write(self):
        """Classic pcap (microsecond, little-endian), written by hand: deterministic bytes."""
        path = os.path.join(OUT, self.name)
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, self.linktype))
            for i, raw in enumerate(self.pkts):
                f.write(struct.pack("<IIII", T0 + i, 0, len(raw), len(raw)))
                f.write(raw)
        return {"file": self.name, "linktype": self.linktype, "packets": self.expect}


def flow(cap, mac, vci, hostname, ip, xid, wrap=lambda p: p, vlan=0):
    """DISCOVER, OFFER, REQUEST, ACK for one phone."""
    cid = b"\x01" + mac_bytes(mac)
    base = opt(61, cid) + opt(55, bytes(PARAMS))
    if vci:
        base += opt(60, vci)
    if hostname:
        base += opt(12, hostname)
    common = dict(vci_facts(vci), mac=mac, hostname=hostname or "", client_id=cid.hex(),
                  vlan=vlan)
    plist = ",".join(str(c) for c in PARAMS)
    cap.add(wrap(client_frame(mac, bootp(1, mac, xid, options=opt(53, DISCOVER) + base))), "ok",
            dict(common, msg_type=DISCOVER, ip="", bound=0, param_list=plist), "discover")
    srv = opt(54, ip_bytes(SERVER_IP)) + opt(51, struct.pack("!I", 3600)) + \
        opt(1, ip_bytes("255.255.255.0")) + opt(66, f"http://{SERVER_IP}/")
    cap.add(wrap(server_frame(mac, bootp(2, mac, xid, yiaddr=ip, siaddr=SERVER_IP,
                                         options=opt(53, OFFER) + srv))), "ok",
            dict(vci_facts(None), mac=mac, msg_type=OFFER, ip="", bound=0, server_id=SERVER_IP,
                 vlan=vlan), "offer")
    req = opt(53, REQUEST) + opt(50, ip_bytes(ip)) + opt(54, ip_bytes(SERVER_IP)) + base
    cap.add(wrap(client_frame(mac, bootp(1, mac, xid, options=req))), "ok",
            dict(common, msg_type=REQUEST, ip="", bound=0, requested_ip=ip, server_id=SERVER_IP),
            "request")
    cap.add(wrap(server_frame(mac, bootp(2, mac, xid, yiaddr=ip, siaddr=SERVER_IP,
                                         options=opt(53, ACK) + srv))), "ok",
            {"mac": mac, "msg_type": ACK, "ip": ip, "bound": 1, "server_id": SERVER_IP,
             "vlan": vlan}, "ack")


def vendors():
    cap = Capture("vendors.pcap")
    devices = {}
    for i, (mac, vci, host, dev) in enumerate(PHONES):
        ip = f"192.0.2.{100 + i}"
        flow(cap, mac, vci, host, ip, 0x1000 + i)
        devices[mac] = dict(dev, ip=ip)
    # renewal: REQUEST from a bound client carries ciaddr
    mac, vci = PHONES[0][0], PHONES[0][1]
    cap.add(Ether(src=mac, dst=SERVER_MAC) / IP(src="192.0.2.100", dst=SERVER_IP) /
            UDP(sport=68, dport=67) /
            Raw(bootp(1, mac, 0x2000, ciaddr="192.0.2.100", options=opt(53, REQUEST) + opt(60, vci))),
            "ok", {"mac": mac, "msg_type": REQUEST, "ip": "192.0.2.100", "bound": 0,
                   "vendor_class": vci}, "renewing request (ciaddr)")
    # noise: ARP, DNS, IPv6, UDP to other ports
    cap.add(Ether(src=SERVER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=SERVER_IP, pdst="192.0.2.2"),
            "not_dhcp", what="arp")
    cap.add(Ether() / IP(src="192.0.2.9", dst=SERVER_IP) / UDP(sport=5353, dport=53) / Raw(b"x" * 30),
            "not_dhcp", what="dns")
    cap.add(Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=546, dport=547) /
            Raw(b"\x01" * 20), "not_dhcp", what="ipv6")
    cap.add(Ether() / IP(src="192.0.2.9", dst=SERVER_IP, proto=6) / Raw(b"\0" * 20), "not_dhcp",
            what="tcp")
    return cap, devices


def vlan():
    cap = Capture("vlan.pcap")
    devices = {}

    def tag100(p):
        e = p[Ether]
        return Ether(src=e.src, dst=e.dst) / Dot1Q(vlan=100) / e.payload

    def qinq(p):
        e = p[Ether]
        return Ether(src=e.src, dst=e.dst, type=0x88a8) / Dot1AD(vlan=200, type=0x8100) / \
            Dot1Q(vlan=300) / e.payload

    mac, vci = "80:5e:c0:00:01:00", "yealink SIP-T48S 66.86.0.15"
    flow(cap, mac, vci, None, "192.0.2.150", 0x3000, tag100, vlan=100)
    devices[mac] = dict(vendor="Yealink", model="T48S", version="66.86.0.15", plugin="yealink",
                        ip="192.0.2.150")
    mac, vci = "00:0b:82:00:03:00", "Grandstream GXP2140 dslforum.org"
    flow(cap, mac, vci, None, "192.0.2.151", 0x3001, qinq, vlan=300)
    devices[mac] = dict(vendor="Grandstream", model="GXP2140", plugin="grandstream",
                        ip="192.0.2.151")
    return cap, devices


def sll():
    cap = Capture("sll.pcap", linktype=113)
    mac, vci = "00:04:13:00:11:13", "snomD785"

    def cooked(p):
        e = p[Ether]
        return CookedLinux(pkttype=1, lladdrtype=1, lladdrlen=6, src=mac_bytes(e.src) + b"\0\0",
                           proto=0x0800) / e.payload

    flow(cap, mac, vci, None, "192.0.2.160", 0x4000, cooked)
    return cap, {mac: dict(vendor="Snom", model="D785", plugin="snom", ip="192.0.2.160")}


def raw():
    cap = Capture("raw.pcap", linktype=101)
    mac, vci = "00:0f:d3:00:01:01", "digium_D70_1_4_0_0_57389"
    flow(cap, mac, vci, None, "192.0.2.170", 0x5000, lambda p: p[IP])
    return cap, {mac: dict(vendor="Digium", model="D70", version="1.4.0.0.57389", plugin="digium",
                           ip="192.0.2.170")}


def edge():
    cap = Capture("edge.pcap")
    devices = {}
    # option overload = 3: vendor class in the file field, host name in sname
    mac = "80:5e:c0:00:02:01"
    vci = "yealink SIP-T42S 66.86.0.15"
    p = bootp(1, mac, 0x6000, options=opt(53, DISCOVER) + opt(52, 3),
              file=opt(60, vci) + b"\xff", sname=opt(12, "t42s-lab") + b"\xff")
    cap.add(client_frame(mac, p), "ok", {"mac": mac, "msg_type": DISCOVER,
                                         "vendor_class": vci, "hostname": "t42s-lab"},
            "overload 3: options in file and sname")
    devices[mac] = dict(vendor="Yealink", model="T42S", version="66.86.0.15", plugin="yealink")
    # RFC 3396: option 60 split in two instances, concatenated
    mac = "00:04:f2:00:02:02"
    p = bootp(1, mac, 0x6001, options=opt(53, DISCOVER) + opt(60, "Polycom-") + opt(60, "VVX450"))
    cap.add(client_frame(mac, p), "ok", {"mac": mac, "vendor_class": "Polycom-VVX450"},
            "split option 60")
    devices[mac] = dict(vendor="Polycom", model="VVX450", plugin="polycom")
    # RFC 3004 user class with two instances; relay agent info; trailing NUL in host name
    mac = "0c:38:3e:00:02:03"
    uc = b"\x05phone\x03lab"
    relay = b"\x01\x04port\x02\x03sw1"
    p = bootp(1, mac, 0x6002, options=opt(53, REQUEST) + opt(77, uc) + opt(82, relay) +
              opt(12, b"fanvil\0") + opt(60, "Fanvil X5S 2.10.2.6887"))
    cap.add(client_frame(mac, p), "ok", {"mac": mac, "user_class": "phone,lab",
                                         "relay_info": relay.hex(), "hostname": "fanvil",
                                         "vendor_class": "Fanvil X5S 2.10.2.6887"},
            "user class, relay info, NUL-terminated host name")
    devices[mac] = dict(vendor="Fanvil", model="X5S", version="2.10.2.6887", plugin="fanvil")
    # Ethernet padding past the IP datagram (short frames are padded to 60+)
    mac = "00:0e:08:00:02:04"
    fr = bytes(client_frame(mac, bootp(1, mac, 0x6003, options=opt(53, INFORM) +
                                       opt(60, "Cisco SPA504G")))) + b"\0" * 40
    cap.add(fr, "ok", {"mac": mac, "msg_type": INFORM, "vendor_class": "Cisco SPA504G"},
            "ethernet trailer past IP total length")
    devices[mac] = dict(vendor="Cisco", model="SPA504G", plugin="cisco-spa")
    # plain BOOTP with the cookie but no option 53, pads before END
    mac = "02:00:00:00:02:05"
    cap.add(client_frame(mac, bootp(1, mac, 0x6004, options=b"\0\0\0")), "ok",
            {"mac": mac, "msg_type": 0}, "no option 53")
    # non-Ethernet hardware type: no MAC
    cap.add(client_frame("02:00:00:00:02:06",
                         bootp(1, None, 0x6005, htype=6, hlen=6, options=opt(53, DISCOVER))),
            "ok", {"mac": "", "msg_type": DISCOVER}, "htype 6: no mac")
    # high-bit and control bytes in the vendor class are made printable
    mac = "02:00:00:00:02:07"
    cap.add(client_frame(mac, bootp(1, mac, 0x6006, options=opt(53, DISCOVER) +
                                    opt(60, b"ab\x01c\xffd\\"))), "ok",
            dict(vci_facts(b"ab\x01c\xffd\\"), mac=mac), "binary vendor class")
    # a NUL-terminated vendor class split in two instances: the NUL is the last byte
    mac = "02:00:00:00:02:08"
    cap.add(client_frame(mac, bootp(1, mac, 0x6007, options=opt(53, DISCOVER) +
                                    opt(60, b"Cisco Systems, Inc. IP") +
                                    opt(60, b" Phone CP-7960G\0"))), "ok",
            dict(vci_facts(b"Cisco Systems, Inc. IP Phone CP-7960G\0"), mac=mac),
            "NUL-terminated, split option 60")
    # all-zero and broadcast chaddr: parsed, but they key no device
    for i, chaddr in enumerate(("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff")):
        cap.add(client_frame(f"02:00:00:00:02:{9 + i:02x}",
                             bootp(1, chaddr, 0x6008 + i, options=opt(53, DISCOVER) +
                                   opt(60, "yealink SIP-T46S 66.86.0.15"))), "ok",
                {"mac": "", "msg_type": DISCOVER, "vendor_class": "yealink SIP-T46S 66.86.0.15"},
                f"chaddr {chaddr}: no device MAC")
    return cap, devices


def malformed():
    cap = Capture("malformed.pcap")
    n = [0]

    def m():
        n[0] += 1
        return f"02:00:00:00:0b:{n[0]:02x}"

    def ok_payload(mac, options=None):
        return bootp(1, mac, 0x7000 + n[0],
                     options=opt(53, DISCOVER) + opt(60, "yealink SIP-T46S 66.86.0.15")
                     if options is None else options)

    def bad(pkt, what):
        cap.add(pkt, "malformed", what=what)

    mac = m()
    bad(client_frame(mac, ok_payload(mac)[:100]), "truncated BOOTP header (100 bytes)")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, end=False)), "cookie but no END option")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, cookie=0x63825364, options=opt(53, 1))), "bad magic cookie")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, end=False, options=opt(53, 1) + b"\x3c\xc8yealink")),
        "option 60 length past end")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, end=False, options=opt(53, 1) + b"\x3c")),
        "option code without length byte")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=opt(53, 1) + opt(52, 1),
                                file=b"\x3c\x7fyealink")), "overload: file field option past its end")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=opt(53, 1) + opt(52, 7))), "overload value 7")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, hlen=20, options=opt(53, 1))), "hlen 20")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=b"\x35\x00")), "zero-length option 53")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=opt(53, 1) + b"\x3c\x00")), "zero-length option 60")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=opt(53, 1) + b"\x0c\x00")), "zero-length option 12")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=b"\x35\x02\x01\x01")), "option 53 length 2")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=opt(53, 3) + b"\x32\x03\xc0\x00\x02")),
        "option 50 length 3")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=opt(53, 1) + b"\x3d\x01\x01")), "option 61 length 1")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=opt(53, 1) + b"\x52\x01\x01")), "option 82 length 1")
    mac = m()
    bad(client_frame(mac, bootp(3, mac, 1, options=opt(53, 1))), "op 3")
    mac = m()
    big = bytes(client_frame(mac, ok_payload(mac, opt(53, 1) + b"\0" * 8000)))
    big = big[:16] + struct.pack("!H", 65535) + big[18:]  # IP total length 65535 > frame
    bad(big, "giant frame: IP total length 65535, 8.3 kB captured")
    mac = m()
    bad(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(flags="MF", src="0.0.0.0", dst="255.255.255.255") /
        UDP(sport=68, dport=67) / Raw(ok_payload(mac)[:200]), "first fragment (MF) of a DHCP message")
    mac = m()
    fr = bytes(client_frame(mac, ok_payload(mac)))
    bad(fr[:14] + bytes([0x43]) + fr[15:], "IHL 3 (< 5)")
    mac = m()
    bad(Ether(src=mac) / IP(ihl=15, len=40, options=[]) / Raw(b"\0" * 20), "IHL 15 > total length 40")
    mac = m()
    fr = bytes(client_frame(mac, ok_payload(mac)))
    bad(fr[:16] + struct.pack("!H", len(fr) - 14 + 100) + fr[18:], "IP total length past capture")
    mac = m()
    fr = bytes(client_frame(mac, ok_payload(mac)))
    bad(fr[:16] + struct.pack("!H", 10) + fr[18:], "IP total length 10 < header")
    mac = m()
    fr = bytes(client_frame(mac, ok_payload(mac)))
    bad(fr[:38] + struct.pack("!H", 2000) + fr[40:], "UDP length 2000 past the datagram")
    mac = m()
    fr = bytes(client_frame(mac, ok_payload(mac)))
    bad(fr[:38] + struct.pack("!H", 4) + fr[40:], "UDP length 4 < 8")
    mac = m()
    fr = bytes(client_frame(mac, ok_payload(mac)))
    bad(fr[:38] + struct.pack("!H", 8 + 120) + fr[40:], "UDP length cuts BOOTP to 120 bytes")
    bad(bytes(Ether())[:10], "Ethernet frame of 10 bytes")
    bad(bytes(Ether(type=0x8100)) + b"\x00", "802.1Q tag cut off")
    mac = m()
    e = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
    for _ in range(5):
        e = e / Dot1Q(vlan=5)
    bad(e / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) / Raw(ok_payload(mac)),
        "5 stacked VLAN tags")
    mac = m()
    fr = bytes(client_frame(mac, ok_payload(mac)))
    bad(fr[:14] + bytes([0x65]) + fr[15:], "IP version 6 in an IPv4 ethertype")
    mac = m()
    bad(Ether(src=mac) / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67),
        "UDP 68→67 with empty payload")
    mac = m()
    bad(client_frame(mac, bootp(1, mac, 1, options=opt(53, 1) + opt(52, 2),
                                sname=b"\x0c\x70x")), "overload: sname option past its end")
    return cap


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"captures": [], "devices": {}}
    for fn in (vendors, vlan, sll, raw, edge):
        cap, devs = fn()
        manifest["captures"].append(cap.write())
        manifest["devices"].update(devs)
    manifest["captures"].append(malformed().write())
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(len(c["packets"]) for c in manifest["captures"])
    bad = sum(1 for c in manifest["captures"] for p in c["packets"] if p["rc"] == "malformed")
    print(f"wrote {total} packets ({bad} malformed) in {len(manifest['captures'])} captures to {OUT}")


if __name__ == "__main__":
    main()
