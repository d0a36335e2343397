"""What the suites share: the run's context, process helpers, the number formats."""
import os
import re
import subprocess
import time
from dataclasses import dataclass

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIRROR = "http://mirror.example/debian"


@dataclass
class Bench:
    """One run of the bench: the binaries, its scratch directory, the node CSV."""
    binary: str              # the provisioner binary (release)
    root: str                # a temporary directory, removed at the end
    csv: str                 # NODES nodes as CSV (mac,hostname,ip,profile)
    nodes: int
    adds: int                # `node add` runs in the registry and render suites
    rootfs: str              # the node image's sources (rootfs/)
    node_controller: str | None


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


def sh(cmd, **kw):
    return subprocess.run(["sh", "-c", cmd], check=True, **kw)


def out(cmd):
    return subprocess.run(["sh", "-c", cmd], check=True, capture_output=True, text=True).stdout


def settle():
    """Flushes and waits 6 s before a file-creation measurement. ext4 without a
    journal (this VM's root) will not reuse an inode freed in the last 5 s, or
    in the last 305 s while its inode table block is unwritten, and scans past
    each such inode on every create: a tree deleted just before (an earlier
    bench or test run) can triple the time of creating 30,000 files."""
    os.sync()
    time.sleep(6)


def ms(s):
    return f"{s * 1000:.1f} ms"


def seconds_in(text):
    """The seconds in a figure as `lab up` prints it ("17 s", "17 s)"), or None."""
    m = re.search(r"([\d.]+)\s*s\b", text or "")
    return float(m.group(1)) if m else None


def duration_ms(text):
    """wrk's latency ("850.00us", "4.65ms", "1.20s", "1.05m") in milliseconds, or None."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", (text or "").strip())
    if not m:
        return None
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[m.group(2)]
