#!/usr/bin/python3
"""Write tests/unit/monitor/samples/<plugin>.jsonl: sample call records of every
bundled monitor, each built from the vendor's documented record layout (the
layouts are written out below, independently of the plugins' YAML), with the
record fields phoneprov must make of it.

Rows: {"raw": text as the PBX sends it, "expect": fields or null (ignored),
"source": where the layout comes from}. Times are UTC (the runner sets TZ).
Run: /usr/bin/python3 tests/unit/monitor/gen_samples.py
"""
import json
import os
from datetime import datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "samples")


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00"


def hms(s, sep2=":"):
    return "%02d:%02d%s%02d" % (s // 3600, s % 3600 // 60, sep2, s % 60)


def rec(**kw):
    return {k: v for k, v in kw.items() if v not in (None, "")}


# ---- Avaya IP Office SMDR ------------------------------------------------------
AVAYA_SRC = ("Avaya IP Office Manager, SMDR Fields / SMDR Examples: CSV, Call Start "
             "YYYY/MM/DD HH:MM:SS, Connected Time HH:MM:SS, Ring Time s, Caller, "
             "Direction I/O, Called, Dialled, Account, Is Internal, Call ID, Continuation, "
             "Party1Device/Name, Party2Device/Name, Hold, Park, ... (30 fields, R11: 35)")


def avaya():
    rows = []

    def add(start, conn, ring, caller, d, called, account, internal, cid, cont, p1, p1n, p2,
            p2n, extra_fields=0, note=""):
        f = [start.strftime("%Y/%m/%d %H:%M:%S"), hms(conn), str(ring), caller, d, called,
             called, account, str(internal), str(cid), str(cont), p1, p1n, p2, p2n, "0", "0"]
        if extra_fields:
            f += ["n/a", "", "", "", "", "", "", "", "", "", "", "", ""][:extra_fields]
        direction = "incoming" if d == "I" else "outgoing"
        if internal:
            direction = "internal"
        elif d == "I" and conn == 0 and cont == 0:
            direction = "missed"
        number = caller if d == "I" else called
        exp = rec(parsed=True, start=iso(start), duration_s=conn, ring_s=ring,
                  direction=direction, number=number,
                  ext=p1[1:] if p1.startswith("E") else None, account=account,
                  trunk=p2[1:] if p2.startswith("T") else None,
                  line=p2n if p2.startswith("T") else None)
        exp["extra"] = rec(call_id=str(cid), continuation=str(cont), party1=p1n, party2=p2n)
        rows.append({"raw": ",".join(f) + "\r\n", "expect": exp, "source": AVAYA_SRC,
                     "note": note})

    t = datetime(2024, 6, 28, 9, 28, 41)
    add(t, 0, 9, "8004206", "I", "4324", "", 0, 1000014155, 0, "E4324", "Joe Bloggs",
        "T9161", "LINE 5.1", note="lost incoming call (manual example)")
    add(t, 10, 21, "15", "O", "11", "", 1, 28, 0, "E15", "Extn15", "V9051", "VM Channel 1",
        note="call answered by voicemail (internal)")
    add(t, 13, 7, "01707392200", "I", "299999", "", 0, 1000014160, 1, "E4750", "John Smith",
        "T9002", "LINE 1.2", note="transferred: first segment")
    add(t, 21, 0, "01707392200", "I", "299999", "", 0, 1000014160, 0, "V9502", "VM Channel 2",
        "T9002", "LINE 1.2", note="transferred: second segment to voicemail")
    add(t, 5, 7, "01707299900", "I", "390664", "", 0, 1000013, 0, "E23", "Extn23", "T9001",
        "Line 1.2", extra_fields=13, note="external incoming, 30 fields")
    add(t, 44, 4, "4688", "O", "4207", "", 1, 1000013898, 0, "E4688", "Joe Bloggs", "E4207",
        "John Smith", note="internal call")
    for i in range(8):
        add(t + timedelta(minutes=7 * i), 30 + 61 * i, i, "2%03d" % i, "O",
            "0%010d" % (1207000000 + 37 * i), "ACC%d" % i if i % 2 else "", 0, 2000 + i, 0,
            "E2%03d" % i, "User %d" % i, "T9%03d" % (i + 1), "Line %d.1" % (i + 1),
            extra_fields=18 if i % 3 == 0 else 0, note="outgoing external")
    for i in range(6):
        add(t + timedelta(hours=i, seconds=13 * i), 120 * i, 3 + i, "+4420%08d" % (555000 + i),
            "I", "1%03d" % i, "", 0, 3000 + i, 0, "E1%03d" % i, "Agent %d" % i,
            "T9%03d" % (20 + i), "SIP Line %d" % i, note="incoming external")
    for i in range(4):
        add(datetime(2023, 12, 31, 23, 59, 50 + i), 0, 15 + i, "0800%06d" % i, "I", "200",
            "", 0, 4000 + i, 0, "E200", "Reception", "T9100", "PRI 1", note="missed calls")
    rows.append({"raw": "Call Start,Call duration,Ring duration,Caller,Direction,"
                 "Called number,Dialled number,Account,Is Internal,Call ID,Continuation\r\n",
                 "expect": None, "source": AVAYA_SRC, "note": "file header line: ignored"})
    rows.append({"raw": "2024/13/45 99:99:99,xx,1,2\r\n",
                 "expect": {"parsed": False}, "source": AVAYA_SRC, "note": "garbage: kept raw"})
    return rows


# ---- Panasonic KX-TDA/TDE/NS SMDR --------------------------------------------------
PANA_SRC = ("Panasonic KX-TDA/KX-NS1000 Feature Guide, SMDR: pattern A (80): Date 8, Time 7 "
            "(end, hh:mmAM), Ext 5, CO 2, Dial Number 25, Ring 4 (m'ss), Duration 8 "
            "(hh:mm'ss), Acc Code 10, CD 2; pattern C (120): CO 4, Dial Number 50, Cost 11; "
            "one space between fields")


def pana_line(pattern, end, ext, co, dial, ring, dur, acc, cd, cost=""):
    t = end.strftime("%I:%M%p")
    date = end.strftime("%d/%m/%y")
    ring_s = "" if ring is None else "%d'%02d" % (ring // 60, ring % 60)
    dur_s = hms(dur, "'")
    if pattern == "A":
        parts = [date.ljust(8), t.ljust(7), ext.ljust(5), co.rjust(2, "0"), dial.ljust(25),
                 ring_s.rjust(4), dur_s.ljust(8), acc.ljust(10), cd.ljust(2)]
    else:
        parts = [date.ljust(8), t.ljust(7), ext.ljust(5), co.rjust(4, "0"), dial.ljust(50),
                 ring_s.rjust(4), dur_s.ljust(8), cost.rjust(11), acc.ljust(10), cd.ljust(2)]
    return " ".join(parts)


def panasonic():
    rows = []

    def add(pattern, end, ext, co, dial, ring, dur, acc="", cd="", cost="", note=""):
        raw = pana_line(pattern, end, ext, co, dial, ring, dur, acc, cd, cost)
        direction, number, ddi, name = "outgoing", dial, "", ""
        if "<I>" in dial:
            direction = "incoming"
            head, _, tail = dial.partition("<I>")
            if head.startswith("<D>"):
                ddi = head[3:]
            i = len(tail)
            while i and (tail[i - 1].isdigit() or tail[i - 1] in "*#+"):
                i -= 1
            name, number = tail[:i], tail[i:]
        elif dial.startswith("EXT") or dial.endswith("EXT"):
            direction, number = "internal", dial.replace("EXT", "")
        if direction == "incoming" and (dur == 0 or cd == "NA"):
            direction = "missed"
        start = end.replace(second=0) - timedelta(seconds=dur)
        exp = rec(parsed=True, start=iso(start), direction=direction, number=number, ext=ext,
                  line=co.rjust(2 if pattern == "A" else 4, "0"), ring_s=ring, duration_s=dur,
                  account=acc)
        extra = rec(ddi=ddi, caller_name=name.strip(), condition=cd, cost=cost.strip())
        if extra:
            exp["extra"] = extra
        rows.append({"raw": raw + "\r\n", "expect": exp, "source": PANA_SRC,
                     "note": note or "pattern " + pattern})

    d = datetime(2024, 2, 1, 10, 3)
    add("A", d, "1200", "1", "<I>12345678901234567890", 315, 0, note="unanswered incoming")
    add("A", d, "1200", "1", "<I>", 5, 65, acc="9876543210", note="incoming without CLI")
    add("A", d, "1200", "1", "1234567890123456", None, 65, acc="9876543210")
    add("A", d, "*123", "1", "1234567890123456", None, 65, note="verified code call")
    add("A", d, "1234", "1", "<I>ABC COMPANY12345678", 5, 65, acc="9876543210",
        note="caller name and number")
    add("A", d, "1234", "1", "<D>CDE9876<I>Q COMPANY", 5, 65, note="DDI, name, no number")
    add("A", d, "1234", "2", "EXT1235", None, 42, note="intercom call")
    add("A", d, "1301", "3", "0442071234567", None, 3725, cd="TR", note="transferred")
    add("A", d.replace(hour=13, minute=7), "1301", "4", "0171555123", None, 5, cd="FW",
        note="PM time, forwarded")
    add("A", d.replace(hour=0, minute=30), "105", "5", "<I>0301234567", 12, 600,
        note="12:30AM")
    add("A", d.replace(hour=12, minute=1), "105", "5", "<I>0301234567", 3, 0, cd="NA",
        note="no answer condition")
    for i in range(6):
        add("A", d + timedelta(days=i, minutes=11 * i), "1%03d" % i, str(i + 1),
            "0%09d" % (800000000 + 1111 * i), None, 31 * i + 1, acc="" if i % 2 else "77%d" % i)
    for i in range(6):
        add("C", d + timedelta(hours=i), "2%03d" % i, str(100 + i),
            ("<I>Caller %d 0049301234%03d" % (i, i)) if i % 2 else ("0049891234%04d" % i),
            7 if i % 2 else None, 95 * i, cost="" if i % 2 else "%d.50EUR" % i,
            acc="4711" if i == 2 else "")
    add("C", d, "1230", "1", "<I>ABC COMPANY123456789012345", 5, 5, note="pattern C incoming")
    rows.append({"raw": "Date     Time    Ext   CO  Dial Number               Ring Duration "
                 "Acc code   CD\r\n", "expect": None, "source": PANA_SRC, "note": "page header"})
    rows.append({"raw": "-" * 79 + "\r\n", "expect": None, "source": PANA_SRC,
                 "note": "header underline"})
    rows.append({"raw": pana_line("A", d, "1234", "0", "LOG IN", None, 0, "", "") + "\r\n",
                 "expect": None, "source": PANA_SRC, "note": "log-in line: not a call"})
    rows.append({"raw": "**/**/** **:****  1234 01 0123456                      0'05 00:01'05\r\n",
                 "expect": {"parsed": False}, "source": PANA_SRC,
                 "note": "date changed during the call: kept raw"})
    return rows


# ---- Siemens HiPath 3000 CDRC compressed format -----------------------------------------
HIPATH_SRC = ("Hicom 150 E Office / HiPath 3000 service manual, CDR compressed format: 1-8 date "
              "DD.MM.YY (end), 9-16 time hh:mm:ss (end), 17-19 trunk, 20-25 station, 26-30 ring, "
              "31-38 duration hh:mm:ss, 39-63 number, 64-74 charge, 75-76 info element, 77-87 "
              "project code, 88-98 MSN, 99-103 seizure code, 104-105 LCR route")


def hipath():
    rows = []
    dirs = {0: "incoming", 1: "incoming", 2: "outgoing", 3: "incoming", 4: "outgoing",
            5: "incoming", 6: "outgoing", 7: "incoming", 8: "outgoing", 9: "outgoing"}

    def add(end, trunk, ext, ring, dur, number, charge, info, acct="", msn="", note=""):
        ring_s = "" if ring is None else "%02d:%02d" % (ring // 60, ring % 60)
        line = (end.strftime("%d.%m.%y") + end.strftime("%H:%M:%S") + str(trunk).rjust(3) +
                ext.rjust(6) + ring_s.ljust(5) + ("" if dur is None else hms(dur)).ljust(8) +
                number.ljust(25) + charge.rjust(11) + str(info).rjust(2) + acct.ljust(11) +
                msn.rjust(11) + "".rjust(5) + "".rjust(2))
        direction = dirs[info % 50]
        if direction == "incoming" and not dur:
            direction = "missed"
        start = end - timedelta(seconds=dur or 0)
        exp = rec(parsed=True, start=iso(start), trunk=str(trunk), ext=ext, ring_s=ring,
                  duration_s=dur, number=number, direction=direction, account=acct)
        exp["extra"] = rec(charge=charge.strip(), msn=msn, info=str(info))
        rows.append({"raw": line + "\r\n", "expect": exp, "source": HIPATH_SRC, "note": note})

    e = datetime(2000, 9, 13, 14, 14, 0)
    add(e, 1, "100", 5, 274, "0891234567", "", 1, note="incoming answered")
    add(e, 2, "101", None, 90, "0049301234567", "12", 2, acct="4711", note="outgoing, charged")
    add(e, 3, "102", 20, 0, "0301112222", "", 1, note="incoming not answered")
    add(e, 4, "103", None, 33, "01701234567", "3", 4, note="outgoing, other service")
    add(e, 5, "104", 3, 61, "0221999888", "", 3, note="incoming, other service")
    add(e, 6, "105", 2, 120, "0211555444", "", 5, note="incoming forwarded")
    add(e, 7, "106", None, 45, "0711333222", "2", 6, note="outgoing forwarded")
    add(e, 8, "107", 4, 600, "0511777666", "", 7, note="conference with incoming")
    add(e, 9, "108", None, 601, "0611222111", "9", 8, note="conference with outgoing")
    add(e, 10, "109", None, 15, "0911444555", "1", 9, note="forwarding to external")
    add(e, 11, "110", None, None, "0301234567", "", 0, note="call information (missed list)")
    add(e, 12, "111", 6, 75, "0401234567", "", 51, note="DISA incoming")
    add(e, 13, "112", None, 18, "0451234567", "1", 52, note="DISA outgoing")
    add(e, 14, "113", None, 9, "012345678????", "1", 2, note="last four digits suppressed")
    for i in range(8):
        add(datetime(2024, 3, 1 + i, 8 + i, 5 * i, 7 * i), 20 + i, "2%02d" % i,
            None if i % 2 == 0 else 10 + i, 37 * (i + 1), "0%d55512%03d" % (i + 1, i),
            str(i) if i % 2 == 0 else "", 2 if i % 2 == 0 else 1, acct="P%d" % i if i < 3 else "",
            msn="4930111%02d" % i if i % 3 == 0 else "", note="day %d" % (i + 1))
    rows.append({"raw": "\r\n", "expect": None, "source": HIPATH_SRC, "note": "empty line"})
    rows.append({"raw": "31.02.24 25:00:00  1   100                                    \r\n",
                 "expect": {"parsed": False}, "source": HIPATH_SRC, "note": "impossible date"})
    return rows


# ---- Mitel MiVoice Business SMDR -------------------------------------------------------
MITEL_SRC = ("MiVoice Business SAT help, SMDR - Recorded Information: long call flag, date "
             "mm/dd, start time hh:mm[p], duration hh:mm:ss, calling party (4), attendant, "
             "time to answer (3), digits dialed (26), completion status, speed call flag, "
             "called party (4), transfer flag, third party (4), account code (12), system id "
             "(3); column numbers reconstructed (see plugins/mitel-mivb/plugin.yml)")


def mitel():
    rows = []

    def add(start, dur, calling, answer, digits, status, called, xfer="", third="", acct="",
            system="", pm_style=False, note=""):
        long_flag = " " if dur < 300 else "-" if dur < 600 else "%" if dur < 1800 else "+"
        if pm_style:
            h = start.hour % 12 or 12
            t = "%02d:%02d%s" % (h, start.minute, "p" if start.hour >= 12 else " ")
        else:
            t = start.strftime("%H:%M") + " "
        line = (long_flag + start.strftime("%m/%d") + " " + t + " " + hms(dur) + " " +
                calling.ljust(4) + " " + answer.rjust(3) + " " + digits.ljust(26) +
                status.ljust(1) + " " + called.ljust(4) + xfer.ljust(1) + third.ljust(4) +
                " " + acct.ljust(12) + " " + system.ljust(3))
        if calling.startswith(("T", "X")):
            direction, number, ext = "incoming", digits, called
            trunk, ring = calling[1:], int(answer) if answer.strip().isdigit() else None
        elif called.startswith(("T", "X")):
            direction, number, ext, trunk, ring = "outgoing", digits, calling, called[1:], None
        else:
            direction, number, ext, trunk, ring = "internal", called, calling, None, None
        if direction == "incoming" and dur == 0:
            direction = "missed"
        exp = rec(parsed=True, start="XXXX" + iso(start)[4:], duration_s=dur,
                  direction=direction, number=number, ext=ext, trunk=trunk, ring_s=ring,
                  account=acct)
        exp["extra"] = rec(status=status.strip(), transfer=xfer.strip(), third_party=third,
                           system=system, time_to_answer=answer.strip())
        rows.append({"raw": line + "\r\n", "expect": exp, "source": MITEL_SRC, "note": note})

    s = datetime(2000, 1, 12, 10, 52)
    add(s, 17, "2200", "", "96135551234", "A", "T012", note="outgoing on trunk 12")
    add(s, 125, "T005", "008", "4100", "", "2301", note="incoming DID, 8 s to answer")
    add(s, 0, "T005", "020", "4100", "", "2301", note="incoming, unanswered")
    add(s, 63, "2201", "", "", "", "2202", note="internal")
    add(s.replace(hour=14, minute=5), 330, "2203", "", "918005550199", "A", "T001",
        pm_style=True, note="12-hour clock, PM, 5-10 min")
    add(s.replace(hour=9, minute=15), 700, "2204", "", "9011441234567890", "A", "T002",
        pm_style=True, note="12-hour clock, AM, 10-30 min")
    add(s, 2000, "2205", "", "96135550000", "A", "T003", acct="123456", note="long call, account")
    add(s, 42, "T010", "002", "5555", "", "2206", xfer="T", third="2207", note="transferred")
    add(s, 88, "2208", "", "96135557777", "B", "T004", note="completion status B")
    add(s, 12, "X020", "001", "7000", "", "2209", note="incoming via X trunk")
    add(s, 59, "2210", "", "", "", "2211", xfer="C", third="2212", note="conference")
    for i in range(11):
        add(datetime(2000, 2 + i, 3 + i, 7 + i, 10 + i), 20 * i + 1,
            "3%03d" % i if i % 2 else "T%03d" % (30 + i), "" if i % 2 else "%03d" % (i + 2),
            "9%010d" % (6135550000 + i) if i % 2 else "%04d" % (4000 + i), "A" if i % 2 else "",
            "T%03d" % (40 + i) if i % 2 else "3%03d" % i, acct="A%d" % i if i % 4 == 1 else "",
            system="%03d" % i if i % 3 == 0 else "", note="mixed %d" % i)
    rows.append({"raw": "\r\n", "expect": None, "source": MITEL_SRC, "note": "empty line"})
    rows.append({"raw": "SMDR stream resumed\r\n", "expect": {"parsed": False},
                 "source": MITEL_SRC, "note": "not a record: kept raw"})
    return rows


# ---- Asterisk AMI Cdr events ------------------------------------------------------------
AMI_SRC = ("Asterisk AMI documentation, Cdr event: Event: Cdr, AccountCode, Source, Destination, "
           "DestinationContext, CallerID, Channel, DestinationChannel, LastApplication, LastData, "
           "StartTime, AnswerTime, EndTime, Duration, BillableSeconds, Disposition, AMAFlags, "
           "UniqueID, UserField; Key: Value lines, an empty line ends the event")


def asterisk():
    rows = []

    def add(src, dst, start, dur, bill, disp, chan, dchan, acct="", ctx="from-internal",
            cid="", uid="1719566921.42", note=""):
        answer = "" if disp != "ANSWERED" else (start + timedelta(seconds=dur - bill)).strftime(
            "%Y-%m-%d %H:%M:%S")
        fields = [("Event", "Cdr"), ("Privilege", "cdr,all"), ("AccountCode", acct),
                  ("Source", src), ("Destination", dst), ("DestinationContext", ctx),
                  ("CallerID", cid or '"" <%s>' % src), ("Channel", chan),
                  ("DestinationChannel", dchan), ("LastApplication", "Dial"),
                  ("LastData", dchan.split("-")[0] + ",30"),
                  ("StartTime", start.strftime("%Y-%m-%d %H:%M:%S")), ("AnswerTime", answer),
                  ("EndTime", (start + timedelta(seconds=dur)).strftime("%Y-%m-%d %H:%M:%S")),
                  ("Duration", str(dur)), ("BillableSeconds", str(bill)),
                  ("Disposition", disp), ("AMAFlags", "DOCUMENTATION"), ("UniqueID", uid),
                  ("UserField", "")]
        raw = "".join("%s: %s\r\n" % kv for kv in fields) + "\r\n"
        import re
        ext_re, long_re = re.compile(r"^\d{2,6}$"), re.compile(r"^(?:\+|\d{7,})")

        def peer(c):
            m = re.match(r"^(?:SIP|PJSIP|IAX2|DAHDI|Local)/([^-/@]+)", c)
            return m.group(1) if m else None
        direction, number, ext, trunk = None, dst, src, None
        if ext_re.match(src) and ext_re.match(dst):
            direction = "internal"
        if ext_re.match(src) and long_re.match(dst):
            direction, trunk = "outgoing", peer(dchan)
        if long_re.match(src):
            direction, number, ext, trunk = "incoming", src, dst, peer(chan)
            if disp in ("NO ANSWER", "BUSY", "FAILED", "CONGESTION"):
                direction = "missed"
        exp = rec(parsed=True, start=iso(start), duration_s=bill, account=acct, number=number,
                  ext=ext, direction=direction, trunk=trunk)
        exp["extra"] = rec(unique_id=uid, disposition=disp, context=ctx,
                           caller_id=cid or '"" <%s>' % src, channel=chan,
                           destination_channel=dchan)
        rows.append({"raw": raw, "expect": exp, "source": AMI_SRC, "note": note})

    t = datetime(2024, 6, 28, 9, 28, 41)
    add("201", "202", t, 40, 35, "ANSWERED", "PJSIP/201-00000001", "PJSIP/202-00000002",
        note="internal")
    add("201", "004930123456", t, 95, 80, "ANSWERED", "PJSIP/201-00000003",
        "PJSIP/trunk-00000004", acct="sales", note="outgoing")
    add("+4930123456", "201", t, 30, 22, "ANSWERED", "PJSIP/trunk-00000005",
        "PJSIP/201-00000006", ctx="from-trunk", note="incoming")
    add("+4930123456", "201", t, 25, 0, "NO ANSWER", "PJSIP/trunk-00000007",
        "PJSIP/201-00000008", ctx="from-trunk", note="missed")
    add("0301234567", "202", t, 3, 0, "BUSY", "SIP/provider-00000009", "SIP/202-0000000a",
        ctx="from-trunk", note="busy: missed")
    add("201", "*97", t, 12, 12, "ANSWERED", "PJSIP/201-0000000b", "", note="feature code")
    add("202", "+441234567890", t, 0, 0, "FAILED", "PJSIP/202-0000000c",
        "PJSIP/trunk-0000000d", note="failed outgoing")
    add("0301234567", "s", t, 18, 18, "ANSWERED", "DAHDI/1-1", "", ctx="ivr",
        note="incoming to IVR")
    for i in range(14):
        src, dst = ("2%02d" % i, "0049%09d" % (301000000 + i)) if i % 2 else \
                   ("0049%09d" % (891000000 + i), "2%02d" % i)
        add(src, dst, t + timedelta(minutes=13 * i), 10 + 7 * i, 5 * i,
            "ANSWERED" if i % 3 else "NO ANSWER",
            ("PJSIP/%s-%08x" % (src, i)) if i % 2 else ("PJSIP/carrier-%08x" % i),
            ("PJSIP/carrier-%08x" % (100 + i)) if i % 2 else ("PJSIP/%s-%08x" % (dst, 100 + i)),
            acct="" if i % 4 else "cc%d" % i, uid="1719566921.%d" % (100 + i),
            note="mixed %d" % i)
    rows.append({"raw": "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n",
                 "expect": None, "source": AMI_SRC, "note": "another event: not selected"})
    rows.append({"raw": "Event: Cdr\r\nSource: 201\r\nDestination: 202\r\nStartTime: yesterday\r\n\r\n",
                 "expect": {"parsed": False}, "source": AMI_SRC, "note": "bad StartTime: raw"})
    return rows


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, fn in (("avaya-ipoffice", avaya), ("panasonic-smdr", panasonic),
                     ("siemens-hipath", hipath), ("mitel-mivb", mitel),
                     ("asterisk-ami", asterisk)):
        rows = fn()
        with open(os.path.join(OUT, name + ".jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r, sort_keys=True) + "\n")
        print(name, len(rows), "rows,", sum(1 for r in rows if r["expect"]), "records")


if __name__ == "__main__":
    main()
