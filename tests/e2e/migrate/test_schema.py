#!/usr/bin/python3
"""raw_config schema, config roles and provd's device fields (issue 14), on
one daemon over its real REST API (and the CLI on the same store):

- every invalid raw_config of the table below is a 422 naming the field
  path, with the exact message; the CLI refuses the same way;
- valid documents in provd's dict shape and in the list shape, X_ keys and
  nulls are accepted and kept as written;
- roles: one config per role (409), a bad role (422), deletable: false
  protects from DELETE (409); a never-seen phone gets a transient clone of
  the autocreate config, remote_state_sip_username is set from line 1 when
  it fetches its trigger file, and the clone goes with the device; a device
  created without a config gets the default-role config;
- provd's device fields (id, added, configured, options, ...) are kept."""
import time
import urllib.request

from pphelp import Daemon, TapRunner

t = TapRunner()
P = "raw_config."


def must(field, msg):
    return (P + field, P + field + " " + msg)


CASES = [
    # (raw_config, field, message)
    ({"sip_lines": {"1": {"proxy_port": "5060"}}},
     *must("sip_lines.1.proxy_port", "must be an integer 1-65535, not a string")),
    ({"sip_lines": {"1": {"proxy_port": 70000}}},
     *must("sip_lines.1.proxy_port", "must be 1-65535, got 70000")),
    ({"sip_lines": {"2": {"registrar_port": 0}}},
     *must("sip_lines.2.registrar_port", "must be 1-65535, got 0")),
    ({"vlan_id": "abc"}, *must("vlan_id", "must be an integer 0-4094, not a string")),
    ({"vlan_id": 4095}, *must("vlan_id", "must be 0-4094, got 4095")),
    ({"vlan_id": -1}, *must("vlan_id", "must be 0-4094, got -1")),
    ({"vlan_id": 1.5}, *must("vlan_id", "must be an integer 0-4094, not a number with a fraction")),
    ({"vlan_priority": 8}, *must("vlan_priority", "must be 0-7, got 8")),
    ({"vlan_pc_port_id": 5000}, *must("vlan_pc_port_id", "must be 0-4094, got 5000")),
    ({"vlan_enabled": True}, *must("vlan_enabled", "is true but vlan_id is not set")),
    ({"vlan_enabled": True, "vlan_id": None},
     *must("vlan_enabled", "is true but vlan_id is not set")),
    ({"ntp_enabled": True}, *must("ntp_enabled", "is true but ntp_ip is not set")),
    ({"dns_enabled": True}, *must("dns_enabled", "is true but dns_ip is not set")),
    ({"syslog_enabled": True, "syslog_port": 514},
     *must("syslog_enabled", "is true but syslog_ip is not set")),
    ({"ntp_enabled": "yes", "ntp_ip": "192.0.2.1"},
     *must("ntp_enabled", "must be true or false, not a string")),
    ({"syslog_level": "verbose"},
     *must("syslog_level", 'must be one of critical, error, warning, info, debug, got "verbose"')),
    ({"syslog_port": "514"}, *must("syslog_port", "must be an integer 1-65535, not a string")),
    ({"sip_dtmf_mode": "rfc2833"},
     *must("sip_dtmf_mode", 'must be one of RTP-in-band, RTP-out-of-band, SIP-INFO, got "rfc2833"')),
    ({"sip_srtp_mode": "optional"},
     *must("sip_srtp_mode", 'must be one of disabled, preferred, required, got "optional"')),
    ({"sip_transport": "sctp"}, *must("sip_transport", 'must be one of udp, tcp, tls, got "sctp"')),
    ({"sip_transport": "UDP"}, *must("sip_transport", 'must be one of udp, tcp, tls, got "UDP"')),
    ({"sip_transport": 5060}, *must("sip_transport", "must be one of udp, tcp, tls, not an integer")),
    ({"protocol": "IAX"}, *must("protocol", 'must be one of SIP, SCCP, got "IAX"')),
    ({"timezone": "Europe/../etc/passwd"},
     *must("timezone", 'must be an IANA time zone name such as Europe/Paris, got "Europe/../etc/passwd"')),
    ({"timezone": 1}, *must("timezone", "must be a string (an IANA time zone name), not an integer")),
    ({"locale": "french"}, *must("locale", 'must be a locale such as fr_FR (xx_YY), got "french"')),
    ({"locale": "fr-FR"}, *must("locale", 'must be a locale such as fr_FR (xx_YY), got "fr-FR"')),
    ({"ntp_ip": "not an ip!"}, *must("ntp_ip", 'must be an IP address or host name, got "not an ip!"')),
    ({"ntp_ip": 123}, *must("ntp_ip", "must be a string (an IP address or host name), not an integer")),
    ({"sip_backup_registrar_ip": ["192.0.2.1"]},
     *must("sip_backup_registrar_ip", "must be a string (an IP address or host name), not a list")),
    ({"sip_proxy_port": True}, *must("sip_proxy_port", "must be an integer 1-65535, not a boolean")),
    ({"http_base_url": "ftp://192.0.2.1/"},
     *must("http_base_url", 'must be an http:// or https:// URL without spaces, got "ftp://192.0.2.1/"')),
    ({"http_port": 0}, *must("http_port", "must be 1-65535, got 0")),
    ({"tftp_port": "69"}, *must("tftp_port", "must be an integer 1-65535, not a string")),
    ({"admin_password": 1234}, *must("admin_password", "must be a string, not an integer")),
    ({"sip_subscribe_mwi": "yes"}, *must("sip_subscribe_mwi", "must be true or false, not a string")),
    ({"tz": "UTC"}, *must("tz", "is not a known raw_config key (keys of your own must start with X_)")),
    ({"sip_lines": {"one": {}}},
     *must("sip_lines.one", 'is not a line number: the keys of sip_lines must be numbers 1-9999 ("1", "2"...)')),
    ({"sip_lines": {"01": {}}},
     *must("sip_lines.01", 'is not a line number: the keys of sip_lines must be numbers 1-9999 ("1", "2"...)')),
    ({"sip_lines": {"1": "alice"}}, *must("sip_lines.1", "must be an object (a line), not a string")),
    ({"sip_lines": "1001"},
     *must("sip_lines", 'must be a list of objects or an object of numbered objects ({"1": {...}}), not a string')),
    ({"sip_lines": [{"line": 0}]}, *must("sip_lines[0].line", "must be 1-999, got 0")),
    ({"sip_lines": [{"line": 1}, {"username": 1002}]},
     *must("sip_lines[1].username", "must be a string, not an integer")),
    ({"sip_lines": {"1": {"dtmf_mode": "inband"}}},
     *must("sip_lines.1.dtmf_mode", 'must be one of RTP-in-band, RTP-out-of-band, SIP-INFO, got "inband"')),
    ({"sip_lines": {"1": {"srtp_mode": "yes"}}},
     *must("sip_lines.1.srtp_mode", 'must be one of disabled, preferred, required, got "yes"')),
    ({"sip_lines": {"1": {"transport": "quic"}}},
     *must("sip_lines.1.transport", 'must be one of udp, tcp, tls, got "quic"')),
    ({"sip_lines": {"2": {"proxy_ip": ""}}},
     *must("sip_lines.2.proxy_ip", 'must be an IP address or host name, got ""')),
    ({"sip_lines": {"1": {"nickname": "al"}}},
     *must("sip_lines.1.nickname", "is not a known line key (keys of your own must start with X_)")),
    ({"funckeys": {"1": {"type": "blf"}}}, *must("funckeys.1.value", "is required for a blf key")),
    ({"funckeys": {"2": {"type": "intercom", "value": "1"}}},
     *must("funckeys.2.type", 'must be one of speeddial, blf, park, got "intercom"')),
    ({"funckeys": {"1": {"value": "1001"}}},
     *must("funckeys.1.type", "is required (speeddial, blf or park)")),
    ({"funckeys": [{"type": "speeddial", "value": ""}]},
     *must("funckeys[0].value", "is required for a speeddial key")),
    ({"funckeys": {"x": {"type": "park"}}},
     *must("funckeys.x", 'is not a function key number: the keys of funckeys must be numbers 1-9999 ("1", "2"...)')),
    ({"funckeys": {"1": {"type": "park", "line": "1"}}},
     *must("funckeys.1.line", "must be an integer 1-999, not a string")),
    ({"sccp_call_managers": {"1": {"port": 2000}}},
     *must("sccp_call_managers.1.ip", "is required (the call manager's address)")),
    ({"sccp_call_managers": {"1": {"ip": "192.0.2.1", "port": 99999}}},
     *must("sccp_call_managers.1.port", "must be 1-65535, got 99999")),
    ({"exten_voicemail": "*98 "},
     *must("exten_voicemail", 'must be an extension (digits, letters, * # + _ . -; at most 64), got "*98 "')),
    ({"exten_dnd": 25}, *must("exten_dnd", "must be a string (an extension), not an integer")),
    ({"sip_servers_root_and_intermediate_certificates": "-----BEGIN CERTIFICATE-----"},
     *must("sip_servers_root_and_intermediate_certificates", "must be a list of strings, not a string")),
    ({"sip_local_root_and_intermediate_certificates": [1]},
     *must("sip_local_root_and_intermediate_certificates[0]", "must be a string, not an integer")),
    ({"codecs": ["PCMU", 8]}, *must("codecs[1]", "must be a string, not an integer")),
    ({"contacts": [{"name": "Ann", "phone": "1"}]},
     *must("contacts[0].phone", "is not a known contact key (keys of your own must start with X_)")),
    ({"config_version": -1}, *must("config_version", "must be 0-1000000, got -1")),
]

