"""api: 1,000 simulated node controllers each get a single-use boot credential
and enroll with it, then heartbeat under wrk: as
fast as serve answers (its ceiling) and at a steady rate above the goal.
The postgres suite runs the same against a PostgreSQL registry."""
import os
import re
import shutil

from goals import beside
from .common import duration_ms
from .site import Site

NAME = "api"

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


def wrk_figures(text):
    """Requests/s, p99 as wrk printed it, and the non-2xx count, from wrk's --latency output."""
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", text).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", text).group(1)
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    return rps, p99, int(bad.group(1)) if bad else 0


def bench_node_api(binary, root, controllers=1000, registry=None, label="node API", prefix="api"):
    """1,000 simulated node controllers enroll, then heartbeat under wrk; figures under PREFIX."""
    if os.getuid() != 0 or not shutil.which("wrk"):
        print(f"{label}: skipped (needs root and wrk)")
        return {}
    got = {}
    site = Site(binary, root, "api" if registry is None else "apipg", registry=registry)
    try:
        site.import_nodes(controllers, "02:50:00:00", "nc")
        site.start("--heartbeat", "30")
        script = os.path.join(site.home, "enroll.py")
        open(script, "w").write(f"""
import http.client, json, ssl, sys, time
creds, t = [], time.perf_counter()
# The node API: HTTPS with the site CA, one kept-alive connection.
conn = http.client.HTTPSConnection({site.ip!r}, 8443, context=ssl.create_default_context(cafile={site.home + "/tls/ca.pem"!r}))
for i in range({controllers}):
    mac = f"02:50:00:00:{{i >> 8:02x}}:{{i & 255:02x}}"
    conn.request("POST", "/api/v1/node-token", json.dumps({{"mac": mac}}), {{"Content-Type": "application/json"}})
    r = conn.getresponse(); data = r.read()
    if r.status != 200: sys.exit(f"node-token {{mac}}: {{r.status}} {{data[:200]}}")
    token = json.loads(data)["token"]
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
        got[f"{prefix}.enroll_s"] = enroll_s
        got[f"{prefix}.enroll_per_s"] = controllers / enroll_s
        lua = os.path.join(site.home, "beat.lua")
        open(lua, "w").write(WRK_LUA)

        def beats(pause_ms, first_sequence):
            # Over HTTPS with kept-alive connections, as node controllers would hold them.
            return wrk_figures(site.exec(f"wrk -t2 -c64 -d10s --latency -s {lua} https://{site.ip}:8443 -- {creds} 2 {pause_ms} {first_sequence}"))
        # As fast as serve answers (its ceiling, and the latency at saturation), then at a
        # steady rate above the goal: each of the 64 connections waits 4 ms between a
        # response and its next heartbeat, as a controller waits for its next beat.
        rps, p99, bad = beats(0, 0)
        got.update({f"{prefix}.fast.rps": rps, f"{prefix}.fast.p99_ms": duration_ms(p99), f"{prefix}.fast.non2xx": bad})
        print(f"{label}: {controllers} controllers got a boot credential and enrolled in {enroll_s:.1f} s ({controllers / enroll_s:.0f}/s, "
              f"two requests each, one HTTPS connection); "
              f"heartbeats over HTTPS under wrk (2 threads, 64 kept-alive connections, 10 s) as fast as answered: {rps:.0f} requests/s, p99 {p99} "
              f"(at saturation), non-2xx {bad}")
        rps, p99, bad = beats(4, 10_000_000)
        got.update({f"{prefix}.paced.rps": rps, f"{prefix}.paced.p99_ms": duration_ms(p99), f"{prefix}.paced.non2xx": bad})
        print(f"{label}: heartbeats paced (64 connections, 4 ms between a response and the next): {rps:.0f} requests/s, "
              f"p99 {p99}, non-2xx {bad} ({beside(f'{prefix}.paced.p99_ms')} at {beside(f'{prefix}.paced.rps').removeprefix('goal ')})")
    finally:
        site.close()
    return got


def run(b):
    return bench_node_api(b.binary, b.root)
