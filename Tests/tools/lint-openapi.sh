#!/usr/bin/env bash
# Lints serve's API contract, api/openapi.yaml (`make test` runs it; so can you):
#   1. openapi-spec-validator: a valid OpenAPI document, every $ref resolves;
#   2. plain YAML, so serve's YAML -> JSON gives what the file says: no anchors,
#      aliases or tags, every key a string (status codes quoted), no dates,
#      every enum value of a string schema a string ('on'/'off' quoted);
#   3. written once: an error answer is the one components/responses/Error,
#      no two inline responses alike, no object or enum schema written twice,
#      no component left unused.
# Uses the Python tools `make pydeps` installs in .build-py (or $PY_VENV).
# Usage: Tests/tools/lint-openapi.sh [document]   (from anywhere)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${PY_VENV:-$root/.build-py}
doc=${1:-$root/api/openapi.yaml}

for tool in openapi-spec-validator python; do
  if [ ! -x "$venv/bin/$tool" ]; then
    echo "lint-openapi: $venv/bin/$tool is missing: run \`make pydeps\` (or set PY_VENV to a venv with openapi-spec-validator)" >&2
    exit 2
  fi
done
[ -f "$doc" ] || { echo "lint-openapi: no document at $doc" >&2; exit 2; }

if ! out=$("$venv/bin/openapi-spec-validator" "$doc" 2>&1); then
  echo "lint-openapi: $doc is not a valid OpenAPI document (openapi-spec-validator):" >&2
  printf '%s\n' "$out" | cut -c1-400 >&2
  exit 1
fi

"$venv/bin/python" - "$doc" <<'PY'
import datetime, json, sys
import yaml

path = sys.argv[1]
text = open(path, encoding="utf-8").read()
problems = []

# --- 2. plain YAML ------------------------------------------------------------
for event in yaml.parse(text, Loader=yaml.SafeLoader):
    line = getattr(event, "start_mark", None)
    where = f"line {line.line + 1}" if line else "?"
    if isinstance(event, yaml.AliasEvent):
        problems.append(f"{where}: alias *{event.anchor}: write the value out (or use a $ref)")
    elif isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
        if event.anchor:
            problems.append(f"{where}: anchor &{event.anchor}: anchors do not survive the conversion to JSON; use a $ref")
        if event.tag and not (isinstance(event, yaml.ScalarEvent) and event.tag == "!"):
            problems.append(f"{where}: explicit tag {event.tag}")

doc = yaml.safe_load(text)

def pointer(parts):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)

def walk(node, parts=()):
    yield parts, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, parts + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, parts + (i,))

for parts, node in walk(doc):
    if isinstance(node, dict):
        for k in node:
            if not isinstance(k, str):
                problems.append(f"{pointer(parts)}: key {k!r} is a {type(k).__name__}, not a string: quote it ('{k}')")
        if node.get("type") == "string" and isinstance(node.get("enum"), list):
            for v in node["enum"]:
                if not isinstance(v, str):
                    problems.append(f"{pointer(parts)}/enum: {v!r} is a {type(v).__name__} in a string enum: quote it")
    elif isinstance(node, (datetime.date, datetime.datetime, bytes)):
        problems.append(f"{pointer(parts)}: {node!r} reads as a {type(node).__name__}, which JSON has not: quote it")
for key in (("openapi",), ("info", "version")):
    value = doc
    for k in key:
        value = value.get(k) if isinstance(value, dict) else None
    if not isinstance(value, str):
        problems.append(f"{pointer(key)}: {value!r} must be a string: quote it")

# --- 3. written once ------------------------------------------------------------
ERROR_RESPONSE = "#/components/responses/Error"
ERROR_SCHEMA = "#/components/schemas/APIError"

def canonical(node):
    return json.dumps(node, sort_keys=True, default=str)

def mentions(node, ref):
    return any(isinstance(n, dict) and n.get("$ref") == ref for _, n in walk(node))

# Inline responses: those of the operations, and those written under components.
responses = []
for p, item in (doc.get("paths") or {}).items():
    for method, op in item.items():
        if isinstance(op, dict) and isinstance(op.get("responses"), dict):
            for status, response in op["responses"].items():
                responses.append((("paths", p, method, "responses", status), response))
for name, response in ((doc.get("components") or {}).get("responses") or {}).items():
    responses.append((("components", "responses", name), response))

seen = {}
for parts, response in responses:
    if not isinstance(response, dict) or "$ref" in response:
        continue
    if parts[:2] != ("components", "responses") and mentions(response, ERROR_SCHEMA):
        problems.append(f"{pointer(parts)}: an error answer written inline: use {{$ref: '{ERROR_RESPONSE}'}}")
    seen.setdefault(canonical(response), []).append(pointer(parts))
for places in seen.values():
    if len(places) > 1:
        problems.append("the same response is written %d times (%s): write it once under components/responses and $ref it"
                        % (len(places), ", ".join(places)))

# Schemas with a shape (properties or an enum), wherever they are written.
shapes = {}
for parts, node in walk(doc):
    if isinstance(node, dict) and ("properties" in node or "enum" in node) and "$ref" not in node \
            and "example" not in parts and "examples" not in parts:
        shapes.setdefault(canonical(node), []).append(pointer(parts))
for places in shapes.values():
    if len(places) > 1:
        problems.append("the same schema is written %d times (%s): write it once under components/schemas and $ref it"
                        % (len(places), ", ".join(places)))

# Components nobody uses.
refs = {n["$ref"] for _, n in walk(doc) if isinstance(n, dict) and isinstance(n.get("$ref"), str)}
for section, items in (doc.get("components") or {}).items():
    if section == "securitySchemes":
        used = {name for _, n in walk(doc) if isinstance(n, dict) for k, v in n.items()
                if k == "security" and isinstance(v, list) for req in v if isinstance(req, dict) for name in req}
        unused = [name for name in items if name not in used]
    else:
        unused = [name for name in items if f"#/components/{section}/{name}" not in refs]
    for name in unused:
        problems.append(f"/components/{section}/{name}: never used")

if problems:
    print(f"lint-openapi: {path}: {len(problems)} problem(s):", file=sys.stderr)
    for p in problems:
        print("  " + p, file=sys.stderr)
    sys.exit(1)

ops = sum(1 for item in doc["paths"].values() for m in item if m != "parameters")
comps = doc.get("components") or {}
print(f"lint-openapi: {path}: OK (OpenAPI {doc['openapi']}, {len(doc['paths'])} paths, {ops} operations, "
      f"{len(comps.get('schemas') or {})} schemas, {len(comps.get('responses') or {})} responses)")
PY
