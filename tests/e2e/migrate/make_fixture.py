#!/usr/bin/python3
"""Write tests/e2e/migrate/wazo-db: a Wazo provd JSON database (the layout of
/var/lib/wazo-provd/jsondb plus app.json) built from provd's documented
document model (docs/migrating-from-provd.md): one JSON document per file
under configs/ and devices/, file name = document id.

The config tree is the one a Wazo site has: base, defaultconfigdevice,
autoprov (role autocreate), default (role default), a transient config
autocreated for one phone, and one config per line (dict-shaped sip_lines
and funckeys, as provd writes them; two in list shape). 22 devices cover
every bundled phone family. Run it again after changing it; the test
compares the import of these files with the golden renders in golden/."""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "wazo-db")
PBX = "192.0.2.10"
TENANT = "0f4c3a2e-7d1b-4e8a-9c55-3b2a1d0e9f77"

# (plugin id as provd names it, vendor, model, version, mac)
DEVICES = [
    ("wazo-aastra-4.3.0", "Aastra", "6731i", "3.3.1.4322", "00:08:5d:10:00:01"),
    ("wazo-alcatel-myriad", "Alcatel-Lucent", "M5", "2.13.15", "00:80:9f:10:00:02"),
    ("wazo-avaya-4.1", "Avaya", "J139", "4.0.10.3.2", "c8:1f:ea:10:00:03"),
    ("wazo-cisco-sccp-legacy", "Cisco", "CP-7906G", "", "00:1e:4a:10:00:04"),
    ("wazo-cisco-mpp-11.3.7", "Cisco", "CP-6841-3PCC", "11.3.7", "00:ee:ab:10:00:05"),
    ("wazo-cisco-spa-7.5.5", "Cisco", "SPA303", "7.5.5", "e0:5f:b9:10:00:06"),
    ("wazo-digium-2.8.1", "Digium", "D45", "2.8.1", "00:0f:d3:10:00:07"),
    ("wazo-fanvil-serie-x", "Fanvil", "X3S", "2.4.2", "0c:38:3e:10:00:08"),
    ("wazo-gigaset-nx70", "Gigaset", "N670 IP PRO", "2.48.0", "58:9e:c6:10:00:09"),
    ("wazo-gigaset-ip", "Gigaset", "N510 IP PRO", "42.248", "7c:2f:80:10:00:0a"),
    ("wazo-grandstream-1.0.3.5", "Grandstream", "GXP1160", "1.0.3.5", "00:0b:82:10:00:0b"),
    ("wazo-htek-2.0", "Htek", "UC912", "2.0.4.4.64", "00:1f:c1:10:00:0c"),
    ("wazo-jitsi", "Jitsi", "Jitsi", "1.0", "02:00:00:10:00:0d"),
    ("wazo-panasonic-01.133", "Panasonic", "KX-UT123", "01.133", "08:00:23:10:00:0e"),
    ("wazo-patton-6.11", "Patton", "SN4112", "6.11", "00:a0:ba:10:00:0f"),
    ("wazo-polycom-5.4.3", "Polycom", "VVX201", "5.4.3.2007", "00:04:f2:10:00:10"),
    ("wazo-polycom-5.4.3", "Polycom", "VVX150", "5.4.3.2007", "00:04:f2:10:00:11"),
    ("wazo-snom-8.9.3.80", "Snom", "320", "8.9.3.80", "00:04:13:10:00:12"),
    ("wazo-technicolor-ST2030-2.74", "Technicolor", "ST2030", "2.74", "00:14:7f:10:00:13"),
    ("wazo-yealink-v86", "Yealink", "T46S", "66.86.0.15", "80:5e:c0:10:00:14"),
    ("wazo-yealink-v85", "Yealink", "T32G", "32.70.0.120", "00:15:65:10:00:15"),
    ("wazo-zenitel", "Zenitel", "IP station", "", "00:13:cb:10:00:16"),
]


