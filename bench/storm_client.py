"""Boot storm client: N simulated nodes boot at once against one serve, each doing
on the wire what a real node does (run inside the site's network namespace by
the storm suite, bench/suites/storm.py; prints one JSON object).

Per node: DHCP DISCOVER/REQUEST with its own MAC (a PXE ROM's vendor class), the
node's iPXE script over HTTP from its own address, the kernel and initrd named in
it, with --nfs the reads of its root over NFS that a real node made before it
enrolled (bench/boot-reads.json, recorded from a lab boot: each file opened
through the export and as many bytes read as the real node's server read; with
libnfs, one NFS connection per node), then a boot credential and the enrollment
over the node API's HTTPS (checked against the site CA, --ca). Not simulated: the
time a real node spends computing.

usage: storm_client.py IFACE SERVER_IP NODES_JSON --ca CA_PEM [--nginx PORT] [--nfs EXPORT:PREFIX --reads FILE]
NODES_JSON: [{"mac": ..., "hostname": ..., "ip": ...}, ...]
"""
import ctypes
import http.client
import json
import os
import queue
import random
import re
import socket
import ssl
import struct
import sys
import threading
import time

VENDOR = b"PXEClient:Arch:00000:UNDI:002001"


def dhcp_packet(kind, mac, xid, requested=None, server=None):
    chaddr = bytes.fromhex(mac.replace(":", "")) + b"\0" * 10
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                       b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, chaddr, b"\0" * 64, b"\0" * 128)
    opts = bytes([53, 1, kind, 60, len(VENDOR)]) + VENDOR
    if requested:
        opts += bytes([50, 4]) + socket.inet_aton(requested)
    if server:
        opts += bytes([54, 4]) + socket.inet_aton(server)
    return head + b"\x63\x82\x53\x63" + opts + bytes([255])


def parse_reply(data):
    if len(data) < 240 or data[0] != 2 or data[236:240] != b"\x63\x82\x53\x63":
        return None
    xid = struct.unpack("!I", data[4:8])[0]
    yiaddr = socket.inet_ntoa(data[16:20])
    i, kind, server = 240, None, None
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, n = data[i], data[i + 1]
        value = data[i + 2:i + 2 + n]
        if code == 53:
            kind = value[0]
        elif code == 54:
            server = socket.inet_ntoa(value)
        i += 2 + n
    return xid, kind, yiaddr, server


class DHCP:
    """One socket on port 68 for every simulated node; replies go to the waiting node by xid."""

    def __init__(self, iface):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("0.0.0.0", 68))
        self.waiting = {}
        self.lock = threading.Lock()
        self.answers = 0
        threading.Thread(target=self.receive, daemon=True).start()

    def receive(self):
        while True:
            data = self.sock.recv(4096)
            reply = parse_reply(data)
            if not reply:
                continue
            with self.lock:
                q = self.waiting.get(reply[0])
                self.answers += 1
            if q:
                q.put(reply)

    def exchange(self, kind, mac, xid, want, **opts):
        """Sends until the wanted answer comes (4 tries, 1, 2, 4, 8 s apart, as a PXE ROM does)."""
        q = queue.Queue()
        with self.lock:
            self.waiting[xid] = q
        try:
            for wait in (1, 2, 4, 8):
                self.sock.sendto(dhcp_packet(kind, mac, xid, **opts), ("255.255.255.255", 67))
                deadline = time.monotonic() + wait
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        reply = q.get(timeout=left)
                    except queue.Empty:
                        break
                    if reply[1] == want:
                        return reply
                    if reply[1] == 6:   # NAK
                        raise RuntimeError(f"DHCP NAK for {mac}")
            raise RuntimeError(f"no DHCP answer for {mac}")
        finally:
            with self.lock:
                self.waiting.pop(xid, None)


