#!/usr/bin/env python3
"""Provisioner benchmarks: print numbers, assert nothing.

Registry (issue: foundation):
  - import of 10,000 nodes from CSV          goal <= 1 s
  - one `node add` into a 10,000-node registry, as a whole process   goal: median <= 20 ms
  - `node list --json` of 10,000 nodes
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

MIRROR = "http://mirror.example/debian"


def run(binary, *args, home):
    subprocess.run([binary, *args, "--home", home], check=True, stdout=subprocess.DEVNULL)


def timed(binary, *args, home, out=subprocess.DEVNULL):
    t = time.perf_counter()
    subprocess.run([binary, *args, "--home", home], check=True, stdout=out)
    return time.perf_counter() - t


def new_home(binary, root, name):
    home = os.path.join(root, name)
    subprocess.run([binary, "init", "--home", home, "--mirror", MIRROR, "--interface", "bench0",
                    "--server-ip", "10.8.0.1", "--subnet", "10.8.0.0/16",
                    "--dhcp-range", "10.8.255.1-10.8.255.250"], check=True, stdout=subprocess.DEVNULL)
    return home


def csv_of(n):
    rows = ["mac,hostname,ip,profile"]
    for i in range(1, n + 1):
        rows.append(f"02:10:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x},node{i:05d},,")
    return "\n".join(rows) + "\n"


def ms(s):
    return f"{s * 1000:.1f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--adds", type=int, default=31)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="provisioner-bench-")
    try:
        csv = os.path.join(root, "nodes.csv")
        with open(csv, "w") as f:
            f.write(csv_of(a.nodes))

        imports = []
        for k in range(3):
            home = new_home(a.bin, root, f"import{k}")
            imports.append(timed(a.bin, "node", "import", csv, home=home))
        print(f"registry: import {a.nodes} nodes from CSV: median {ms(statistics.median(imports))} "
              f"(runs: {', '.join(ms(x) for x in imports)}; goal <= 1000 ms)")

        adds = []
        for k in range(a.adds):
            adds.append(timed(a.bin, "node", "add", f"extra{k}", "--mac", f"02:20:00:00:00:{k + 1:02x}", home=home))
        q = statistics.quantiles(adds, n=10)
        print(f"registry: one node add into {a.nodes} nodes, whole process: median {ms(statistics.median(adds))}, "
              f"p90 {ms(q[-1])}, min {ms(min(adds))} ({a.adds} runs; goal: median <= 20 ms)")

        lists = [timed(a.bin, "node", "list", "--json", home=home) for _ in range(5)]
        print(f"registry: node list --json of {a.nodes + a.adds} nodes: median {ms(statistics.median(lists))} (5 runs)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
