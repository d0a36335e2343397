#!/usr/bin/env python3
"""Checks that the arrows in docs/development.md are Package.swift's.

The block between `<!-- arrows: begin -->` and `<!-- arrows: end -->` lists,
for each source target, the package's own targets it depends on. This reads
the package's real graph (`swift package dump-package`) and fails, naming the
target, when a line is missing, extra or different. `make test` runs it.
Usage: Tests/tools/check-arrows.py [swift]
"""
import json, os, re, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
swift = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SWIFT", "swift")
package = json.loads(subprocess.run([swift, "package", "dump-package"], cwd=root, check=True,
                                    capture_output=True, text=True).stdout)
own = {t["name"] for t in package["targets"]}
actual = {}
for t in package["targets"]:
    if t["type"] not in ("regular", "executable") or (t.get("path") or "").startswith("Tests"):
        continue  # tests and what they share (TestSupport) are not in the arrows
    deps = []
    for d in t.get("dependencies", []):
        for key in ("byName", "target"):
            if key in d and d[key][0] in own:
                deps.append(d[key][0])
    actual[t["name"]] = set(deps)

doc = open(os.path.join(root, "docs/development.md"), encoding="utf-8").read()
m = re.search(r"<!-- arrows: begin -->(.*?)<!-- arrows: end -->", doc, re.S)
if not m:
    sys.exit("check-arrows: docs/development.md has no arrows block (<!-- arrows: begin --> ... <!-- arrows: end -->)")
written = {}
for line in m.group(1).splitlines():
    if "►" not in line:
        continue
    name, _, rest = line.partition("►")
    written[name.strip(" ─")] = set(rest.split())

problems = []
for name in sorted(set(actual) - set(written)):
    problems.append(f"{name}: in Package.swift, not in the arrows")
for name in sorted(set(written) - set(actual)):
    problems.append(f"{name}: in the arrows, not a source target of Package.swift")
for name in sorted(set(actual) & set(written)):
    if actual[name] != written[name]:
        missing, extra = actual[name] - written[name], written[name] - actual[name]
        problems.append(f"{name}: the arrows {'lack ' + ' '.join(sorted(missing)) if missing else ''}"
                        f"{'; ' if missing and extra else ''}{'add ' + ' '.join(sorted(extra)) if extra else ''}")
if problems:
    print("check-arrows: docs/development.md does not match Package.swift:", file=sys.stderr)
    for p in problems:
        print("  " + p, file=sys.stderr)
    sys.exit(1)
print(f"check-arrows: {len(actual)} targets, docs/development.md matches Package.swift")