VALID = [
    ("provd dict shape", {
        "ntp_enabled": True, "ntp_ip": "192.0.2.1", "vlan_enabled": True, "vlan_id": 4094,
        "vlan_priority": 7, "syslog_enabled": True, "syslog_ip": "192.0.2.2", "syslog_port": 514,
        "syslog_level": "debug", "protocol": "SIP", "sip_transport": "tls",
        "sip_srtp_mode": "required", "sip_dtmf_mode": "SIP-INFO", "timezone": "America/New_York",
        "locale": "de_DE", "exten_pickup_call": "*8", "sip_subscribe_mwi": None,
        "sip_lines": {"1": {"username": "a", "password": "p", "proxy_ip": "pbx.example.org",
                            "proxy_port": 5061, "backup_proxy_ip": None}},
        "funckeys": {"1": {"type": "park", "value": "700"}, "12": {"type": "blf", "value": "1002",
                                                                  "label": "Bob", "line": 2}},
        "sccp_call_managers": {"1": {"ip": "192.0.2.3", "port": 2000}},
        "X_xivo_phonebook_ip": "192.0.2.9", "X_anything": {"nested": [1, 2]},
        "XX_plugin_var": "kept"}),
    ("list shape", {
        "sip_lines": [{"line": 1, "username": "a", "proxy_ip": "2001:db8::1"}],
        "funckeys": [{"type": "speeddial", "value": "0612"}],
        "codecs": ["PCMU", "G722"], "contacts": [{"name": "Ann", "number": "1001"}]}),
]

