"""serve: kernel + initrd over serve's HTTP against dnsmasq's TFTP, and 50
parallel initrd fetches from serve against nginx serving the same file."""
import os
import re
import shutil
import subprocess
import time

from goals import beside
from .site import Site

NAME = "serve"


def run(b):
    """Kernel + initrd over serve's HTTP vs dnsmasq's TFTP; 50 parallel initrd fetches, serve vs nginx."""
    if os.getuid() != 0:
        print("serve: skipped (needs root for a network namespace)")
        return {}
    got = {}
    site = Site(b.binary, b.root, "http")
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
        got.update({"serve.tftp_s": tftp, "serve.http_s": http_t, "serve.http_vs_tftp": tftp / http_t})
        print(f"serve: kernel + initrd (30 MiB) over TFTP {tftp:.2f} s, over serve's HTTP {http_t:.2f} s: "
              f"HTTP {tftp / http_t:.0f}x faster ({beside('serve.http_vs_tftp')}; TFTP with 1468-byte blocks, one round trip each)")

        if not shutil.which("nginx") or not shutil.which("wrk"):
            print("serve: 50 parallel fetches skipped (needs nginx and wrk)")
            return got
        site.start_nginx(8081)
        try:
            rates = {}
            for name, port in [("serve", 8080), ("nginx", 8081)]:
                text = site.exec(f"wrk -t2 -c50 -d10s http://{site.ip}:{port}/images/default/g1/initrd.img")
                m = re.search(r"Transfer/sec:\s*([\d.]+)(\w+)", text)
                unit = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[m.group(2)]
                rates[name] = float(m.group(1)) * unit
            got.update({"serve.parallel.serve_mib_s": rates["serve"] / (1 << 20),
                        "serve.parallel.nginx_mib_s": rates["nginx"] / (1 << 20),
                        "serve.parallel.vs_nginx": rates["serve"] / rates["nginx"]})
            print(f"serve: 50 parallel initrd fetches for 10 s: serve {rates['serve'] / (1 << 20):.0f} MiB/s, "
                  f"nginx {rates['nginx'] / (1 << 20):.0f} MiB/s: {rates['serve'] / rates['nginx']:.2f}x nginx "
                  f"({beside('serve.parallel.vs_nginx')})")
        finally:
            subprocess.run(["sh", "-c", f"kill $(cat {site.home}/nginx.pid) 2>/dev/null"])
    finally:
        site.close()
    return got
