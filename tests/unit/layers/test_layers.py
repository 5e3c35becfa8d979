#!/usr/bin/python3
"""The module layers hold (docs/architecture.md).

Arguments: PHONEPROVD then one "name=path.a=dep1,dep2" per static library
(from meson's pp_layers). With nm:
- every symbol an object of a library needs from the project is defined in
  that library or in one of the libraries it declares (no upward or sideways
  reference: a new cycle fails here even where the linker would accept it);
- phoneprovd carries no CLI command and no firmware download/unpack code;
- the declared dependencies have no cycle;
- the library modules (extractors, config, store, plugin) never log;
- in the monitor layer only the runtime (mon_run.c: threads with no caller
  to hand an error to) logs; its transports and records return errors."""
import subprocess
import sys

sys.path.insert(0, __import__("os").environ.get("PYTHONPATH", ""))
import pphelp  # noqa: E402


def symbols(path):
    """(defined, undefined) global symbol sets of an archive or executable."""
    out = subprocess.run(["nm", "-g", "--defined-only", path], capture_output=True,
                         text=True, check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if len(l.split()) == 3}
    out = subprocess.run(["nm", "-g", "--undefined-only", path], capture_output=True,
                         text=True, check=True).stdout
    undefined = {l.split()[-1] for l in out.splitlines() if l.strip() and ":" not in l}
    return defined, undefined


def member_undefined(path):
    """{object file name: undefined global symbols} of an archive."""
    out = subprocess.run(["nm", "-g", "--undefined-only", path], capture_output=True,
                         text=True, check=True).stdout
    members, cur = {}, None
    for line in out.splitlines():
        if line.endswith(":"):
            cur = members.setdefault(line[:-1].rsplit("/", 1)[-1], set())
        elif line.strip() and cur is not None:
            cur.add(line.split()[-1])
    return members


def main():
    t = pphelp.TapRunner()
    daemon = sys.argv[1]
    layers = {}
    for arg in sys.argv[2:]:
        name, path, deps = arg.split("=", 2)
        layers[name] = (path, [d for d in deps.split(",") if d])
    defs, undefs = {}, {}
    for name, (path, _) in layers.items():
        defs[name], undefs[name] = symbols(path)
    owner = {}
    for name, d in defs.items():
        for s in d:
            owner.setdefault(s, set()).add(name)
    t.ok(len(layers) >= 8, f"{len(layers)} layers: {', '.join(layers)}")
    dup = sorted(s for s, o in owner.items() if len(o) > 1)
    t.ok(not dup, "no symbol is defined by two libraries",
         "\n".join(f"{s}: {sorted(owner[s])}" for s in dup[:20]))

    def closure(name, seen=None):
        seen = set() if seen is None else seen
        for d in layers[name][1]:
            if d not in seen:
                seen.add(d)
                closure(d, seen)
        return seen

    for name in layers:
        t.ok(name not in closure(name), f"{name}: its declared dependencies have no cycle")
        allowed = {name} | closure(name)
        bad = sorted(f"{s} (from {'/'.join(sorted(owner[s]))})" for s in undefs[name]
                     if s in owner and not owner[s] & allowed)
        t.ok(not bad, f"{name}: uses only itself and {', '.join(sorted(allowed - {name})) or 'nothing'}",
             "\n".join(bad[:30]))

    # library modules return errors and never log (the services and the CLI do)
    for name in ("extractors", "config", "store", "plugin"):
        logs = sorted(s for s in undefs.get(name, ()) if s in ("pp_log", "pp_log_write"))
        t.ok(name in layers and not logs, f"{name}: never logs", logs)

    # the monitor layer: the runtime threads log (a service of their own),
    # nothing else in it does
    if "monitor" in layers:
        members = member_undefined(layers["monitor"][0])
        logging = sorted(m for m, u in members.items() if u & {"pp_log", "pp_log_write"})
        t.ok(logging == ["mon_run.c.o"],
             "monitor: only the runtime (mon_run.c) logs; transports and records do not",
             logging)
    else:
        t.ok(False, "monitor: the layer is declared")

    ddef, _ = symbols(daemon)
    cli = sorted(s for s in ddef if "cli" in owner.get(s, ()))
    t.ok(not cli, "phoneprovd carries no CLI code", "\n".join(cli[:20]))
    t.ok(not [s for s in ddef if s.startswith("pp_cmd_")], "phoneprovd has no pp_cmd_* symbol")
    fw = sorted(s for s in ddef if "firmware" in owner.get(s, ()) and
                "services" not in owner.get(s, ()))
    t.ok(not fw, "phoneprovd carries no firmware download/unpack code", "\n".join(fw[:20]))
    t.ok(any(s.startswith("pp_tftp_") for s in ddef) and any(s.startswith("pp_api_") for s in ddef),
         "phoneprovd has the services (the check looks at the right binary)")
    t.done()


if __name__ == "__main__":
    main()
