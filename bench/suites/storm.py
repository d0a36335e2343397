"""storm: N simulated nodes (bench/storm_client.py) boot at once against one
serve: DHCP with their own MACs, iPXE script, kernel and initrd over HTTP, the
NFS reads of a real node's boot (bench/boot-reads.json) from serve's
nfs-ganesha, a boot credential and the enrollment over the node API's TLS; nginx alone serving the same files
to the same clients is the ceiling printed beside."""
import json
import os
import shutil
import subprocess

from goals import beside
from .common import BENCH_DIR, out, sh
from .site import Site

NAME = "storm"


def figures(n, r):
    """The storm client's JSON for N nodes as the table's figures."""
    mib = lambda b: b / (1 << 20) if b else None
    http, nginx = r.get("http_bytes_per_s"), r.get("nginx_bytes_per_s")
    return {
        f"storm.{n}.failures": r["failed"],
        f"storm.{n}.all_enrolled_s": r["wall_s"],
        f"storm.{n}.slowest_s": r["slowest_s"],
        f"storm.{n}.dhcp_answers_per_s": r["dhcp_answers_per_s"],
        f"storm.{n}.dhcp_last_s": r["dhcp_last_s"],
        f"storm.{n}.http_mib_s": mib(http),
        f"storm.{n}.nginx_alone_mib_s": mib(nginx),
        f"storm.{n}.http_vs_nginx_alone": http / nginx if http and nginx else None,
        f"storm.{n}.nfs_mib_s": mib(r.get("nfs_bytes_per_s")),
        f"storm.{n}.nfs_gib": r.get("nfs_bytes", 0) / (1 << 30),
        f"storm.{n}.nfs_last_s": r.get("nfs_last_s"),
    }


def line(n, r, nfs_bytes):
    """The storm's printed line for N nodes."""
    mib = lambda b: f"{b / (1 << 20):.0f} MiB/s" if b else "?"
    ratio = f"{r['http_bytes_per_s'] / r['nginx_bytes_per_s']:.2f}x" if r.get("http_bytes_per_s") and r.get("nginx_bytes_per_s") else "?"
    return (f"storm: {n} nodes at once: all enrolled in {r['wall_s']:.1f} s, slowest node {r['slowest_s'] or 0:.1f} s, "
            f"failures {r['failed']} ({beside(f'storm.{n}.failures')}){' ' + str(r['failures']) if r['failed'] else ''}; "
            f"DHCP {r['dhcp_answers_per_s'] or 0:.0f} answers/s (last lease at {r['dhcp_last_s'] or 0:.1f} s); "
            f"HTTP {mib(r.get('http_bytes_per_s'))} (with the NFS reads beside it) against nginx's {mib(r.get('nginx_bytes_per_s'))} "
            f"alone for the same files and clients ({ratio}); NFS root reads ({nfs_bytes / (1 << 20):.0f} MiB per node) at {mib(r.get('nfs_bytes_per_s'))} "
            f"({r.get('nfs_bytes', 0) / (1 << 30):.1f} GiB, last node done at {r.get('nfs_last_s') or 0:.1f} s)")


def run(b, sizes=(50, 200, 500)):
    """A boot storm of each size in SIZES, one after the other, against one serve."""
    binary = b.binary
    if os.getuid() != 0 or not shutil.which("nginx"):
        print("storm: skipped (needs root and nginx)")
        return {}
    got = {}
    site = Site(binary, b.root, "storm", dhcp="authoritative", nfs=True)
    reads_file = os.path.join(BENCH_DIR, "boot-reads.json")
    reads = json.load(open(reads_file))
    try:
        total = sum(sizes)
        site.import_nodes(total, "02:53:00:00", "st")
        # A generation named by the boot files, with a kernel and initrd of the real sizes.
        images = os.path.join(site.home, "images", "default")
        os.makedirs(os.path.join(images, "g1"), exist_ok=True)
        os.symlink("g1", os.path.join(images, "current"))
        d = os.path.join(site.home, "http", "images", "default", "g1")
        os.makedirs(d, exist_ok=True)
        for f, n in {"vmlinuz": 8 << 20, "initrd.img": 22 << 20}.items():
            with open(os.path.join(d, f), "wb") as fh:
                fh.write(os.urandom(n))
        # The root a real node read before it enrolled (bench/boot-reads.json): the same
        # paths and sizes, random bytes where the node read, a hole after.
        gen_root = os.path.join(images, "g1", "root")
        for path, nbytes, size in reads["files"]:
            full = os.path.join(gen_root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(os.urandom(nbytes))
                fh.truncate(size)
        nfs_bytes = sum(f[1] for f in reads["files"])
        os.chmod(site.home, 0o755)
        nodes = json.loads(subprocess.run([binary, "node", "list", "--json", "--home", site.home], check=True,
                                          capture_output=True, text=True).stdout)
        nodes = sorted(({"mac": n["mac"], "hostname": n["hostname"], "ip": n["ip"]} for n in nodes), key=lambda n: n["hostname"])
        # The nodes' side of the wire in a namespace of its own (a broadcast from an address of
        # the server's own namespace would be dropped as a martian), with every node's address.
        clients = site.ns + "c"
        sh(f"ip netns add {clients} && ip -n {clients} link set lo up && ip -n {site.ns} link set vb1 netns {clients} "
           f"&& ip -n {clients} addr add 10.9.0.2/16 dev vb1 && ip -n {clients} link set vb1 up")
        batch = os.path.join(site.home, "addrs.batch")
        open(batch, "w").write("".join(f"addr add {n['ip']}/16 dev vb1\n" for n in nodes if n["ip"] != "10.9.0.2"))
        sh(f"ip -n {clients} -batch {batch}")
        site.start("--heartbeat", "30")
        site.start_nginx(8081)
        client = os.path.join(BENCH_DIR, "storm_client.py")
        start = 0
        try:
            for n in sizes:
                group = os.path.join(site.home, f"group{n}.json")
                json.dump(nodes[start:start + n], open(group, "w"))
                start += n
                r = json.loads(out(f"ip netns exec {clients} python3 {client} vb1 {site.ip} {group} --nginx 8081 "
                                   f"--nfs {site.home}/images:/default/g1/root --reads {reads_file} --ca {site.home}/tls/ca.pem"))
                got.update(figures(n, r))
                print(line(n, r, nfs_bytes))
        finally:
            subprocess.run(["sh", "-c", f"kill $(cat {site.home}/nginx.pid) 2>/dev/null"])
            subprocess.run(["ip", "netns", "del", clients])
    finally:
        site.close()
    return got
