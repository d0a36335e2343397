#!/bin/bash
# The package test's `provisioner`: the debug build's own object files linked
# once more, into OUT_DIR/provisioner, with the Swift runtime and Foundation
# in statically, as the release build links it (so it runs in a fresh Debian
# root with no Swift installed). 4 s here, where the release build that
# `make deb` packs takes about 7 minutes from a clean tree; the package test
# checks the packaging (files, Depends, man pages, completions, the install),
# which does not depend on the optimization level.
#
#   bash Tests/tools/link-static-debug.sh OUT_DIR
#
# Why a link of its own: `swift build --static-swift-stdlib` on the debug
# build fails to link (Foundation's static archives come in an order that
# leaves ICU and CoreFoundation symbols unresolved) and, worse, leaves the
# debug build half-switched to static linking, so the next plain build fails.
# Here the archives go in one group and .build is only read. It reads two of
# SwiftPM's conventions, each checked: the product's Objects.LinkFileList,
# and the executable's entry renamed provisioner_main (for testability).
set -euo pipefail
die() { echo "link-static-debug: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 OUT_DIR"
out=$1
swift=${SWIFT:-swift}
swiftc=$(dirname "$(readlink -f "$(command -v "$swift")")")/swiftc
[ -x "$swiftc" ] || die "no swiftc beside $swift"
static=$(dirname "$(dirname "$swiftc")")/lib/swift_static/linux
[ -d "$static" ] || die "no static Swift runtime at $static"
bin=$("$swift" build --show-bin-path)
list=$bin/provisioner.product/Objects.LinkFileList
[ -f "$list" ] || die "no $list: build the debug product first (make build)"
nm "$bin"/provisioner.build/*.o 2>/dev/null | grep ' T provisioner_main$' >/dev/null \
	|| die "no provisioner_main in $bin/provisioner.build: SwiftPM's entry point convention changed"
group=()
for lib in Foundation CoreFoundation FoundationEssentials _FoundationCollections _FoundationCShims _FoundationICU \
	FoundationInternationalization swiftDispatch dispatch BlocksRuntime; do
	[ -f "$static/lib$lib.a" ] || die "no $static/lib$lib.a"
	group+=(-Xlinker "$static/lib$lib.a")
done
mkdir -p "$out"
if ! "$swiftc" -static-stdlib -o "$out/provisioner.tmp" "@$list" -L "$bin" \
	-Xlinker --defsym -Xlinker main=provisioner_main \
	-Xlinker --start-group "${group[@]}" -Xlinker --end-group 2>&1 | { grep -v "use of \`mktemp' is dangerous" || true; }; then
	die "linking failed"
fi
if ldd "$out/provisioner.tmp" | grep 'libswift\|libFoundation' >/dev/null; then die "the link still needs the Swift runtime: $(ldd "$out/provisioner.tmp")"; fi
mv "$out/provisioner.tmp" "$out/provisioner"
echo "link-static-debug: $out/provisioner ($(du -m "$out/provisioner" | cut -f1) MB), $("$out/provisioner" --version)"
