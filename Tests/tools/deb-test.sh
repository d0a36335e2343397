#!/bin/bash
# The package test: installs a provisioner .deb into a fresh Debian 12 root the
# way an operator would (`apt-get install ./provisioner_*.deb`, which pulls its
# Depends from the mirror) and runs it there: `provisioner --version`, `init`,
# `apply --dry-run` (templates found beside the binary, dnsmasq --test from
# Depends) and `man provisioner-node`, each checked for what it must print.
#
#   bash Tests/tools/deb-test.sh provisioner_<version>_amd64.deb
#
# Needs root and mmdebstrap. Downloaded packages and the apt lists are kept in
# .build/deb-test (as the image builder keeps its apt cache), so a second run
# downloads nothing but changed indices. Environment: DEB_TEST_MIRROR (default
# http://deb.debian.org/debian), DEB_TEST_CACHE (default .build/deb-test),
# TMPDIR (where the root is made; removed at the end).
set -euo pipefail

fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
[ $# -eq 1 ] || { echo "usage: $0 provisioner_VERSION_ARCH.deb" >&2; exit 2; }
deb=$(realpath -e "$1" 2>/dev/null) || fail "no package at $1"
if [ "$(id -u)" != 0 ]; then echo "deb-test: skipped: needs root (mmdebstrap --mode=root, chroot); make test runs it as root"; exit 0; fi
command -v mmdebstrap >/dev/null || fail "mmdebstrap is not installed (make deps)"
pkg_version=$(dpkg-deb -f "$deb" Version) || fail "$deb is not a Debian package"

src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${DEB_TEST_CACHE:-$src/.build/deb-test}
mirror=${DEB_TEST_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
mkdir -p "$cache/archives" "$cache/lists"
# One run at a time per cache.
exec 9>"$cache/lock"
flock -w 900 9 || fail "another deb-test holds $cache/lock"

work=$(mktemp -d "${TMPDIR:-/tmp}/deb-test.XXXXXX")
root=$work/root
log=$work/mmdebstrap.log
cleanup() {
	local status=$?
	[ -f "$log" ] && cp "$log" "$cache/last-mmdebstrap.log"
	# Nothing is mounted here any more (mmdebstrap unmounts; the checks mount in
	# their own namespace), so stay on this file system to be sure.
	rm -rf --one-file-system "$work"
	[ $status = 0 ] || echo "deb-test: the root was removed; mmdebstrap's output is in $cache/last-mmdebstrap.log" >&2
}
trap cleanup EXIT

t0=$(date +%s.%N)
phase_start=$t0
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
phase() {
	local now; now=$(date +%s.%N)
	printf 'deb-test: %-44s %6.1f s\n' "$1" "$(elapsed "$phase_start" "$now")"
	phase_start=$now
}

# --- 1. A minimal Debian 12 root, then the package with its Depends (and
#        man-db for the man page), installed by apt from inside the root.
#        Recommends are left out: the test checks that Depends suffice.
name=$(basename "$deb")
cached_before=$(find "$cache/archives" -maxdepth 1 -name '*.deb' | wc -l)
if ! mmdebstrap --mode=root --variant=minbase --include=man-db --skip=essential/unlink --dpkgopt=force-unsafe-io \
	--aptopt='Acquire::Retries "3"' \
	--setup-hook='mkdir -p "$1"/var/cache/apt/archives/ "$1"/var/lib/apt/lists/' \
	--setup-hook="sync-in $cache/archives /var/cache/apt/archives/" \
	--setup-hook="sync-in $cache/lists /var/lib/apt/lists/" \
	--customize-hook="date +%s.%N > $work/t-root" \
	--customize-hook="copy-in $deb /tmp" \
	--customize-hook='rm -f "$1"/var/lib/man-db/auto-update' \
	--customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Options::=--force-unsafe-io /tmp/$name" \
	--customize-hook="date +%s.%N > $work/t-install" \
	--customize-hook="sync-out /var/cache/apt/archives $cache/archives" \
	--customize-hook="sync-out /var/lib/apt/lists $cache/lists" \
	--customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/tmp/*.deb' \
	"$suite" "$root" "$mirror" >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	if [ -f "$work/t-root" ] && ! [ -f "$work/t-install" ]; then
		fail "apt-get install ./$name failed in a fresh $suite root (above: the end of its output)"
	fi
	fail "mmdebstrap could not make a $suite root from $mirror (above: the end of its output)"
fi
[ -f "$work/t-install" ] || fail "the install hook did not run"
cached_after=$(find "$cache/archives" -maxdepth 1 -name '*.deb' | wc -l)
echo "deb-test: $((cached_after - cached_before)) packages downloaded, $cached_before taken from $cache/archives"
printf 'deb-test: %-44s %6.1f s\n' "fresh $suite root (mmdebstrap minbase + man-db)" "$(elapsed "$phase_start" "$(cat "$work/t-root")")"
printf 'deb-test: %-44s %6.1f s\n' "apt-get install ./$name" "$(elapsed "$(cat "$work/t-root")" "$(cat "$work/t-install")")"
phase_start=$(cat "$work/t-install")
phase "sync-out of the apt cache, mmdebstrap cleanup"

# --- 2. The commands, as an operator types them: by name on PATH, from /root.
#        /proc and /dev are mounted in a namespace of their own, gone when it ends.
run() {
	unshare --mount --propagation private --fork -- sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" || exit 125
		exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
			MANPAGER=cat PAGER=cat MANWIDTH=80 sh -c "cd /root && exec \"\$@\"" sh "$@"' sh "$root" "$@"
}
# check WHAT PATTERN CMD…: CMD must succeed and print a line matching PATTERN.
check() {
	local what=$1 pattern=$2 out status=0; shift 2
	out=$(run "$@" 2>&1) || status=$?
	if [ $status != 0 ]; then
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /' >&2
		fail "\`$*\` exited with status $status ($what)"
	fi
	if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /' >&2
		fail "\`$*\` printed no line matching /$pattern/ ($what)"
	fi
	printf '%s\n' "$out"
}

# The binary's version is the package's, less the +git… part.
out=$(check "the version" '^[0-9]' provisioner --version)
[ "$out" = "${pkg_version%%+*}" ] || fail "provisioner --version says \"$out\", the package is $pkg_version"
echo "deb-test: provisioner --version: $out (package $pkg_version)"

home=/var/lib/provisioner
check "a site in the packaged state directory" "^wrote $home/provisioner.yaml" \
	provisioner init --home $home --interface eth0 --server-ip 10.0.0.1 --subnet 10.0.0.0/24 >/dev/null
[ -f "$root$home/provisioner.yaml" ] || fail "init wrote no $home/provisioner.yaml"
echo "deb-test: provisioner init: wrote $home/provisioner.yaml and the registry"

out=$(check "a plan" '^dry run: nothing written$' provisioner apply --dry-run --home $home)
printf '%s\n' "$out" | grep -Eq '^\+ .*/dnsmasq' || fail "apply --dry-run plans no dnsmasq config:
$out"
printf '%s\n' "$out" | grep -Eq '^[1-9][0-9]* to add' || fail "apply --dry-run plans nothing to add:
$out"
echo "deb-test: provisioner apply --dry-run: $(printf '%s\n' "$out" | grep -E '^[0-9]+ to add')"

out=$(check "the man page" 'PROVISIONER-NODE\(1\)' man provisioner-node)
printf '%s\n' "$out" | grep -q 'provisioner node' || fail "man provisioner-node does not show the command \`provisioner node\`"
check "a subcommand's man page" '--mac' man provisioner-node-add >/dev/null
echo "deb-test: man provisioner-node: $(printf '%s\n' "$out" | grep -m1 -A1 '^NAME' | tail -n1 | sed 's/^ *//')"

# What else the package ships: completions, the unit, the node controller.
for f in /usr/share/bash-completion/completions/provisioner /usr/share/zsh/vendor-completions/_provisioner \
	/usr/share/fish/vendor_completions.d/provisioner.fish /usr/share/provisioner/templates /usr/share/provisioner/rootfs/hooks/customize.sh; do
	[ -e "$root$f" ] || fail "the package has no $f"
done
[ -x "$root/usr/lib/provisioner/node-controller" ] || fail "no executable /usr/lib/provisioner/node-controller"
grep -q '^ExecStart=/usr/bin/provisioner serve$' "$root/lib/systemd/system/provisioner.service" \
	|| fail "provisioner.service does not run /usr/bin/provisioner serve"
check "bash completion" '^complete .* provisioner$' bash -c '. /usr/share/bash-completion/completions/provisioner && complete -p provisioner' >/dev/null
# What serve and image build run: the package's Depends must have brought each in.
for tool in dnsmasq rpcbind ganesha.nfsd mmdebstrap mksquashfs; do
	run sh -c "command -v $tool" >/dev/null || fail "$tool is not installed with the package (its Depends lack the package that has it)"
done
phase "checks (version, init, apply --dry-run, man, files)"

rm -rf --one-file-system "$root"
phase "removing the root"
printf 'deb-test: ok: %s installs into a fresh %s root and runs (%.0f s)\n' "$name" "$suite" "$(elapsed "$t0" "$(date +%s.%N)")"
