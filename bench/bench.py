#!/usr/bin/env python3
"""Provisioner benchmarks: print numbers, assert nothing.

One module per suite in bench/suites/, run in this order:
  image     cold build against bare mmdebstrap, unchanged rebuild, activate, rollback
  serve     kernel + initrd over HTTP against TFTP; 50 parallel initrd fetches against nginx
  api       1,000 node controllers enroll, then heartbeat under wrk
  postgres  the registry on PostgreSQL beside SQLite; three boot servers: start, change propagation
  cloud     real incusd on this host: 20 fresh members joining (3 at a time, as serve allows), a wiped member rejoining
  storm     50, 200, 500 simulated nodes booting at once against one serve
  lab       QEMU nodes under TCG: two at once, then one alone per root mode (NFS, RAM)
  firmware  one QEMU node alone per firmware path (BIOS, UEFI PXE, UEFI HTTP Boot, Secure Boot)
  registry  import of 10,000 nodes, one `node add` into them, `node list --json`
  render    render + apply of 10,000 nodes from empty, apply again, a node add seen by a live dnsmasq

Each figure's goal, and where the goal comes from, is in bench/goals.py (the
one table): each suite prints it beside the figure, and the run ends with one
table of every figure measured, its goal and whether it met it (✓/✗).

  --suite storm,lab   runs those suites only (repeatable; --only is the same)
  --goals             prints the goals table and exits
"""
import argparse
import os
import shutil
import sys
import tempfile

import goals
from suites import SUITES
from suites.common import Bench, csv_of


def suite_list(text):
    names = [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown suite {', '.join(unknown)} (suites: {', '.join(SUITES)})")
    return names


def parse(argv=None):
    ap = argparse.ArgumentParser(description="Provisioner benchmarks: print numbers beside their goals, assert nothing.")
    ap.add_argument("--bin", help="the provisioner binary (a release build)")
    ap.add_argument("--nodes", type=int, default=10_000, help="nodes in the registry and render suites (default 10,000)")
    ap.add_argument("--adds", type=int, default=31, help="`node add` runs in the registry and render suites (default 31)")
    ap.add_argument("--suite", "--only", dest="suites", type=suite_list, action="append", metavar="NAME[,NAME...]",
                    help=f"run only these suites, in the bench's order (default: all: {','.join(SUITES)})")
    ap.add_argument("--rootfs", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rootfs"))
    ap.add_argument("--node-controller", default=None)
    ap.add_argument("--goals", action="store_true", help="print the table of goals and exit")
    a = ap.parse_args(argv)
    if not a.goals and not a.bin:
        ap.error("--bin is required")
    chosen = {n for group in a.suites or [list(SUITES)] for n in group}
    a.suites = [n for n in SUITES if n in chosen]
    return a


def main():
    a = parse()
    if a.goals:
        print("\n".join(goals.listing()))
        return
    root = tempfile.mkdtemp(prefix="provisioner-bench-")
    os.chmod(root, 0o755)  # dnsmasq drops to its own user and must reach the TFTP root
    measured = {}
    try:
        csv = os.path.join(root, "nodes.csv")
        with open(csv, "w") as f:
            f.write(csv_of(a.nodes))
        bench = Bench(binary=a.bin, root=root, csv=csv, nodes=a.nodes, adds=a.adds,
                      rootfs=a.rootfs, node_controller=a.node_controller)
        for name in a.suites:
            measured[name] = SUITES[name].run(bench)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if measured:
            if len(measured) < len(a.suites):
                print(f"bench: stopped in the {a.suites[len(measured)]} suite", file=sys.stderr)
            print("\nsummary (goals and their sources: bench/goals.py, or bench.py --goals):")
            print("\n".join(goals.summary(measured)))


if __name__ == "__main__":
    main()
