#!/usr/bin/python3
"""Extract the fenced code blocks marked `file=NAME` (```c file=hooks.c) from
a Markdown page, verbatim, into OUTDIR/PREFIXNAME: so that the worked
example of docs/flavors.md is the code the tests build and run.

usage: doc_example.py PAGE.md OUTDIR PREFIX NAME..."""
import os
import re
import sys


def blocks(text):
    out, cur, name = {}, None, None
    for line in text.splitlines(keepends=True):
        if cur is None:
            m = re.match(r"^```\w*\s+file=(\S+)\s*$", line)
            if m:
                name, cur = m.group(1), []
        elif line.startswith("```"):
            if name in out:
                sys.exit(f"doc_example: file={name} appears twice")
            out[name] = "".join(cur)
            cur = None
        else:
            cur.append(line)
    if cur is not None:
        sys.exit(f"doc_example: unclosed block file={name}")
    return out


def main():
    page, outdir, prefix, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    with open(page) as f:
        found = blocks(f.read())
    for n in names:
        if n not in found:
            sys.exit(f"doc_example: {page} has no block file={n}")
        with open(os.path.join(outdir, prefix + n), "w") as f:
            f.write(found[n])


main()
