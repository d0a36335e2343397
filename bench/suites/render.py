"""render: render + apply of 10,000 nodes from an empty tree (on a fresh
journaled ext4 and on this VM's root, each beside the file system's floor),
apply again with nothing changed, and one `node add` into a live site until
the running dnsmasq has read its host entry."""
import os
import shutil
import statistics
import subprocess
import time

from goals import beside
from .common import ms, new_home, run as run_cli, settle, sh, timed

NAME = "render"


def from_empty(b, root, where, key, got):
    """Render + apply of every node into an empty tree under `root`, beside
    what the file system alone costs there (the same number of small files
    created and synced once, by Python, one thread)."""
    home = new_home(b.binary, root, "apply")
    run_cli(b.binary, "node", "import", b.csv, "--no-apply", home=home)
    settle()
    t = timed(b.binary, "apply", home=home)
    got[f"render.{key}.apply_ms"] = t * 1000
    print(f"render: render + apply of {b.nodes} nodes from an empty tree, {where}: {ms(t)} ({beside(f'render.{key}.apply_ms')})")
    floor_dir = os.path.join(root, "fs-floor")
    os.makedirs(floor_dir)
    settle()
    t0 = time.perf_counter()
    for i in range(3 * b.nodes):
        with open(os.path.join(floor_dir, f"f{i}"), "wb") as f:
            f.write(b"x" * 200)
    os.sync()
    floor = time.perf_counter() - t0
    got[f"render.{key}.floor_ms"] = floor * 1000
    print(f"render:   floor there: {3 * b.nodes} small files created and synced once, by Python: {ms(floor)}")
    return home


def from_empty_on_fresh_ext4(b, got):
    """The same on a new ext4 with a journal (mkfs defaults, as on a provisioning
    server's /srv), on a loop device: this VM's root is ext4 without a journal,
    which skips every inode freed in the last 5 minutes on each create, so its
    number depends on what was deleted before."""
    if os.getuid() != 0 or not shutil.which("mkfs.ext4"):
        print("render: fresh-ext4 run skipped: needs root and e2fsprogs for a loop mount")
        return
    image, mnt = os.path.join(b.root, "ext4.img"), os.path.join(b.root, "ext4")
    os.makedirs(mnt)
    subprocess.run(["truncate", "-s", "2G", image], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
    if subprocess.run(["mount", "-o", "loop", image, mnt]).returncode != 0:
        print("render: fresh-ext4 run skipped: loop mount refused")
        return
    try:
        os.chmod(mnt, 0o755)
        from_empty(b, mnt, "fresh ext4 with journal (loop)", "fresh_ext4", got)
    finally:
        subprocess.run(["umount", mnt])


def run(b):
    """Render + apply from empty, then adds against a live dnsmasq."""
    got = {}
    from_empty_on_fresh_ext4(b, got)
    home = from_empty(b, b.root, "this VM's root (ext4, no journal)", "vm_root", got)
    # The first apply after a full one records nothing new; then the median of 9.
    timed(b.binary, "apply", home=home)
    again = sorted(timed(b.binary, "apply", home=home) for _ in range(9))[4]
    got["render.apply_again_ms"] = again * 1000
    print(f"render: apply again with nothing changed, {b.nodes} nodes (median of 9): {ms(again)} ({beside('render.apply_again_ms')})")

    if os.getuid() != 0:
        print("render: live add skipped: needs root for a network namespace")
        return got
    ns = f"pvbench{os.getpid()}"
    run_dir = os.path.join(home, "run", "provisioner")
    os.makedirs(run_dir, exist_ok=True)
    log = os.path.join(run_dir, "dnsmasq.log")
    pidfile = os.path.join(run_dir, "dnsmasq.pid")
    sh(f"ip netns add {ns} && ip -n {ns} link add bench0 type veth peer name bench1 && ip -n {ns} addr add 10.8.0.1/16 dev bench0 "
       f"&& ip -n {ns} link set bench0 up")
    try:
        sh(f"ip netns exec {ns} dnsmasq --conf-file={home}/etc/dnsmasq.d/provisioner.conf --pid-file={pidfile} --log-facility={log}")
        for _ in range(100):
            if os.path.exists(pidfile):
                break
            time.sleep(0.05)
        pid = open(pidfile).read().strip()
        times = []
        for k in range(b.adds):
            name = f"live{k}"
            needle = f"dhcp-hosts/{name}.conf"
            # Only what dnsmasq logs from here on is read: its log already holds a line per node.
            with open(log) as f:
                f.seek(0, os.SEEK_END)
                t0 = time.perf_counter()
                subprocess.run([b.binary, "node", "add", name, "--mac", f"02:30:00:00:00:{k + 1:02x}", "--home", home],
                               check=True, stdout=subprocess.DEVNULL)
                seen = ""
                while needle not in seen:
                    seen += f.read()
                    if needle not in seen:
                        time.sleep(0.0005)
                times.append(time.perf_counter() - t0)
        same = open(pidfile).read().strip() == pid and os.path.exists(f"/proc/{pid}")
        got["render.live_add_ms"] = statistics.median(times) * 1000
        got["render.live_add_max_ms"] = max(times) * 1000
        got["render.live_add_same_pid"] = same
        print(f"render: node add into live {b.nodes} nodes until dnsmasq read it: median {ms(statistics.median(times))}, "
              f"max {ms(max(times))} ({b.adds} runs; dnsmasq pid unchanged: {same}; {beside('render.live_add_ms')})")
    finally:
        subprocess.run(["sh", "-c", f"kill $(cat {pidfile}) 2>/dev/null; sleep 0.3; ip netns del {ns}"])
    return got