def fetch(host, port, path, source, method="GET", body=None, tls=None):
    """One request from `source`; over HTTPS when `tls` (an ssl context) is given, as the node API is."""
    if tls:
        conn = http.client.HTTPSConnection(host, port, timeout=120, source_address=(source, 0), context=tls)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=120, source_address=(source, 0))
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        conn.request(method, path, body, headers)
        r = conn.getresponse()
        n, data = 0, b""
        while chunk := r.read(1 << 20):
            n += len(chunk)
            if n <= 65536:
                data += chunk
        if r.status != 200:
            raise RuntimeError(f"{method} {path}: HTTP {r.status} {data[:200]!r}")
        return n, data
    finally:
        conn.close()


class NFS:
    """libnfs (the library serve's NFS check uses), through ctypes: its calls release the GIL."""

    lib = None

    def __init__(self):
        if NFS.lib is None:
            lib = ctypes.CDLL("libnfs.so.13")
            lib.nfs_init_context.restype = ctypes.c_void_p
            lib.nfs_destroy_context.argtypes = [ctypes.c_void_p]
            lib.nfs_mount.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
            lib.nfs_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
            lib.nfs_read.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p]
            lib.nfs_close.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            lib.nfs_get_error.argtypes = [ctypes.c_void_p]
            lib.nfs_get_error.restype = ctypes.c_char_p
            NFS.lib = lib

    def replay(self, server, export, prefix, reads):
        """Mounts SERVER:EXPORT and reads, in order, each recorded file's bytes; returns the bytes read."""
        lib = self.lib
        ctx = lib.nfs_init_context()
        if not ctx:
            raise RuntimeError("libnfs: no context")
        try:
            def error(what):
                return RuntimeError(f"NFS {what}: {(lib.nfs_get_error(ctx) or b'').decode(errors='replace')}")
            if lib.nfs_mount(ctx, server.encode(), export.encode()) != 0:
                raise error(f"mount {server}:{export}")
            buf = ctypes.create_string_buffer(1 << 20)
            total = 0
            for path, nbytes, _ in reads:
                fh = ctypes.c_void_p()
                if lib.nfs_open(ctx, f"{prefix}/{path}".encode(), os.O_RDONLY, ctypes.byref(fh)) != 0:
                    raise error(f"open {path}")
                left = nbytes
                while left > 0:
                    n = lib.nfs_read(ctx, fh, min(left, len(buf)), buf)
                    if n < 0:
                        raise error(f"read {path}")
                    if n == 0:
                        break
                    left -= n
                    total += n
                lib.nfs_close(ctx, fh)
            return total
        finally:
            lib.nfs_destroy_context(ctx)


def boot(node, dhcp, server, port, results, nfs=None, api=None):
    t0 = time.monotonic()
    r = {"hostname": node["hostname"]}
    try:
        xid = random.getrandbits(32)
        offer = dhcp.exchange(1, node["mac"], xid, 2)
        ack = dhcp.exchange(3, node["mac"], xid, 5, requested=offer[2], server=offer[3])
        if ack[2] != node["ip"]:
            raise RuntimeError(f"DHCP gave {ack[2]}, registered {node['ip']}")
        r["dhcp"] = time.monotonic() - t0
        ip = node["ip"]
        _, script = fetch(server, port, "/boot/" + node["mac"].replace(":", "-") + ".ipxe", ip)
        text = script.decode()
        urls = re.findall(r"http://[^/\s]+(/images/\S+)", text)
        image = re.search(r"provisioner\.image=(\S+)", text).group(1)
        r["bytes"] = 0
        for path in urls:
            n, _ = fetch(server, port, path, ip)
            r["bytes"] += n
        r["files"] = time.monotonic() - t0
        if nfs:
            export, prefix, reads = nfs
            r["nfs_bytes"] = NFS().replay(server, export, prefix, reads)
            r["nfs"] = time.monotonic() - t0
        # The node API over TLS, checked against the site CA: a boot credential, then the enrollment.
        api_port, tls = api
        _, answer = fetch(server, api_port, "/api/v1/node-token", ip, "POST", json.dumps({"mac": node["mac"]}), tls)
        token = json.loads(answer)["token"]
        body = json.dumps({"mac": node["mac"], "hostname": node["hostname"], "ip": ip, "token": token, "image": image,
                           "capacity": {"coresMax": 2, "coresFree": 2, "memoryMiBMax": 1024, "memoryMiBFree": 900,
                                        "diskMiBMax": 1, "diskMiBFree": 1, "hypervisor": "qemu-tcg",
                                        "hardwareVirtualization": False, "libvirtVersion": "9.0.0"},
                           "instances": [], "controllerVersion": "storm"})
        fetch(server, api_port, "/api/v1/enroll", ip, "POST", body, tls)
        r["enrolled"] = time.monotonic() - t0
    except Exception as e:       # noqa: BLE001 (every failure is counted and reported)
        r["error"] = str(e)
    results.append(r)


