"""Records what a real node reads of the image over NFS before it enrolls, in
bench/boot-reads.json, for the storm suite's replay (bench/suites/storm.py).
Run once, on a lab of one node:

    python3 bench/record_boot_reads.py --bin .build-nc/release/provisioner \
        --node-controller .build-nc/x86_64-unknown-linux-gnu/release/node-controller

strace follows nfs-ganesha's threads while `lab up` boots one node: every pread
of a file under the generation's root (strace -y names the file) is summed per
file, up to the node's enrollment. The result is the files in the order first
read and the bytes the server read of each (at least what the node read: the
node's readahead asks for more than it maps, and ganesha reads what is asked).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import datetime


def attach(home, trace, stop):
    """strace nfs-ganesha as soon as lab up has started it (before the node boots)."""
    while not stop.is_set():
        r = subprocess.run(["pgrep", "-f", f"ganesha.nfsd.*{home}"], capture_output=True, text=True)
        if r.stdout.split():
            pid = r.stdout.split()[0]
            return subprocess.Popen(["strace", "-f", "-y", "-ttt", "-qq", "-e", "trace=pread64,preadv,preadv2,read",
                                     "-e", "signal=none", "-o", trace, "-p", pid])
        time.sleep(0.05)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--node-controller", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot-reads.json"))
    a = ap.parse_args()
    home = tempfile.mkdtemp(prefix="provisioner-record-")
    os.chmod(home, 0o755)
    trace = os.path.join(home, "strace.log")
    stop, tracer = threading.Event(), []
    watcher = threading.Thread(target=lambda: tracer.append(attach(home, trace, stop)))
    try:
        watcher.start()
        r = subprocess.run([a.bin, "lab", "up", "--home", home, "--nodes", "1", "--node-controller", a.node_controller],
                           capture_output=True, text=True)
        stop.set()
        watcher.join()
        if tracer and tracer[0]:
            tracer[0].terminate()
            tracer[0].wait()
        if r.returncode != 0:
            raise SystemExit("lab up failed: " + r.stderr[-2000:])
        node = json.loads(subprocess.run([a.bin, "node", "show", "lab1", "--home", home, "--json"], check=True,
                                         capture_output=True, text=True).stdout)
        enrolled = datetime.fromisoformat(node["enrolled_at"].replace("Z", "+00:00")).timestamp()
        root = os.path.join(os.path.realpath(os.path.join(home, "images", "default", "current")), "root") + "/"
        order, read = [], {}
        # "1234 1733240000.123456 pread64(12</path>, ..., 262144, 0) = 262144"
        call = re.compile(r"^\d+\s+(\d+\.\d+) (?:pread64|preadv2?|read)\(\d+<([^>]*)>.*\) = (\d+)$")
        for line in open(trace, errors="replace"):
            m = call.match(line.rstrip("\n"))
            if not m or float(m.group(1)) > enrolled or not m.group(2).startswith(root):
                continue
            path = m.group(2)[len(root):]
            if path not in read:
                order.append(path)
                read[path] = 0
            read[path] += int(m.group(3))
        files = [[p, read[p], os.path.getsize(root + p)] for p in order if os.path.isfile(root + p)]
        json.dump({"recorded": datetime.now().isoformat(timespec="seconds"),
                   "how": "bench/record_boot_reads.py: strace of nfs-ganesha's reads during `lab up --nodes 1`, until the node enrolled",
                   "seconds_to_enroll": node.get("seconds_to_enroll"),
                   "columns": ["path in the image", "bytes read", "file size"],
                   "files": files}, open(a.out, "w"), indent=0)
        print(f"{len(files)} files, {sum(f[1] for f in files) / (1 << 20):.1f} MiB read of {sum(f[2] for f in files) / (1 << 20):.1f} MiB "
              f"by the node before it enrolled -> {a.out}")
    finally:
        stop.set()
        subprocess.run([a.bin, "lab", "down", "--home", home], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