def write(kind, doc_id, doc):
    path = os.path.join(OUT, kind, doc_id)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "configs"))
    os.makedirs(os.path.join(OUT, "devices"))
    with open(os.path.join(OUT, "app.json"), "w") as f:
        json.dump({"plugin_server": "http://provd.example.invalid/plugins/2/stable/",
                   "locale": "fr_FR", "NAT": 0}, f, indent=2, sort_keys=True)
        f.write("\n")
    write("configs", "base", {
        "id": "base", "parent_ids": [], "deletable": False,
        "raw_config": {"ntp_enabled": True, "ntp_ip": PBX, "X_xivo_phonebook_ip": PBX,
                       "timezone": "Europe/Paris", "locale": "fr_FR"}})
    write("configs", "defaultconfigdevice", {
        "id": "defaultconfigdevice", "parent_ids": [], "deletable": False, "X_type": "device",
        "label": "Default config device",
        "raw_config": {"admin_username": "admin", "admin_password": "9486",
                       "user_username": "user", "user_password": "user",
                       "ntp_enabled": True, "ntp_ip": PBX, "sip_dtmf_mode": "RTP-out-of-band",
                       "sip_subscribe_mwi": None}})
    write("configs", "autoprov", {
        "id": "autoprov", "parent_ids": ["base", "defaultconfigdevice"], "role": "autocreate",
        "deletable": False,
        "raw_config": {"sccp_call_managers": {"1": {"ip": PBX}},
                       "sip_lines": {"1": {"display_name": "Autoprov", "number": "autoprov",
                                           "username": "anonymous", "password": "autoprov",
                                           "proxy_ip": PBX, "registrar_ip": PBX}}}})
    write("configs", "default", {
        "id": "default", "parent_ids": [], "role": "default", "deletable": False,
        "X_type": "registrar", "registrar_main": PBX,
        "raw_config": {"sip_proxy_ip": PBX, "sip_registrar_ip": PBX, "sip_transport": "udp",
                       "exten_dnd": "*25", "exten_fwd_unconditional": "*21",
                       "exten_fwd_no_answer": "*22", "exten_fwd_busy": "*23",
                       "exten_fwd_disable_all": "*20", "exten_park": "700",
                       "exten_pickup_call": "*8", "exten_voicemail": "*98"}})
    # the config provd made when the last device below autoprovisioned
    write("configs", "autoprov8c3f2e91d7a04b56", {
        "id": "autoprov8c3f2e91d7a04b56", "parent_ids": ["autoprov"], "transient": True,
        "raw_config": {}})
    for n, (plugin, vendor, model, version, mac) in enumerate(DEVICES[:-1], start=1):
        ext = str(1000 + n)
        line = {"username": f"u{ext}x", "password": f"pw-{ext}", "auth_username": f"u{ext}x",
                "display_name": f"User {ext}", "number": ext, "proxy_ip": PBX,
                "proxy_port": 5060, "registrar_ip": PBX, "registrar_port": 5060,
                "backup_proxy_ip": None, "backup_registrar_ip": None,
                "voicemail": "*98", "dtmf_mode": "RTP-out-of-band"}
        raw = {"sip_lines": {"1": line}, "exten_pickup_call": "*8",
               "X_xivo_user_uuid": f"9a1e{n:04x}-0000-4000-8000-00000000{n:04x}"}
        if n % 3 == 0:   # a second line
            line2 = dict(line, username=f"u{ext}y", number=str(int(ext) + 500),
                         display_name=f"User {ext} bis", password=f"pw2-{ext}")
            raw["sip_lines"]["2"] = line2
        if n % 2 == 0:
            raw["funckeys"] = {
                "1": {"type": "blf", "value": str(1000 + (n % 21) + 1), "label": "Next",
                      "line": 1},
                "3": {"type": "speeddial", "value": "0612345678", "label": "Mobile"},
                "4": {"type": "park", "value": "701", "label": "Park 1"}}
        if n % 4 == 1:
            raw.update({"vlan_enabled": True, "vlan_id": 20 + n, "vlan_priority": 5})
        if n % 5 == 2:
            raw.update({"syslog_enabled": True, "syslog_ip": "192.0.2.20", "syslog_port": 514,
                        "syslog_level": "info"})
        if n in (7, 20):   # written by another tool: list shape
            lines = []
            for k in sorted(raw["sip_lines"], key=int):
                lines.append(dict({kk: vv for kk, vv in raw["sip_lines"][k].items()
                                   if vv is not None}, line=int(k)))
            raw["sip_lines"] = lines
            if "funckeys" in raw:
                raw["funckeys"] = [dict(v, index=int(k)) for k, v in
                                   sorted(raw["funckeys"].items(), key=lambda kv: int(kv[0]))]
        if n == 4:         # the SCCP phone
            raw["protocol"] = "SCCP"
            raw["sccp_call_managers"] = {"1": {"ip": PBX, "port": 2000},
                                         "2": {"ip": "192.0.2.11"}}
        cid = f"line{ext}"
        write("configs", cid, {"id": cid, "parent_ids": ["base", "defaultconfigdevice"],
                               "raw_config": raw, "X_type": "device", "deletable": True})
    for n, (plugin, vendor, model, version, mac) in enumerate(DEVICES, start=1):
        dev_id = f"{n:02x}" + "b7e4c2d91f0a4e6c8d3b5a7f9e1c2d"
        last = n == len(DEVICES)
        doc = {"id": dev_id, "mac": mac, "ip": f"10.0.1.{n}", "vendor": vendor,
               "model": model, "plugin": plugin,
               "config": "autoprov8c3f2e91d7a04b56" if last else f"line{1000 + n}",
               "configured": True, "added": "auto" if last or n % 2 else "manual",
               "options": {"switchboard": False} if n % 3 == 0 else {},
               "description": f"desk {n}", "tenant_uuid": TENANT, "is_new": last,
               "X_xivo_inventory": f"INV-{n:03d}"}
        if version:
            doc["version"] = version
        if n % 4 == 0:
            doc["sn"] = f"SN{n:06d}"
        if n % 5 == 0:
            doc["remote_state_sip_username"] = f"u{1000 + n}x"
        write("devices", dev_id, doc)


if __name__ == "__main__":
    main()
