"""postgres: the registry on PostgreSQL beside SQLite, in the same run: a
10,000-node import, a node add into it (whole process), the node API's
heartbeats, and three boot servers on one PostgreSQL registry: their start and
how fast a change reaches every one's dnsmasq."""
import os
import shutil
import statistics
import subprocess
import time

from goals import beside, goal_text
from .api import bench_node_api
from .common import MIRROR
from .site import Site

NAME = "postgres"


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


def run(b, adds=31):
    """The registry on PostgreSQL beside SQLite, in the same run: a 10,000-node
    import, a node add into it (whole process), and the node API's heartbeats."""
    binary, root, csv, nodes = b.binary, b.root, b.csv, b.nodes
    if not os.path.exists(Postgres.BIN + "/initdb"):
        print("postgres: skipped (postgresql-15 not installed)")
        return {}
    got = {}
    pg = Postgres(root)
    try:
        for store in ("sqlite", "postgres"):
            times, add_times = [], []
            for k in range(3):
                home = os.path.join(root, f"pg-{store}{k}")
                extra = ["--registry", pg.database()] if store == "postgres" else []
                subprocess.run([binary, "init", "--home", home, "--mirror", MIRROR, "--interface", "bench0",
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
            got[f"postgres.{store}.import_ms"] = statistics.median(times) * 1000
            got[f"postgres.{store}.add_ms"] = statistics.median(add_times) * 1000
            print(f"postgres: {store:8} import of {nodes} nodes: median {statistics.median(times) * 1000:.0f} ms "
                  f"(runs: {', '.join(f'{x * 1000:.0f}' for x in times)} ms; {beside(f'postgres.{store}.import_ms')}); "
                  f"node add into them (--no-apply, whole process): "
                  f"median {statistics.median(add_times) * 1000:.1f} ms ({adds} runs; {beside(f'postgres.{store}.add_ms')})")
        got.update(bench_node_api(binary, root, registry=pg.database(), label="postgres: node API on PostgreSQL", prefix="postgres.api"))
        got.update(propagation(binary, root, pg, csv, nodes))
    finally:
        pg.close()
    return got


def propagation(binary, root, pg, csv, nodes, servers=3, changes=200):
    """Several boot servers on one PostgreSQL registry of NODES nodes: how long a
    boot server takes to start (read and render them all), then per `node add`
    how long until every boot server's dnsmasq has read the new host entry."""
    if os.getuid() != 0:
        print("postgres: propagation skipped (needs root for network namespaces)")
        return {}
    got = {}
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
        got.update({f"postgres.start.bs{k}_s": s for k, s in enumerate(starts)})
        got["postgres.start.sqlite_s"] = sqlite_start
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
        got.update({"postgres.propagation.commit_p50_ms": statistics.median(from_commit) * 1000,
                    "postgres.propagation.commit_p99_ms": q[98] * 1000,
                    "postgres.propagation.commit_max_ms": max(from_commit) * 1000,
                    "postgres.propagation.start_p50_ms": statistics.median(from_start) * 1000,
                    "postgres.propagation.start_p99_ms": qs[98] * 1000})
        print(f"postgres: change propagation to {servers} boot servers' dnsmasq ({changes} node adds into {nodes} nodes): "
              f"from commit p50 {statistics.median(from_commit) * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, max {max(from_commit) * 1000:.1f} ms; "
              f"from the command's start p50 {statistics.median(from_start) * 1000:.1f} ms, p99 {qs[98] * 1000:.1f} ms "
              f"(goal: p99 from commit {goal_text('postgres.propagation.commit_p99_ms')})")
    finally:
        for s in sites:
            s.close()
    return got
