"""cloud: an Incus cluster's members joining, with real incusd on this host
(one INCUS_DIR and loopback address each, in a network namespace of the
bench's own with only loopback): `cloud init` makes the first member, then
N fresh daemons are each given a join token (`cloud join-token`, as
enrollment mints them) and join through their local sockets, three at a
time as serve hands joins out, as N node controllers would; then one
member is wiped and rejoins."""
import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import time
import uuid

from goals import beside
from .common import new_home

NAME = "cloud"
INCUSD = "/usr/libexec/incus/incusd"
PORT = 18443
SLOTS = 3  # serve's join slots (JoinSlots)


def unix_request(path, method, uri, body=None, timeout=120):
    """One HTTP request to incusd's socket; the answer's JSON."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(f"{method} {uri} HTTP/1.1\r\nHost: incus\r\nConnection: close\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    chunks = []
    while True:
        c = s.recv(65536)
        if not c:
            break
        chunks.append(c)
    s.close()
    raw = b"".join(chunks)
    head, _, rest = raw.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        out, buf = b"", rest
        while buf:
            size_text, _, buf = buf.partition(b"\r\n")
            size = int(size_text, 16)
            if size == 0:
                break
            out, buf = out + buf[:size], buf[size + 2:]
        rest = out
    return json.loads(rest)


def join(sock, j):
    """What the node controller's IncusJoiner does: its address, then PUT /1.0/cluster, waiting for the operation."""
    join_once(sock, j)


def join_once(sock, j):
    unix_request(sock, "PATCH", "/1.0", {"config": {"core.https_address": j["serverAddress"]}})
    answer = unix_request(sock, "PUT", "/1.0/cluster", {
        "server_name": j["serverName"], "server_address": j["serverAddress"], "enabled": True,
        "cluster_address": j["clusterAddress"], "cluster_certificate": j["clusterCertificate"], "cluster_token": j["token"],
        "member_config": [{"entity": m["entity"], "name": m["name"], "key": m["key"], "value": m["value"]} for m in j["memberConfig"]]})
    if answer.get("type") == "async":
        done = unix_request(sock, "GET", answer["operation"] + "/wait?timeout=120")
        meta = done.get("metadata") or {}
        if meta.get("status") != "Success":
            raise RuntimeError(f"{j['serverName']}: {meta.get('err') or done.get('error')}")
    elif answer.get("type") == "error":
        raise RuntimeError(f"{j['serverName']}: {answer.get('error')}")


class Daemons:
    def __init__(self, root):
        self.ns = "pvbench-" + uuid.uuid4().hex[:6]
        self.root = root
        self.procs = {}
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)

    def dir(self, i):
        return os.path.join(self.root, f"incus{i}")

    def sock(self, i):
        return os.path.join(self.dir(i), "unix.socket")

    def start(self, i):
        os.makedirs(self.dir(i), exist_ok=True)
        log = open(os.path.join(self.root, f"incusd{i}.log"), "w")
        self.procs[i] = subprocess.Popen(["ip", "netns", "exec", self.ns, INCUSD, "--group", "root"],
                                         env={**os.environ, "INCUS_DIR": self.dir(i)}, stdout=log, stderr=log)

    def wait(self, i, seconds=60):
        end = time.time() + seconds
        while time.time() < end:
            try:
                unix_request(self.sock(i), "GET", "/1.0", timeout=5)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"incusd {i} did not answer")

    def wipe(self, i):
        p = self.procs.pop(i)
        p.kill()
        p.wait()
        shutil.rmtree(self.dir(i), ignore_errors=True)

    def close(self):
        for p in self.procs.values():
            p.kill()
            p.wait()
        subprocess.run(["ip", "netns", "del", self.ns])


def run(b, members=20):
    if not os.path.exists(INCUSD):
        print("cloud: skipped (incusd not installed: make deps installs incus-base from bookworm-backports)")
        return {}
    home = new_home(b.binary, b.root, "cloud")
    d = Daemons(os.path.join(b.root, "cloud-daemons"))
    got = {}
    try:
        for i in range(1, members + 2):
            d.start(i)
        for i in range(1, members + 2):
            d.wait(i)
        ns = ["ip", "netns", "exec", d.ns, b.binary]
        subprocess.run(ns + ["cloud", "init", "--home", home, "--socket", d.sock(1), "--address", f"127.0.0.1:{PORT}", "--name", "boot1"],
                       check=True, stdout=subprocess.DEVNULL)
        t = time.perf_counter()
        joins = {}
        for i in range(2, members + 2):
            r = subprocess.run(ns + ["cloud", "join-token", f"m{i}", "--address", f"127.0.0.{i}:{PORT}", "--home", home],
                               check=True, capture_output=True, text=True)
            joins[i] = json.loads(r.stdout)
        mint = (time.perf_counter() - t) / members
        t = time.perf_counter()
        # As serve hands joins out: three nodes joining at a time (its join slots; Incus
        # refuses joins beyond a few at once, and the daemon refused takes no other).
        with concurrent.futures.ThreadPoolExecutor(max_workers=SLOTS) as pool:
            list(pool.map(lambda i: join(d.sock(i), joins[i]), joins))
        together = time.perf_counter() - t
        listed = json.loads(subprocess.run(ns + ["cloud", "status", "--json", "--home", home], check=True, capture_output=True, text=True).stdout)
        online = sum(1 for m in listed if m["status"] == "ONLINE")
        got["cloud.mint_ms"] = mint * 1000
        got["cloud.join_together_s"] = together
        got["cloud.online"] = online
        print(f"cloud: a join token minted (a `cloud join-token` process each): {mint * 1000:.0f} ms ({beside('cloud.mint_ms')})")
        print(f"cloud: {members} fresh daemons joining, {SLOTS} at a time as serve hands joins out: all members in {together:.1f} s, "
              f"{online} of {members + 1} ONLINE ({beside('cloud.join_together_s')})")
        # One member wiped (a diskless reboot): seen OFFLINE, then removed, minted and joined again.
        subprocess.run(["env", f"INCUS_DIR={d.dir(1)}", "incus", "config", "set", "cluster.offline_threshold", "11"], check=True)
        d.wipe(2)
        d.start(2)
        d.wait(2)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 60:
            listed = json.loads(subprocess.run(ns + ["cloud", "status", "--json", "--home", home], capture_output=True, text=True).stdout or "[]")
            if any(m["name"] == "m2" and m["status"] == "OFFLINE" for m in listed):
                break
            time.sleep(1)
        t = time.perf_counter()
        r = subprocess.run(ns + ["cloud", "join-token", "m2", "--address", f"127.0.0.2:{PORT}", "--home", home], check=True, capture_output=True, text=True)
        join(d.sock(2), json.loads(r.stdout))
        got["cloud.rejoin_s"] = time.perf_counter() - t
        print(f"cloud: a wiped member rejoining under its name (removed, minted, joined): {got['cloud.rejoin_s']:.2f} s ({beside('cloud.rejoin_s')})")
    finally:
        d.close()
    return got
