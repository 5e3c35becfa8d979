#!/usr/bin/python3
"""A DHCP client for the namespace tests (Debian's /usr/bin/python3 with scapy):
sends one DISCOVER from a given MAC, with or without option 60, and prints
the OFFER it gets as JSON: {"offer": bool, "yiaddr": "...", "options": {code:
hex}}. Run inside the client's network namespace:

    dhcp_client.py IFACE MAC [--vci TEXT | --vci-hex HEX] [--timeout S]
"""
import argparse
import json
import random
import sys

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, conf, srp1  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("mac")
    ap.add_argument("--vci")
    ap.add_argument("--vci-hex")
    ap.add_argument("--timeout", type=float, default=6.0)
    a = ap.parse_args()
    conf.verb = 0
    conf.checkIPaddr = False  # the OFFER comes from the server's address, not the broadcast one
    chaddr = bytes(int(x, 16) for x in a.mac.split(":"))
    xid = random.randint(1, 0xffffffff)
    opts = [("message-type", "discover"),
            # what phones ask for: subnet, router, DNS, NTP, option 43, 66, 67, 160
            ("param_req_list", [1, 3, 6, 42, 43, 66, 67, 160])]
    vci = bytes.fromhex(a.vci_hex) if a.vci_hex else a.vci.encode() if a.vci else None
    if vci is not None:
        opts.append(("vendor_class_id", vci))
    opts.append("end")
    pkt = (Ether(src=a.mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
           UDP(sport=68, dport=67) / BOOTP(chaddr=chaddr + b"\0" * 10, xid=xid, flags=0x8000) /
           DHCP(options=opts))
    ans = srp1(pkt, iface=a.iface, timeout=a.timeout)
    out = {"offer": False}
    if ans is not None and BOOTP in ans and ans[BOOTP].xid == xid:
        out["offer"] = True
        out["yiaddr"] = ans[BOOTP].yiaddr
        out["siaddr"] = ans[BOOTP].siaddr
        out["file"] = ans[BOOTP].file.rstrip(b"\0").decode(errors="replace")
        # the raw option bytes: scapy names some codes, the test wants numbers
        raw = bytes(ans[DHCP])
        options, i = {}, 0
        while i < len(raw):
            code = raw[i]
            if code == 255:
                break
            if code == 0:
                i += 1
                continue
            n = raw[i + 1]
            options[str(code)] = options.get(str(code), "") + raw[i + 2:i + 2 + n].hex()
            i += 2 + n
        out["options"] = options
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
