"""Benchmarks of images, serve and the lab (see bench.py). Each prints numbers; none asserts."""
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import time


def sh(cmd, **kw):
    return subprocess.run(["sh", "-c", cmd], check=True, **kw)


def out(cmd):
    return subprocess.run(["sh", "-c", cmd], check=True, capture_output=True, text=True).stdout


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


def bench_image(binary, root, rootfs, node_controller):
    """Cold build vs bare mmdebstrap of the same packages; unchanged rebuild; activate; rollback."""
    mirror = host_mirror()
    if os.getuid() != 0 or not mirror or not shutil.which("mmdebstrap"):
        print("image: skipped (needs root, mmdebstrap and a Debian mirror)")
        return
    home = os.path.join(root, "image")
    subprocess.run([binary, "init", "--home", home, "--mirror", mirror], check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, PROVISIONER_ROOTFS=rootfs)
    nc = ["--node-controller", node_controller] if node_controller else []

    bare_dir = os.path.join(root, "bare")
    t = time.perf_counter()
    sh(f"mmdebstrap --quiet --mode=root --variant=minbase --include={','.join(packages(rootfs))} bookworm {bare_dir} {mirror}",
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bare = time.perf_counter() - t
    shutil.rmtree(bare_dir, ignore_errors=True)

    t = time.perf_counter()
    subprocess.run([binary, "image", "build", "--home", home, "--quiet", *nc], check=True, env=env, stdout=subprocess.DEVNULL)
    cold = time.perf_counter() - t
    print(f"image: cold build {cold:.1f} s vs bare mmdebstrap of the same packages {bare:.1f} s: ratio {cold / bare:.2f} "
          f"(both download everything; ours also packs the base-root cache and customizes; goal <= 1.1)")

    t = time.perf_counter()
    subprocess.run([binary, "image", "build", "--home", home, "--quiet", *nc], check=True, env=env, stdout=subprocess.DEVNULL)
    print(f"image: rebuild with an unchanged package set: {time.perf_counter() - t:.1f} s (goal <= 20 s)")

    acts, rolls = [], []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([binary, "image", "rollback", "--home", home], check=True, stdout=subprocess.DEVNULL)
        rolls.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([binary, "image", "activate", "g2", "--home", home], check=True, stdout=subprocess.DEVNULL)
        acts.append(time.perf_counter() - t)
    print(f"image: activate median {sorted(acts)[2] * 1000:.0f} ms, rollback median {sorted(rolls)[2] * 1000:.0f} ms "
          f"(5 each, whole process incl. re-rendering boot files; goal <= 1 s each)")


class Site:
    """A serve site in its own namespace (veth, no uplink), DHCP proxy mode, NFS only if asked."""

    def __init__(self, binary, root, name, ip="10.9.0.1", dhcp="proxy", registry=None, server_name=None, nfs=False):
        self.binary, self.ip = binary, ip
        self.home = os.path.join(root, name)
        self.ns = f"pvb{name[:6]}{os.getpid() % 10000}"
        subprocess.run([binary, "init", "--home", self.home, "--mirror", "http://mirror.example/debian", "--interface", "vb0",
                        "--server-ip", ip, "--subnet", "10.9.0.0/16", "--dhcp-range", "10.9.255.1-10.9.255.250"]
                       + (["--registry", registry] if registry else []) + (["--server-name", server_name] if server_name else []),
                       check=True, stdout=subprocess.DEVNULL)
        cfg = open(os.path.join(self.home, "provisioner.yaml")).read()
        cfg = cfg.replace("mode: authoritative", f"mode: {dhcp}")
        if not nfs:
            cfg = cfg.replace("server: auto", "server: none")
        open(os.path.join(self.home, "provisioner.yaml"), "w").write(cfg)
        sh(f"ip netns add {self.ns} && ip -n {self.ns} link set lo up && ip -n {self.ns} link add vb0 type veth peer name vb1 "
           f"&& ip -n {self.ns} addr add {ip}/16 dev vb0 && ip -n {self.ns} addr add 10.9.0.2/16 dev vb1 "
           f"&& ip -n {self.ns} link set vb0 up && ip -n {self.ns} link set vb1 up")
        self.serve = None

    def run(self, *args, **kw):
        return subprocess.run([self.binary, *args, "--home", self.home], check=True, stdout=subprocess.DEVNULL, **kw)

    def start(self, *extra):
        self.run("apply")
        self.log = open(os.path.join(self.home, "serve.log"), "w")
        self.serve = subprocess.Popen(["ip", "netns", "exec", self.ns, self.binary, "serve", "--home", self.home, *extra],
                                      stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if subprocess.run(["ip", "netns", "exec", self.ns, "curl", "-sf", "-m", "1", f"http://{self.ip}:8080/healthz"],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("serve did not start: " + open(os.path.join(self.home, "serve.log")).read()[-2000:])

    def exec(self, cmd):
        return out(f"ip netns exec {self.ns} {cmd}")

    def import_nodes(self, count, mac_prefix, name_prefix):
        """COUNT nodes MAC_PREFIX:XX:YY named NAME_PREFIX0000.., addresses given by the registry."""
        csv = os.path.join(self.home, "nodes.csv")
        with open(csv, "w") as f:
            f.write("mac,hostname,ip,profile\n")
            for i in range(count):
                f.write(f"{mac_prefix}:{i >> 8:02x}:{i & 255:02x},{name_prefix}{i:04d},,\n")
        self.run("node", "import", csv, "--no-apply")

    def start_nginx(self, port):
        """nginx serving the site's HTTP root on PORT: the ceiling serve's file serving is measured against."""
        conf = os.path.join(self.home, "nginx.conf")
        open(conf, "w").write(f"""worker_processes auto; pid {self.home}/nginx.pid; error_log {self.home}/nginx.err;
events {{ worker_connections 4096; }}
http {{ access_log off; sendfile on; tcp_nopush on;
  server {{ listen {self.ip}:{port}; root {self.home}/http; }} }}
""")
        self.exec(f"nginx -c {conf}")

    def close(self):
        if self.serve:
            self.serve.terminate()
            self.serve.wait(timeout=30)
        subprocess.run(["ip", "netns", "del", self.ns])


def bench_http(binary, root):
    """Kernel + initrd over serve's HTTP vs dnsmasq's TFTP; 50 parallel initrd fetches, serve vs nginx."""
    if os.getuid() != 0:
        print("serve: skipped (needs root for a network namespace)")
        return
    site = Site(binary, root, "http")
    try:
        size = {"vmlinuz": 8 << 20, "initrd.img": 22 << 20}     # the sizes of the real Debian 12 netboot pair
        for base in ["tftp", "http"]:
            d = os.path.join(site.home, base, "images", "default", "g1")
            os.makedirs(d, exist_ok=True)
            for f, n in size.items():
                with open(os.path.join(d, f), "wb") as fh:
                    fh.write(os.urandom(n))
        os.chmod(site.home, 0o755)
        site.start()
        get = os.path.join(site.home, "got")
        t = time.perf_counter()
        for f in size:
            site.exec(f"busybox tftp -b 1468 -g -r images/default/g1/{f} -l {get} {site.ip}")
        tftp = time.perf_counter() - t
        t = time.perf_counter()
        for f in size:
            site.exec(f"curl -sf -o {get} http://{site.ip}:8080/images/default/g1/{f}")
        http_t = time.perf_counter() - t
        print(f"serve: kernel + initrd (30 MiB) over TFTP {tftp:.2f} s, over serve's HTTP {http_t:.2f} s: "
              f"HTTP {tftp / http_t:.0f}x faster (goal >= 10x; TFTP with 1468-byte blocks, one round trip each)")

        if not shutil.which("nginx") or not shutil.which("wrk"):
            print("serve: 50 parallel fetches skipped (needs nginx and wrk)")
            return
        site.start_nginx(8081)
        try:
            rates = {}
            for name, port in [("serve", 8080), ("nginx", 8081)]:
                text = site.exec(f"wrk -t2 -c50 -d10s http://{site.ip}:{port}/images/default/g1/initrd.img")
                m = re.search(r"Transfer/sec:\s*([\d.]+)(\w+)", text)
                unit = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[m.group(2)]
                rates[name] = float(m.group(1)) * unit
            print(f"serve: 50 parallel initrd fetches for 10 s: serve {rates['serve'] / (1 << 20):.0f} MiB/s, "
                  f"nginx {rates['nginx'] / (1 << 20):.0f} MiB/s: {rates['serve'] / rates['nginx']:.2f}x nginx (goal >= 0.8x)")
        finally:
            subprocess.run(["sh", "-c", f"kill $(cat {site.home}/nginx.pid) 2>/dev/null"])
    finally:
        site.close()


WRK_LUA = r"""
-- Heartbeats of N enrolled controllers: each wrk thread owns every Nth
-- credential and keeps its sequence numbers increasing.
local creds, seq, i = {}, {}, 0
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args)
  local n = 0
  for line in io.lines(args[1]) do
    if n % tonumber(args[2]) == id then table.insert(creds, line) end
    n = n + 1
  end
  -- args[4]: the first sequence number (a later run continues above an earlier one's)
  for k = 1, #creds do seq[k] = tonumber(args[4] or "0") end
  pause = tonumber(args[3] or "0")
end
-- args[3]: milliseconds each connection waits between a response and its next
-- heartbeat (0: as fast as the server answers).
function delay() return pause end
function request()
  i = i % #creds + 1
  seq[i] = seq[i] + 1
  local body = string.format('{"capacity":{"coresMax":2,"coresFree":2,"memoryMiBMax":1024,"memoryMiBFree":900,"diskMiBMax":1,"diskMiBFree":1,"hypervisor":"qemu-tcg","hardwareVirtualization":false,"libvirtVersion":"9.0.0"},"instances":[],"sequence":%d}', seq[i])
  return wrk.format("POST", "/api/v1/heartbeat", {["Authorization"] = "Bearer " .. creds[i], ["Content-Type"] = "application/json"}, body)
end
"""


def bench_node_api(binary, root, controllers=1000, registry=None, label="node API"):
    """1,000 simulated node controllers enroll, then heartbeat under wrk."""
    if os.getuid() != 0 or not shutil.which("wrk"):
        print(f"{label}: skipped (needs root and wrk)")
        return
    site = Site(binary, root, "api" if registry is None else "apipg", registry=registry)
    try:
        site.import_nodes(controllers, "02:50:00:00", "nc")
        site.start("--heartbeat", "30")
        secret = bytes.fromhex(open(os.path.join(site.home, "cluster.secret")).read().strip())
        script = os.path.join(site.home, "enroll.py")
        open(script, "w").write(f"""
import hashlib, hmac, http.client, json, sys, time
secret = bytes.fromhex({secret.hex()!r})
creds, t = [], time.perf_counter()
conn = http.client.HTTPConnection({site.ip!r}, 8080)
for i in range({controllers}):
    mac = f"02:50:00:00:{{i >> 8:02x}}:{{i & 255:02x}}"
    token = hmac.new(secret, mac.encode(), hashlib.sha256).digest()[:16].hex()
    body = json.dumps({{"mac": mac, "hostname": f"nc{{i:04d}}", "ip": "10.9.0.2", "token": token, "image": "default/g1",
        "capacity": {{"coresMax": 2, "coresFree": 2, "memoryMiBMax": 1024, "memoryMiBFree": 900, "diskMiBMax": 1, "diskMiBFree": 1,
                      "hypervisor": "qemu-tcg", "hardwareVirtualization": False, "libvirtVersion": "9.0.0"}},
        "instances": [], "controllerVersion": "bench"}})
    conn.request("POST", "/api/v1/enroll", body, {{"Content-Type": "application/json"}})
    r = conn.getresponse(); data = r.read()
    if r.status != 200: sys.exit(f"enroll {{mac}}: {{r.status}} {{data[:200]}}")
    creds.append(json.loads(data)["credential"])
print(time.perf_counter() - t)
open(sys.argv[1], "w").write("\\n".join(creds) + "\\n")
""")
        creds = os.path.join(site.home, "creds.txt")
        enroll_s = float(site.exec(f"python3 {script} {creds}").strip())
        lua = os.path.join(site.home, "beat.lua")
        open(lua, "w").write(WRK_LUA)
        def beats(pause_ms, first_sequence):
            text = site.exec(f"wrk -t2 -c64 -d10s --latency -s {lua} http://{site.ip}:8080 -- {creds} 2 {pause_ms} {first_sequence}")
            rps = float(re.search(r"Requests/sec:\s*([\d.]+)", text).group(1))
            p99 = re.search(r"99%\s+([\d.]+\w+)", text).group(1)
            bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
            return rps, p99, bad.group(1) if bad else 0
        # As fast as serve answers (its ceiling, and the latency at saturation), then at a
        # steady rate above the goal: each of the 64 connections waits 4 ms between a
        # response and its next heartbeat, as a controller waits for its next beat.
        rps, p99, bad = beats(0, 0)
        print(f"{label}: {controllers} controllers enrolled in {enroll_s:.1f} s ({controllers / enroll_s:.0f}/s, one connection); "
              f"heartbeats under wrk (2 threads, 64 connections, 10 s) as fast as answered: {rps:.0f} requests/s, p99 {p99} "
              f"(at saturation), non-2xx {bad}")
        rps, p99, bad = beats(4, 10_000_000)
        print(f"{label}: heartbeats paced (64 connections, 4 ms between a response and the next): {rps:.0f} requests/s, "
              f"p99 {p99}, non-2xx {bad} (goal: p99 <= 5 ms at >= 10,000/s)")
    finally:
        site.close()


def vcpus(lab_output):
    """The vCPUs per node that `lab up` said it gave."""
    m = re.search(r"(\d+) vCPU\(s\)", lab_output)
    return m.group(1) if m else "?"


def bench_lab(binary, root, node_controller):
    """PXE power-on to enrolled, per node, with the phases (lab up --nodes 2)."""
    if os.getuid() != 0 or not shutil.which("qemu-system-x86_64"):
        print("lab: skipped (needs root and qemu)")
        return
    home = os.path.join(root, "lab")
    nc = ["--node-controller", node_controller] if node_controller else []
    try:
        r = subprocess.run([binary, "lab", "up", "--home", home, "--nodes", "2", *nc], capture_output=True, text=True)
        if r.returncode != 0:
            print("lab: lab up failed: " + r.stderr[-1500:])
            return
        # lab up's own clock: QEMU started -> the server accepted the enrollment.
        for line in r.stderr.splitlines():
            if ": enrolled (+" in line:
                node, seconds = line.split("==>")[-1].strip().split(": enrolled (+")
                print(f"lab: {node}: power-on -> enrolled {seconds.rstrip(')')} (TCG, 2 nodes booting at once on {os.cpu_count()} cores, "
                      f"{vcpus(r.stderr)} vCPU(s) each; goal <= 30 s each)")
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
            total = next((l for l in r.stderr.splitlines() + r.stdout.splitlines() if "enrolled in" in l), "")
            seconds = total.split("enrolled in")[-1].strip() if total else "?"
            shown = subprocess.run([binary, "node", "show", "lab1", "--home", home, "--json"], capture_output=True, text=True)
            cap = (json.loads(shown.stdout or "{}").get("capacity") or {}) if shown.returncode == 0 else {}
            used = cap.get("memory_mib_max", 0) - cap.get("memory_mib_free", 0) if cap else None
            goal = "goal <= 25 s" if root == "nfs" else "no goal: it fetches the whole root image first"
            print(f"lab: root {root}: one node alone ({vcpus(r.stderr)} vCPU(s)), power-on -> enrolled {seconds} ({goal}); "
                  f"memory in use after enrolling {used if used is not None else '?'} of {cap.get('memory_mib_max', '?')} MiB")
    finally:
        subprocess.run([binary, "lab", "down", "--home", home], capture_output=True)


def bench_firmware(binary, root, node_controller):
    """Power-on -> enrolled of one node alone per firmware path, in one run and one
    lab home (the image is built once): where the UEFI paths lose time under TCG."""
    if os.getuid() != 0 or not shutil.which("qemu-system-x86_64"):
        print("firmware: skipped (needs root and qemu)")
        return
    home = os.path.join(root, "fwlab")
    nc = ["--node-controller", node_controller] if node_controller else []
    for firmware in ("bios", "uefi", "uefi-http", "secureboot"):
        try:
            r = subprocess.run([binary, "lab", "up", "--home", home, "--nodes", "1", "--firmware", firmware, *nc],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"firmware: {firmware}: lab up failed: " + r.stderr[-1500:])
                continue
            total = next((l for l in r.stderr.splitlines() + r.stdout.splitlines() if "enrolled in" in l), "")
            phases = next((l.strip() for l in r.stdout.splitlines() if l.startswith("  lab1:")), "")
            via = next((l.strip() for l in r.stdout.splitlines() if l.startswith("  lab1 firmware:")), "")
            seconds = total.split("enrolled in")[-1].strip() if total else "?"
            print(f"firmware: {firmware:<10} power-on -> enrolled {seconds} (QEMU start to enrolled, TCG, alone); "
                  f"from its first DHCP: {phases.removeprefix('lab1: ')}; {via.removeprefix('lab1 ')}")
        finally:
            subprocess.run([binary, "lab", "down", "--home", home], capture_output=True)


def bench_storm(binary, root, sizes=(50, 200, 500)):
    """A boot storm: N simulated nodes (bench/storm_client.py) boot at once against one serve:
    DHCP with their own MACs, iPXE script, kernel and initrd over HTTP, the NFS reads of a real
    node's boot (bench/boot-reads.json) from serve's nfs-ganesha, enrollment with their token."""
    if os.getuid() != 0 or not shutil.which("nginx"):
        print("storm: skipped (needs root and nginx)")
        return
    site = Site(binary, root, "storm", dhcp="authoritative", nfs=True)
    reads_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot-reads.json")
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
        client = os.path.join(os.path.dirname(os.path.abspath(__file__)), "storm_client.py")
        start = 0
        try:
            for n in sizes:
                group = os.path.join(site.home, f"group{n}.json")
                json.dump(nodes[start:start + n], open(group, "w"))
                start += n
                r = json.loads(out(f"ip netns exec {clients} python3 {client} vb1 {site.ip} {group} --nginx 8081 "
                                   f"--nfs {site.home}/images:/default/g1/root --reads {reads_file}"))
                mib = lambda b: f"{b / (1 << 20):.0f} MiB/s" if b else "?"
                ratio = f"{r['http_bytes_per_s'] / r['nginx_bytes_per_s']:.2f}x" if r.get("http_bytes_per_s") and r.get("nginx_bytes_per_s") else "?"
                print(f"storm: {n} nodes at once: all enrolled in {r['wall_s']:.1f} s, slowest node {r['slowest_s'] or 0:.1f} s, "
                      f"failures {r['failed']} (goal 0){' ' + str(r['failures']) if r['failed'] else ''}; "
                      f"DHCP {r['dhcp_answers_per_s'] or 0:.0f} answers/s (last lease at {r['dhcp_last_s'] or 0:.1f} s); "
                      f"HTTP {mib(r.get('http_bytes_per_s'))} (with the NFS reads beside it) against nginx's {mib(r.get('nginx_bytes_per_s'))} "
                      f"alone for the same files and clients ({ratio}); NFS root reads ({nfs_bytes / (1 << 20):.0f} MiB per node) at {mib(r.get('nfs_bytes_per_s'))} "
                      f"({r.get('nfs_bytes', 0) / (1 << 30):.1f} GiB, last node done at {r.get('nfs_last_s') or 0:.1f} s)")
        finally:
            subprocess.run(["sh", "-c", f"kill $(cat {site.home}/nginx.pid) 2>/dev/null"])
            subprocess.run(["ip", "netns", "del", clients])
    finally:
        site.close()


class Postgres:
    """A PostgreSQL 15 of the benchmark's own (initdb in a temp directory, Unix socket only), as the tests run it."""

    BIN = "/usr/lib/postgresql/15/bin"

    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        os.makedirs(self.dir)
        shutil.chown(self.dir, "postgres", "postgres")
        self.su = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run(self.su + [f"{self.BIN}/initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres", "--locale=C", "-E", "UTF8"],
                       check=True, stdout=subprocess.DEVNULL)
        # Durable commits (fsync on), as a real registry runs.
        subprocess.run(self.su + [f"{self.BIN}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "start",
                                  "-o", f"-k {self.dir} -c listen_addresses=''"], check=True, stdout=subprocess.DEVNULL)
        self.count = 0

    def database(self):
        self.count += 1
        name = f"bench{self.count}"
        subprocess.run([f"{self.BIN}/psql", "-X", "-q", "-h", self.dir, "-U", "postgres", "-d", "postgres", "-c", f"CREATE DATABASE {name}"],
                       check=True)
        return f"postgres://postgres@/{name}?host={self.dir}"

    def close(self):
        subprocess.run(self.su + [f"{self.BIN}/pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop"], stdout=subprocess.DEVNULL)


def bench_postgres(binary, root, csv, nodes, adds=31):
    """The registry on PostgreSQL beside SQLite, in the same run: a 10,000-node
    import, a node add into it (whole process), and the node API's heartbeats."""
    if not os.path.exists(Postgres.BIN + "/initdb"):
        print("postgres: skipped (postgresql-15 not installed)")
        return
    pg = Postgres(root)
    try:
        for store in ("sqlite", "postgres"):
            times, add_times = [], []
            for k in range(3):
                home = os.path.join(root, f"pg-{store}{k}")
                extra = ["--registry", pg.database()] if store == "postgres" else []
                subprocess.run([binary, "init", "--home", home, "--mirror", "http://mirror.example/debian", "--interface", "bench0",
                                "--server-ip", "10.8.0.1", "--subnet", "10.8.0.0/16", "--dhcp-range", "10.8.255.1-10.8.255.250", *extra],
                               check=True, stdout=subprocess.DEVNULL)
                t = time.perf_counter()
                subprocess.run([binary, "node", "import", csv, "--no-apply", "--home", home], check=True, stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - t)
            for k in range(adds):
                t = time.perf_counter()
                subprocess.run([binary, "node", "add", f"extra{k}", "--mac", f"02:20:00:00:00:{k + 1:02x}", "--no-apply", "--home", home],
                               check=True, stdout=subprocess.DEVNULL)
                add_times.append(time.perf_counter() - t)
            print(f"postgres: {store:8} import of {nodes} nodes: median {statistics.median(times) * 1000:.0f} ms "
                  f"(runs: {', '.join(f'{x * 1000:.0f}' for x in times)} ms); node add into them (--no-apply, whole process): "
                  f"median {statistics.median(add_times) * 1000:.1f} ms ({adds} runs)")
        bench_node_api(binary, root, registry=pg.database(), label="postgres: node API on PostgreSQL")
        bench_propagation(binary, root, pg, csv, nodes)
    finally:
        pg.close()


def bench_propagation(binary, root, pg, csv, nodes, servers=3, changes=200):
    """Several boot servers on one PostgreSQL registry of NODES nodes: how long a
    boot server takes to start (read and render them all), then per `node add`
    how long until every boot server's dnsmasq has read the new host entry."""
    if os.getuid() != 0:
        print("postgres: propagation skipped (needs root for network namespaces)")
        return
    url = pg.database()
    sites = [Site(binary, root, f"bs{k}", registry=url, server_name=f"bs{k}") for k in range(servers)]
    try:
        sites[0].run("node", "import", csv, "--no-apply")
        starts = []
        for site in sites:
            t = time.perf_counter()
            site.start("--heartbeat", "5")
            starts.append(time.perf_counter() - t)
        # The same start on SQLite, in the same run: apply, then serve up with its replica read.
        lone = Site(binary, root, "bs-sqlite")
        try:
            lone.run("node", "import", csv, "--no-apply")
            t = time.perf_counter()
            lone.start("--heartbeat", "5")
            sqlite_start = time.perf_counter() - t
        finally:
            lone.close()
        print(f"postgres: boot server start with {nodes} nodes (apply, then serve reads and renders them before it answers): "
              f"PostgreSQL {', '.join(f'{x:.2f}' for x in starts)} s; SQLite {sqlite_start:.2f} s")
        logs = [open(os.path.join(s.home, "run", "provisioner", "dnsmasq.log")) for s in sites]
        for f in logs:
            f.seek(0, os.SEEK_END)
        from_commit, from_start = [], []
        for k in range(changes):
            name = f"prop{k:03d}"
            needle = f"dhcp-hosts/{name}.conf"
            t0 = time.perf_counter()
            p = subprocess.Popen([binary, "node", "add", name, "--mac", f"02:40:00:00:{k >> 8:02x}:{k & 255:02x}", "--no-apply", "--json",
                                  "--home", sites[0].home], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            p.stdout.readline()  # printed once the change is committed
            committed = time.perf_counter()
            seen = [""] * len(logs)
            pending = set(range(len(logs)))
            while pending:
                for i in list(pending):
                    seen[i] += logs[i].read()
                    if needle in seen[i]:
                        pending.discard(i)
                if pending:
                    time.sleep(0.0005)
            done = time.perf_counter()
            p.wait()
            if p.returncode != 0:
                raise RuntimeError(f"node add {name} failed")
            from_commit.append(done - committed)
            from_start.append(done - t0)
        q = statistics.quantiles(from_commit, n=100)
        qs = statistics.quantiles(from_start, n=100)
        print(f"postgres: change propagation to {servers} boot servers' dnsmasq ({changes} node adds into {nodes} nodes): "
              f"from commit p50 {statistics.median(from_commit) * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, max {max(from_commit) * 1000:.1f} ms; "
              f"from the command's start p50 {statistics.median(from_start) * 1000:.1f} ms, p99 {qs[98] * 1000:.1f} ms (goal: p99 <= 100 ms)")
    finally:
        for s in sites:
            s.close()
