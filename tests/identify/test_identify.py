#!/usr/bin/python3
"""The identification table (tests/identify/*.jsonl): real identification
strings phones send (DHCP option 60, User-Agents, requested file names),
each with where it was documented, run through `phoneprov identify --json`
against every bundled plugin. One TAP case per row: the row passes when the
chosen plugin and every expected field match.

Row format (one JSON object per line; blank lines and lines starting with
'#' are ignored):
  {"source": "where the string is documented",
   "in": {"dhcp_vci": S, "dhcp_vci_hex": HEX, "dhcp_user_class": S,
          "dhcp_hostname": S, "user_agent": S, "http_path": S,
          "tftp_file": S},                            # any combination
   "expect": {"plugin": P, "vendor": V, "model": M, "version": X,
              "mac": "aa:bb:cc:dd:ee:ff", "serial": S, "score": "EXACT"}}
`model` is compared with the model the output reports, which is the
plugin's canonical name whenever a plugin knows the model (aliases cover the
spellings phones send; a row also fails when `model` and `canonical_model`
differ);
fields absent from `expect` are not checked, a field set to null must be
absent from the output. `plugin: null` means no plugin may be chosen."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pphelp

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = {"dhcp_vci": "--dhcp-vci", "dhcp_vci_hex": "--dhcp-vci-hex", "user_agent": "--user-agent",
        "http_path": "--http-path", "tftp_file": "--tftp-file",
        "dhcp_user_class": "--dhcp-user-class", "dhcp_hostname": "--dhcp-hostname"}
FIELDS = ("vendor", "model", "version", "mac", "serial")


def write_config(tmp):
    cfg = {
        "data_dir": os.path.join(tmp, "var"),
        "tftp": {"listen": f"127.0.0.1:{pphelp.free_port()}", "root": os.path.join(tmp, "tftpboot")},
        "http": {"listen": f"127.0.0.1:{pphelp.free_port()}", "root": os.path.join(tmp, "tftpboot")},
        "api": {"listen": f"127.0.0.1:{pphelp.free_port()}",
                "token_file": os.path.join(tmp, "var", "api-token"),
                "admin_token_file": os.path.join(tmp, "var", "admin-token")},
        "plugins": {"dir": os.path.join(pphelp.SRC, "plugins")},
    }
    os.makedirs(os.path.join(tmp, "tftpboot"), exist_ok=True)
    os.makedirs(os.path.join(tmp, "var"), exist_ok=True)
    path = os.path.join(tmp, "phoneprov.yml")
    with open(path, "w") as f:
        f.write(pphelp.to_yaml(cfg))
    return path


def load_rows():
    rows = []
    for path in sorted(glob.glob(os.path.join(HERE, "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                rows.append((f"{os.path.basename(path)}:{n}", json.loads(line)))
    return rows


def check(row, out):
    """A list of mismatches (empty when the row passes)."""
    bad = []
    e = row["expect"]
    if "plugin" in e and out.get("plugin") != e["plugin"]:
        bad.append(f"plugin: want {e['plugin']!r}, got {out.get('plugin')!r}")
    for k in FIELDS:
        if k not in e:
            continue
        got = out.get(k)
        want = e[k]
        if want is None:
            if got not in (None, ""):
                bad.append(f"{k}: want none, got {got!r}")
        elif not isinstance(got, str) or (got.lower() if k == "mac" else got) != \
                (want.lower() if k == "mac" else want):
            bad.append(f"{k}: want {want!r}, got {got!r}")
    if out.get("canonical_model") and out.get("model") != out["canonical_model"]:
        bad.append(f"model {out.get('model')!r} is not the canonical {out['canonical_model']!r}")
    if "score" in e:
        got = (out.get("scores") or {}).get(e.get("plugin")) if e.get("plugin") else out.get("score")
        if str(got).upper() != e["score"]:
            bad.append(f"score: want {e['score']}, got {got!r}")
    return bad


def main():
    t = pphelp.TapRunner()
    rows = load_rows()
    tmp = tempfile.mkdtemp(prefix="ppidentify-")
    try:
        cfg = write_config(tmp)
        t.ok(len(rows) > 0, f"the table has rows ({len(rows)})")
        # one `phoneprov identify --batch` for the whole table: one JSON
        # request per line in, one answer per line out, in order
        reqs = "".join(json.dumps(row["in"]) + "\n" for _, row in rows)
        p = subprocess.run([pphelp.PHONEPROV, "-c", cfg, "identify", "--batch"], input=reqs,
                           capture_output=True, text=True, timeout=600)
        answers = p.stdout.splitlines()
        t.ok(p.returncode == 0 and len(answers) == len(rows),
             f"identify --batch answers every row ({len(answers)} of {len(rows)})", p.stderr)
        for (where, row), line in zip(rows, answers):
            name = f"{where} {row.get('source', '?')[:60]}"
            if not row.get("source"):
                t.ok(False, name, "row without a source")
                continue
            try:
                out = json.loads(line)
            except ValueError as e:
                t.ok(False, name, f"not JSON: {e}\n{line}")
                continue
            if "error" in out:
                t.ok(False, name, f"refused: {out}")
                continue
            bad = check(row, out)
            t.ok(not bad, name, "\n".join(bad + [json.dumps(row["in"])]))
        # the single-request form answers like the batch (one row per source kind)
        for where, row in rows[:3]:
            argv = ["--json", "identify"]
            for k, v in row["in"].items():
                argv += [ARGS[k], v]
            p = pphelp.run_cli(cfg, *argv)
            t.ok(p.returncode == 0 and not check(row, json.loads(p.stdout or "{}")),
                 f"{where}: identify with options answers like --batch", p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