def ceiling(nodes, server, port, paths):
    """The same files, the same clients, all at once, from nginx: what the machine can move."""
    total, lock = [0], threading.Lock()

    def one(node):
        for p in paths:
            n, _ = fetch(server, port, p, node["ip"])
            with lock:
                total[0] += n
    t = time.monotonic()
    threads = [threading.Thread(target=one, args=(n,)) for n in nodes]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return total[0] / (time.monotonic() - t)


def main():
    iface, server, nodes_file = sys.argv[1:4]
    nginx = int(sys.argv[sys.argv.index("--nginx") + 1]) if "--nginx" in sys.argv else None
    nodes = json.load(open(nodes_file))
    nfs = None
    if "--nfs" in sys.argv:
        export, prefix = sys.argv[sys.argv.index("--nfs") + 1].split(":", 1)
        nfs = (export, prefix, json.load(open(sys.argv[sys.argv.index("--reads") + 1]))["files"])
    # --ca FILE: the site CA the node API's certificate must chain to (as the node controller checks it).
    tls = ssl.create_default_context(cafile=sys.argv[sys.argv.index("--ca") + 1])
    dhcp = DHCP(iface)
    results = []
    t = time.monotonic()
    threads = [threading.Thread(target=boot, args=(n, dhcp, server, 8080, results, nfs, (8443, tls))) for n in nodes]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.monotonic() - t
    ok = [r for r in results if "enrolled" in r]
    out = {
        "nodes": len(nodes), "enrolled": len(ok), "failures": [r for r in results if "error" in r][:5],
        "failed": len(results) - len(ok), "wall_s": wall,
        "slowest_s": max((r["enrolled"] for r in ok), default=None),
        "dhcp_last_s": max((r["dhcp"] for r in ok), default=None),
        "dhcp_answers": dhcp.answers,
        "http_bytes": sum(r.get("bytes", 0) for r in results),
        "files_last_s": max((r["files"] for r in ok), default=None),
        "nfs_bytes": sum(r.get("nfs_bytes", 0) for r in results),
        "nfs_last_s": max((r["nfs"] for r in ok if "nfs" in r), default=None),
    }
    if out["nfs_last_s"]:
        nfs_first = min(r["files"] for r in ok if "nfs" in r)
        out["nfs_bytes_per_s"] = out["nfs_bytes"] / (out["nfs_last_s"] - nfs_first) if out["nfs_last_s"] > nfs_first else None
    out["dhcp_answers_per_s"] = dhcp.answers / out["dhcp_last_s"] if out["dhcp_last_s"] else None
    first = min((r["dhcp"] for r in ok), default=0)
    span = (out["files_last_s"] or 0) - first
    out["http_bytes_per_s"] = out["http_bytes"] / span if span > 0 else None
    if nginx and ok:
        out["nginx_bytes_per_s"] = ceiling(nodes, server, nginx, ["/images/default/g1/vmlinuz", "/images/default/g1/initrd.img"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
