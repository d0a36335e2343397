"""image: a cold build against bare mmdebstrap of the same packages, a rebuild
with nothing changed, activate and rollback."""
import os
import re
import shutil
import subprocess
import time

from goals import beside
from .common import sh

NAME = "image"


def host_mirror():
    for f in ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]:
        try:
            text = open(f).read()
        except OSError:
            continue
        m = re.search(r"^URIs:\s*(\S+)", text, re.M) or re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(http\S+)", text, re.M)
        if m:
            return m.group(1)
    return None


def packages(rootfs):
    names = set()
    for f in sorted(os.listdir(os.path.join(rootfs, "packages"))):
        if f.endswith(".list"):
            for line in open(os.path.join(rootfs, "packages", f)):
                name = line.split("#", 1)[0].strip()
                if name:
                    names.add(name)
    return sorted(names)


def run(b):
    """Cold build vs bare mmdebstrap of the same packages; unchanged rebuild; activate; rollback."""
    binary, rootfs = b.binary, os.path.abspath(b.rootfs)
    mirror = host_mirror()
    if os.getuid() != 0 or not mirror or not shutil.which("mmdebstrap"):
        print("image: skipped (needs root, mmdebstrap and a Debian mirror)")
        return {}
    got = {}
    home = os.path.join(b.root, "image")
    subprocess.run([binary, "init", "--home", home, "--mirror", mirror], check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, PROVISIONER_ROOTFS=rootfs)
    nc = ["--node-controller", b.node_controller] if b.node_controller else []

    bare_dir = os.path.join(b.root, "bare")
    t = time.perf_counter()
    sh(f"mmdebstrap --quiet --mode=root --variant=minbase --include={','.join(packages(rootfs))} bookworm {bare_dir} {mirror}",
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bare = time.perf_counter() - t
    shutil.rmtree(bare_dir, ignore_errors=True)

    t = time.perf_counter()
    subprocess.run([binary, "image", "build", "--home", home, "--quiet", *nc], check=True, env=env, stdout=subprocess.DEVNULL)
    cold = time.perf_counter() - t
    got.update({"image.bare_s": bare, "image.cold_s": cold, "image.cold_vs_bare": cold / bare})
    print(f"image: cold build {cold:.1f} s vs bare mmdebstrap of the same packages {bare:.1f} s: ratio {cold / bare:.2f} "
          f"(both download everything; ours also packs the base-root cache and customizes; {beside('image.cold_vs_bare')})")

    t = time.perf_counter()
    subprocess.run([binary, "image", "build", "--home", home, "--quiet", *nc], check=True, env=env, stdout=subprocess.DEVNULL)
    got["image.rebuild_s"] = time.perf_counter() - t
    print(f"image: rebuild with an unchanged package set: {got['image.rebuild_s']:.1f} s ({beside('image.rebuild_s')})")

    acts, rolls = [], []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([binary, "image", "rollback", "--home", home], check=True, stdout=subprocess.DEVNULL)
        rolls.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([binary, "image", "activate", "g2", "--home", home], check=True, stdout=subprocess.DEVNULL)
        acts.append(time.perf_counter() - t)
    got["image.activate_ms"] = sorted(acts)[2] * 1000
    got["image.rollback_ms"] = sorted(rolls)[2] * 1000
    print(f"image: activate median {got['image.activate_ms']:.0f} ms, rollback median {got['image.rollback_ms']:.0f} ms "
          f"(5 each, whole process incl. re-rendering boot files; {beside('image.activate_ms')} each)")
    return got
