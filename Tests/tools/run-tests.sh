#!/usr/bin/env bash
# `make test`: runs `swift test`, keeps the whole output in .build/test.log and,
# when something failed, repeats the failures at the very end, where a CI log's
# tail shows them (the lab's diagnostics can push them thousands of lines up).
set -uo pipefail
swift=${SWIFT:-swift}
log=.build/test.log
mkdir -p .build
"$swift" test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo
  echo "=== make test failed (exit $status); the failures again (whole log: $log):"
  # Each issue's first line and up to 8 of its message lines, each cut to 300 characters.
  awk '/recorded an issue|Fatal error|error: / { print substr($0, 1, 300); n = 8; next }
       n > 0 && /^↳/ { print substr($0, 1, 300); n--; next }
       { n = 0 }' "$log" | tail -n 60
fi
exit "$status"
