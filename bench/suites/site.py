"""A serve site in a network namespace of its own, as the serve, api, storm and
postgres suites start it."""
import os
import subprocess
import time

from .common import MIRROR, out, sh


class Site:
    """A serve site in its own namespace (veth, no uplink), DHCP proxy mode, NFS only if asked."""

    def __init__(self, binary, root, name, ip="10.9.0.1", dhcp="proxy", registry=None, server_name=None, nfs=False):
        self.binary, self.ip = binary, ip
        self.home = os.path.join(root, name)
        self.ns = f"pvb{name[:6]}{os.getpid() % 10000}"
        subprocess.run([binary, "init", "--home", self.home, "--mirror", MIRROR, "--interface", "vb0",
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
