"""firmware: power-on -> enrolled of one node alone per firmware path (BIOS,
UEFI PXE, UEFI HTTP Boot, Secure Boot), with its phases, in one run and one lab
home (the image is built once): where the UEFI paths lose time under TCG."""
import os
import shutil
import subprocess

from .common import seconds_in
from .lab import enrolled_seconds

NAME = "firmware"


def run(b):
    binary = b.binary
    if os.getuid() != 0 or not shutil.which("qemu-system-x86_64"):
        print("firmware: skipped (needs root and qemu)")
        return {}
    got = {}
    home = os.path.join(b.root, "fwlab")
    nc = ["--node-controller", b.node_controller] if b.node_controller else []
    for firmware in ("bios", "uefi", "uefi-http", "secureboot"):
        try:
            r = subprocess.run([binary, "lab", "up", "--home", home, "--nodes", "1", "--firmware", firmware, *nc],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"firmware: {firmware}: lab up failed: " + r.stderr[-1500:])
                continue
            phases = next((l.strip() for l in r.stdout.splitlines() if l.startswith("  lab1:")), "")
            via = next((l.strip() for l in r.stdout.splitlines() if l.startswith("  lab1 firmware:")), "")
            seconds = enrolled_seconds(r)
            got[f"firmware.{firmware}.enrolled_s"] = seconds_in(seconds)
            print(f"firmware: {firmware:<10} power-on -> enrolled {seconds} (QEMU start to enrolled, TCG, alone); "
                  f"from its first DHCP: {phases.removeprefix('lab1: ')}; {via.removeprefix('lab1 ')}")
        finally:
            subprocess.run([binary, "lab", "down", "--home", home], capture_output=True)
    return got
