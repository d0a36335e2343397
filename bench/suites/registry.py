"""registry: the CLI on a 10,000-node SQLite registry, each command a whole
process: import from CSV, one `node add` into it, `node list --json` of it."""
import statistics

from goals import beside
from .common import ms, new_home, timed

NAME = "registry"


def run(b):
    got = {}
    imports = []
    for k in range(3):
        home = new_home(b.binary, b.root, f"import{k}")
        imports.append(timed(b.binary, "node", "import", b.csv, "--no-apply", home=home))
    got["registry.import_ms"] = statistics.median(imports) * 1000
    print(f"registry: import {b.nodes} nodes from CSV: median {ms(statistics.median(imports))} "
          f"(runs: {', '.join(ms(x) for x in imports)}; {beside('registry.import_ms')})")

    adds = []
    for k in range(b.adds):
        adds.append(timed(b.binary, "node", "add", f"extra{k}", "--mac", f"02:20:00:00:00:{k + 1:02x}", home=home))
    q = statistics.quantiles(adds, n=10)
    got["registry.add_ms"] = statistics.median(adds) * 1000
    got["registry.add_p90_ms"] = q[-1] * 1000
    got["registry.add_min_ms"] = min(adds) * 1000
    print(f"registry: one node add into {b.nodes} nodes, whole process: median {ms(statistics.median(adds))}, "
          f"p90 {ms(q[-1])}, min {ms(min(adds))} ({b.adds} runs; {beside('registry.add_ms')})")

    lists = [timed(b.binary, "node", "list", "--json", home=home) for _ in range(5)]
    got["registry.list_ms"] = statistics.median(lists) * 1000
    print(f"registry: node list --json of {b.nodes + b.adds} nodes: median {ms(statistics.median(lists))} (5 runs)")
    return got