with Daemon(extra={"provisioning": {"public_url": "http://192.0.2.1:8667"}}) as d:
    # ---- the table of invalid raw_configs -----------------------------------------
    bad = []
    for i, (raw, field, msg) in enumerate(CASES):
        st, j = d.api("POST", "/configs", {"id": f"bad{i}", "raw_config": raw}, admin=True)
        if not (st == 422 and isinstance(j, dict) and j.get("field") == field
                and j.get("error") == msg):
            bad.append((i, raw, st, j, field, msg))
    t.ok(not bad, f"{len(CASES)} invalid raw_configs: 422 with the exact field path and message",
         "\n".join(repr(b) for b in bad))
    st, j = d.api("GET", "/configs", admin=True)
    t.ok(st == 200 and j.get("configs") == [] and j.get("count") == 0,
         "none of them was stored", j)
    st, j = d.api("POST", "/configs", {"id": "ok0", "raw_config": {}}, admin=True)
    st2, j2 = d.api("PUT", "/configs/ok0", {"raw_config": {"vlan_id": "abc"}}, admin=True)
    st3, j3 = d.api("GET", "/configs/ok0", admin=True)
    t.ok(st == 201 and st2 == 422 and j2.get("field") == P + "vlan_id" and
         j3.get("raw_config") == {}, "a PUT is checked the same way and changes nothing",
         (st, st2, j2, j3))
    p = d.cli("configs", "add", "clibad", "vlan_id:=5000")
    t.ok(p.returncode == 1 and "raw_config.vlan_id must be 0-4094, got 5000" in p.stderr,
         "the CLI refuses the same way (same message)", p.stderr)
    p = d.cli("configs", "add", "clibad", "sip_lines.1.proxy_port=5060")
    t.ok(p.returncode == 1 and
         "raw_config.sip_lines.1.proxy_port must be an integer 1-65535, not a string" in p.stderr,
         "CLI: a dotted key naming a line field is checked too", p.stderr)
    for name, raw in VALID:
        st, j = d.api("POST", "/configs", {"id": "v-" + name.split()[0], "raw_config": raw}, admin=True)
        t.ok(st == 201 and j.get("raw_config") == raw, f"valid, {name}: stored as written",
             (st, j))

    # ---- roles --------------------------------------------------------------------
    line = {"username": "anonymous", "password": "autoprov", "proxy_ip": "192.0.2.10",
            "display_name": "Autoprov"}
    st, j = d.api("POST", "/configs", {"id": "ac", "role": "autocreate", "deletable": False,
                                       "X_type": "internal",
                                       "raw_config": {"sip_lines": {"1": line}}}, admin=True)
    t.ok(st == 201 and j.get("role") == "autocreate" and j.get("deletable") is False and
         j.get("X_type") == "internal", "a config with role autocreate, deletable false, X_type",
         (st, j))
    st, j = d.api("POST", "/configs", {"id": "ac2", "role": "autocreate"}, admin=True)
    t.ok(st == 409 and j == {"error": "config ac has the role autocreate already (one config "
                                      "per role)", "field": "role"},
         "a second autocreate config: 409", (st, j))
    st, j = d.api("POST", "/configs", {"id": "r3", "role": "primary"}, admin=True)
    t.ok(st == 422 and j.get("field") == "role" and
         j.get("error") == 'role must be default or autocreate, got "primary"', "a bad role: 422",
         (st, j))
    st, j = d.api("DELETE", "/configs/ac", admin=True)
    t.ok(st == 409 and j == {"error": "config ac is protected (deletable: false): set deletable "
                                      "to true first", "field": "deletable"},
         "DELETE of a deletable:false config: 409", (st, j))

    mac = "805ec0a10077"
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/{mac}.cfg",
                                 headers={"User-Agent": "Yealink SIP-T46S 66.86.0.15"})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read().decode()
    st, dev = d.api("GET", "/devices/80:5e:c0:a1:00:77", admin=True)
    tid = "ac-" + mac
    st2, cfg = d.api("GET", "/configs/" + tid, admin=True)
    t.ok("account.1.user_name = anonymous" in body and
         "static.auto_provision.server.url = http://192.0.2.1:8667/" in body,
         "a never-seen phone gets the autocreate line and the server's URL", body[:1500])
    t.ok(st == 200 and dev.get("config") == tid and st2 == 200 and
         cfg.get("transient") is True and cfg.get("parent_ids") == ["ac"],
         "its device uses a transient clone of the autocreate config", (dev, cfg))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st, dev = d.api("GET", "/devices/80:5e:c0:a1:00:77", admin=True)
        if dev.get("remote_state_sip_username"):
            break
        time.sleep(0.05)
    t.ok(dev.get("remote_state_sip_username") == "anonymous",
         "remote_state_sip_username set from line 1 when the trigger file was fetched", dev)
    st, _ = d.api("DELETE", "/devices/80:5e:c0:a1:00:77", admin=True)
    st2, _ = d.api("GET", "/configs/" + tid, admin=True)
    st3, _ = d.api("GET", "/configs/ac", admin=True)
    t.ok(st in (200, 204) and st2 == 404 and st3 == 200,
         "deleting the device deletes its transient config, not the autocreate one",
         (st, st2, st3))

    st, j = d.api("POST", "/configs", {"id": "dflt", "role": "default",
                                       "raw_config": {"ntp_ip": "192.0.2.5"}}, admin=True)
    st2, dev = d.api("POST", "/devices", {"mac": "00:15:65:00:00:99", "model": "T46S",
                                          "vendor": "Yealink"}, admin=True)
    t.ok(st == 201 and st2 == 201 and dev.get("config") == "dflt",
         "a device created without a config gets the default-role config", (st, st2, dev))
    mac2 = "805ec0a10078"
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/{mac2}.cfg",
                                 headers={"User-Agent": "Yealink SIP-T46S 66.86.0.15"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
    st1, _ = d.api("GET", "/configs/ac-" + mac2, admin=True)
    st, dev = d.api("PATCH", "/devices/80:5e:c0:a1:00:78", {"config": "dflt"}, admin=True)
    st2, _ = d.api("GET", "/configs/ac-" + mac2, admin=True)
    t.ok(st1 == 200 and st == 200 and dev.get("config") == "dflt" and st2 == 404,
         "a device moved off its transient config takes it along", (st1, st, dev, st2))
    st, _ = d.api("DELETE", "/devices/00:15:65:00:00:99", admin=True)
    st2, _ = d.api("GET", "/configs/dflt", admin=True)
    t.ok(st in (200, 204) and st2 == 200, "a non-transient config stays with its last device",
         (st, st2))

    # ---- provd's device fields ----------------------------------------------------
    doc = {"mac": "00:15:65:00:00:98", "id": "3c1b7e4c2d91f0a4e6c8d3b5a7f9e1c2", "added": "manual",
           "configured": True, "is_new": False, "options": {"switchboard": True},
           "description": "reception", "remote_state_sip_username": "u1001",
           "tenant_uuid": "0f4c3a2e-7d1b-4e8a-9c55-3b2a1d0e9f77", "sn": "SN1",
           "uuid": "11111111-2222-3333-4444-555555555555", "X_xivo_inventory": {"tag": 7},
           "config": "dflt"}
    st, dev = d.api("POST", "/devices", doc, admin=True)
    st2, got = d.api("GET", "/devices/00:15:65:00:00:98", admin=True)
    t.ok(st == 201 and st2 == 200 and all(got.get(k) == v for k, v in doc.items()),
         "provd's device fields are accepted and kept", (st, dev, got))
    for field, value, want in (("configured", "yes", "configured must be true or false"),
                               ("options", "x", "options must be an object"),
                               ("added", 1, "added must be a string or null")):
        st, j = d.api("PATCH", "/devices/00:15:65:00:00:98", {field: value}, admin=True)
        t.ok(st == 400 and j.get("field") == field and j.get("error") == want,
             f"device field {field} of a wrong type: 400 naming it", (st, j))

t.done()
