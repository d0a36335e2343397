"""Schemathesis hooks for Provisioner's API fuzz run (make test).

A custom check: a write the API refuses (4xx/5xx on POST, PATCH or DELETE)
changes nothing. Before every call the registry's nodes and discovery queue
are read through the API itself (GET, with the site's token); after a refused
write they must read back the same. Runs with one worker, so no other call
comes between the two reads.
"""
import json
import os
import ssl
import urllib.request

import schemathesis

BASE = os.environ["PROVISIONER_FUZZ_BASE"]
TOKEN = os.environ["PROVISIONER_FUZZ_TOKEN"]
# serve's HTTPS listener, with the site CA as the only trusted root.
TLS = ssl.create_default_context(cafile=os.environ["PROVISIONER_FUZZ_CA"])
_before = {}


def _snapshot():
    out = {}
    for path in ("/api/v1/nodes", "/api/v1/discovered"):
        request = urllib.request.Request(BASE + path, headers={"Authorization": "Bearer " + TOKEN})
        with urllib.request.urlopen(request, timeout=10, context=TLS) as r:
            out[path] = json.loads(r.read())
    # Heartbeat times move on their own; what a write could change is the rest.
    for n in out["/api/v1/nodes"]:
        n.pop("last_heartbeat", None)
    return out


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.method.upper() in ("POST", "PATCH", "DELETE"):
        _before["snapshot"] = _snapshot()


@schemathesis.check
def refused_write_changes_nothing(ctx, response, case):
    if case.method.upper() not in ("POST", "PATCH", "DELETE") or response.status_code < 400:
        return None
    before = _before.get("snapshot")
    if before is None:
        return None
    after = _snapshot()
    if after != before:
        raise AssertionError(
            f"{case.method} {case.path} was refused with {response.status_code} but changed the registry: "
            f"{json.dumps(before)[:400]} -> {json.dumps(after)[:400]}"
        )
    return None
