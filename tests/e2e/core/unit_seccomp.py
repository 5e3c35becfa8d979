#!/usr/bin/python3
"""Run a command under the system-call filter of a systemd unit, the way
systemd applies it (a helper of test_seccomp.py; needs python3-seccomp):

    unit_seccomp.py UNIT_FILE [--kill] -- COMMAND [ARGS...]

The unit's SystemCallFilter= lines are read in order, as systemd does: the
first, without '~', makes an allow-list; a later '~' line removes its
syscalls from it; a later line without '~' adds its syscalls back. Groups
(@name) are expanded with `systemd-analyze syscall-filter`. A call outside
the list fails with the unit's SystemCallErrorNumber=, or kills the process
(SIGSYS) when the unit sets none or with --kill. LimitNOFILE= is applied
too (it decides whether the daemon needs to raise its limit)."""
import errno
import os
import re
import resource
import subprocess
import sys

import seccomp


def expand(names, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for n in names:
        if not n.startswith("@"):
            out.add(n)
            continue
        if n in seen:
            continue
        seen.add(n)
        p = subprocess.run(["systemd-analyze", "syscall-filter", n], capture_output=True,
                           text=True, check=True)
        sub = [l.strip() for l in p.stdout.splitlines()[1:]
               if l.strip() and not l.strip().startswith("#")]
        out |= expand(sub, seen)
    return out


def unit_filter(path):
    allow, errno_name, nofile = None, None, None
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*(SystemCallFilter|SystemCallErrorNumber|LimitNOFILE)=(.*)$", line)
            if not m:
                continue
            key, val = m.group(1), m.group(2).strip()
            if key == "SystemCallErrorNumber":
                errno_name = val
                continue
            if key == "LimitNOFILE":
                nofile = int(val.split(":")[-1])
                continue
            deny = val.startswith("~")
            names = expand(val.lstrip("~").split())
            if allow is None:
                if deny:
                    raise SystemExit("a deny-list first is not handled here")
                allow = set(names)
            elif deny:
                allow -= names
            else:
                allow |= names
    return allow or set(), errno_name, nofile


def main():
    argv = sys.argv[1:]
    if "--" not in argv or not argv:
        raise SystemExit(__doc__)
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    allow, errno_name, nofile = unit_filter(opts[0])
    if nofile:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        except (ValueError, OSError):  # no CAP_SYS_RESOURCE: up to the hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), hard))
    if "--kill" in opts or not errno_name:
        action = seccomp.KILL_PROCESS
    else:
        action = seccomp.ERRNO(getattr(errno, errno_name))
    f = seccomp.SyscallFilter(defaction=action)
    for name in sorted(allow):
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a syscall of this architecture
    f.load()
    os.execv(cmd[0], cmd)


main()
