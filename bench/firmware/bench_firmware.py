#!/usr/bin/python3
"""Firmware install throughput: `phoneprov firmware install` (libcurl download
of a file:// URL, own SHA-256 or SHA-1 check, cp step, staged atomic move)
against the shell peer doing the same work: curl + sha256sum/sha1sum + cp.

    PHONEPROV=build/phoneprov PYTHONPATH=tests/lib:tests/firmware \
        /usr/bin/python3 bench/firmware/bench_firmware.py [MiB]
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/firmware"))
from fwhelp import Env, file_entry  # noqa: E402

MIB = int(sys.argv[1]) if len(sys.argv) > 1 else 128


def best(fn, n=3):
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        fn()
        times.append(time.monotonic() - t0)
    return min(times)


def main():
    env = Env()
    try:
        data = os.urandom(MIB << 20)
        src = env.fixture("fw.rom", data)
        del data
        with open(src, "rb") as f:
            blob = f.read()
        for algo, tool in (("sha256", "sha256sum"), ("sha1", "sha1sum")):
            env.write_pkgs("packages:\n  p: { description: d, version: '1', files: [r], "
                           "install: [{ cp: { src: '*.rom', dest: fw } }] }\nfiles:\n"
                           + file_entry("r", "file://" + src, blob, algo=algo))
            cache = os.path.join(env.data, "cache")

            def ours():
                shutil.rmtree(cache, ignore_errors=True)
                p = env.cli("firmware", "uninstall", "acme", "p")
                p = env.cli("firmware", "install", "acme", "p")
                assert p.returncode == 0, p.stderr

            peer_dir = os.path.join(env.tmp, "peer")

            def peer():
                shutil.rmtree(peer_dir, ignore_errors=True)
                os.makedirs(peer_dir + "/root/fw")
                subprocess.run(["curl", "-s", "-o", peer_dir + "/dl", "file://" + src], check=True)
                subprocess.run([tool, peer_dir + "/dl"], check=True, capture_output=True)
                subprocess.run(["cp", peer_dir + "/dl", peer_dir + "/root/fw/fw.rom"], check=True)

            def peer_sync():
                peer()
                subprocess.run(["sync", peer_dir + "/root/fw/fw.rom"], check=True)

            a, b, c = best(ours), best(peer), best(peer_sync)
            print(f"install {MIB} MiB ({algo}): phoneprov {a:.3f} s ({MIB / a:.0f} MiB/s); "
                  f"curl+{tool}+cp {b:.3f} s, ratio {a / b:.2f}x; "
                  f"curl+{tool}+cp+sync {c:.3f} s, ratio {a / c:.2f}x")
    finally:
        env.cleanup()


main()
