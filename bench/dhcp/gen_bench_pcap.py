#!/usr/bin/python3
"""Write a capture of N DHCP packets (default 1,000,000) for bench/dhcp.

    gen_bench_pcap.py OUT.pcap [N]

Ethernet frames (every 8th 802.1Q-tagged) of DISCOVER / REQUEST / ACK flows,
one MAC per flow, cycling through every bundled vendor's option-60 strings and a
few unknown ones, options as real phones send them (53, 61, 55, 60, 12, 50, 54).
Built with struct (scapy would take minutes for a million packets)."""
import struct
import sys

VCIS = [
    b"yealink SIP-T46S 66.86.0.15", b"yealink SIP-T54W 96.86.0.100", b"Polycom-VVX410",
    b"Cisco SPA508G", b"Cisco CP-7841-3PCC", b"Grandstream GXP2170 dslforum.org", b"snomD735",
    b"digium_D40_1_4_0_0_57389", b"Fanvil X6 2.10.2.6887", b"MSFT 5.0", b"udhcp 1.36.1",
    b"android-dhcp-13",
]
PARAMS = bytes([1, 3, 6, 15, 42, 43, 66, 67, 120, 150, 160])


def opt(code, data):
    return bytes([code, len(data)]) + data


def frame(i):
    flow, step = divmod(i, 3)
    mac = struct.pack("!HI", 0x0200 | (flow % 7), flow)
    vci = VCIS[flow % len(VCIS)]
    ip = struct.pack("!I", 0xc0000200 | (flow & 0xff))  # 192.0.2.x
    mtype = (1, 3, 5)[step]
    op = 2 if mtype == 5 else 1
    if mtype == 5:
        opts = opt(53, b"\x05") + opt(54, b"\xc0\x00\x02\x01") + opt(51, b"\x00\x00\x0e\x10") + \
            opt(1, b"\xff\xff\xff\x00") + opt(66, b"http://192.0.2.1/")
        yiaddr = ip
    else:
        opts = opt(53, bytes([mtype])) + opt(61, b"\x01" + mac) + opt(55, PARAMS) + opt(60, vci) + \
            opt(12, b"phone-%d" % flow)
        if mtype == 3:
            opts += opt(50, ip) + opt(54, b"\xc0\x00\x02\x01")
        yiaddr = b"\0" * 4
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s192xI", op, 1, 6, 0, flow, 0, 0x8000, b"\0" * 4,
                        yiaddr, b"\0" * 4, b"\0" * 4, mac.ljust(16, b"\0"), 0x63825363) + opts + b"\xff"
    sport, dport = (67, 68) if op == 2 else (68, 67)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(bootp), 0) + bootp
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      b"\0" * 4, b"\xff" * 4)
    eth = b"\xff" * 6 + mac
    if flow % 8 == 0:
        eth += struct.pack("!HH", 0x8100, 100)
    return eth + b"\x08\x00" + iph + udp


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            fr = frame(i)
            f.write(struct.pack("<IIII", 1700000000 + i // 1000, i % 1000, len(fr), len(fr)))
            f.write(fr)


if __name__ == "__main__":
    main()
