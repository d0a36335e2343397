"""lab: QEMU nodes under TCG, power-on -> enrolled: two booting at once, with
their phases and where the time went on the node itself; then one node alone
in each root mode (NFS, RAM), with its memory in use once enrolled."""
import json
import os
import re
import shutil
import subprocess
import time

from goals import beside
from .common import seconds_in

NAME = "lab"


def vcpus(lab_output):
    """The vCPUs per node that `lab up` said it gave."""
    m = re.search(r"(\d+) vCPU\(s\)", lab_output)
    return m.group(1) if m else "?"


def enrolled_seconds(r):
    """`lab up`'s "all N node(s) enrolled in S s", as printed ("?" if absent)."""
    total = next((l for l in r.stderr.splitlines() + r.stdout.splitlines() if "enrolled in" in l), "")
    return total.split("enrolled in")[-1].strip() if total else "?"


def run(b):
    """PXE power-on to enrolled, per node, with the phases (lab up --nodes 2)."""
    binary = b.binary
    if os.getuid() != 0 or not shutil.which("qemu-system-x86_64"):
        print("lab: skipped (needs root and qemu)")
        return {}
    got = {}
    home = os.path.join(b.root, "lab")
    nc = ["--node-controller", b.node_controller] if b.node_controller else []
    try:
        r = subprocess.run([binary, "lab", "up", "--home", home, "--nodes", "2", *nc], capture_output=True, text=True)
        if r.returncode != 0:
            print("lab: lab up failed: " + r.stderr[-1500:])
            return got
        # lab up's own clock: QEMU started -> the server accepted the enrollment.
        for line in r.stderr.splitlines():
            if ": enrolled (+" in line:
                node, seconds = line.split("==>")[-1].strip().split(": enrolled (+")
                key = f"lab.pair.{node}.enrolled_s"
                got[key] = seconds_in(seconds)
                print(f"lab: {node}: power-on -> enrolled {seconds.rstrip(')')} (TCG, 2 nodes booting at once on {os.cpu_count()} cores, "
                      f"{vcpus(r.stderr)} vCPU(s) each; {beside(key)} each)")
        for line in r.stdout.splitlines():
            if line.startswith("  lab") and "as the node saw it" not in line and "firmware:" not in line:
                print(f"lab: {line.strip()} (from its first DHCP)")
        # Where the time went on the node itself: systemd's timestamps, and the slowest
        # units once its boot has finished (sent with a heartbeat after enrollment).
        for node in ("lab1", "lab2"):
            timings = {}
            for _ in range(90):
                shown = subprocess.run([binary, "node", "show", node, "--home", home, "--json"], capture_output=True, text=True)
                timings = (json.loads(shown.stdout or "{}").get("boot_timings") or {}) if shown.returncode == 0 else {}
                if timings.get("userspace_seconds") is not None:
                    break
                time.sleep(1)
            got[f"lab.pair.{node}.kernel_s"] = timings.get("kernel_seconds")
            got[f"lab.pair.{node}.controller_start_s"] = timings.get("controller_start_seconds")
            got[f"lab.pair.{node}.userspace_s"] = timings.get("userspace_seconds")
            slowest = ", ".join(f"{u['unit']} {u['seconds']:.1f} s" for u in timings.get("slowest_units", [])[:5])
            fmt = lambda k: f"{timings[k]:.1f} s" if timings.get(k) is not None else "?"
            print(f"lab: {node} as the node saw it: kernel+initramfs {fmt('kernel_seconds')}, userspace to the controller "
                  f"{fmt('controller_start_seconds')}, userspace until boot finished {fmt('userspace_seconds')}; slowest units: {slowest or '?'}")
        # One node alone in each root mode, in the same home (the image is built once):
        # power-on -> enrolled, and the node's memory in use once it has enrolled.
        for root in ("nfs", "ram"):
            subprocess.run([binary, "lab", "down", "--home", home], capture_output=True)
            r = subprocess.run([binary, "lab", "up", "--home", home, "--nodes", "1", "--root", root, *nc], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"lab: root {root}: lab up failed: " + r.stderr[-1500:])
                continue
            seconds = enrolled_seconds(r)
            shown = subprocess.run([binary, "node", "show", "lab1", "--home", home, "--json"], capture_output=True, text=True)
            cap = (json.loads(shown.stdout or "{}").get("capacity") or {}) if shown.returncode == 0 else {}
            used = cap.get("memory_mib_max", 0) - cap.get("memory_mib_free", 0) if cap else None
            got[f"lab.{root}.enrolled_s"] = seconds_in(seconds)
            got[f"lab.{root}.memory_used_mib"] = used
            goal = beside(f"lab.{root}.enrolled_s")
            if root == "ram":
                goal += "; it fetches the whole root image first"
            print(f"lab: root {root}: one node alone ({vcpus(r.stderr)} vCPU(s)), power-on -> enrolled {seconds} ({goal}); "
                  f"memory in use after enrolling {used if used is not None else '?'} of {cap.get('memory_mib_max', '?')} MiB")
    finally:
        subprocess.run([binary, "lab", "down", "--home", home], capture_output=True)
    return got
