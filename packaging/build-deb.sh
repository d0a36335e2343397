#!/bin/bash
# Builds provisioner_<version>_<arch>.deb from the release build, then checks
# it with lintian (errors fail the build).
#
#   bash packaging/build-deb.sh [BIN_DIR [OUT_DIR]]
#
# BIN_DIR (default .build-nc/release) holds the static-stdlib `provisioner` and
# `node-controller` of `make build-release node-controller`; the package lands
# in OUT_DIR (default: the source tree). Environment: SWIFT (the swift driver),
# DEB_VERSION (instead of the one derived below), DEB_LINTIAN=0 (skip lintian),
# SOURCE_DATE_EPOCH (default: the commit time of HEAD), DEB_COMPRESS (default
# -Zxz -z1: 13 s and 32 MB on 2 busy cores, where the default xz -6 took 50 s
# for 28 MB; lintian rejects zstd members).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
cd "$src"
bin_dir=$(realpath -ms "${1:-.build-nc/release}")
out_dir=$(realpath -ms "${2:-.}")
swift=${SWIFT:-swift}

die() { echo "build-deb: $*" >&2; exit 1; }
step_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
step() {
	local now; now=$(date +%s.%N)
	printf 'build-deb: %-34s %6.1f s\n' "$1" "$(elapsed "$step_start" "$now")"
	step_start=$now
}

for f in provisioner node-controller; do
	[ -x "$bin_dir/$f" ] || die "no $bin_dir/$f: run \`make build-release node-controller\` first"
done
for tool in dpkg-deb dpkg-shlibdeps strip gzip; do
	command -v "$tool" >/dev/null || die "$tool is missing: run \`make deps\` (dpkg-dev, binutils)"
done

# --- Version: the binary's own, then the commit count and hash, so every
#     commit sorts above the one before (0+git… while the binary has none).
arch=$(dpkg --print-architecture)
count=$(git rev-list --count HEAD)
if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
	echo "build-deb: warning: a shallow clone: the commit count ($count) in the version does not grow from one build to the next" >&2
fi
sha=$(git rev-parse --short=7 HEAD)
base=$("$bin_dir/provisioner" --version 2>/dev/null || true)
if ! [[ $base =~ ^[0-9][A-Za-z0-9.~]*$ ]]; then
	echo "build-deb: note: \`provisioner --version\` gave no version (\"$base\"); the package version starts with 0" >&2
	base=0
fi
version=${DEB_VERSION:-$base+git$count.$sha}
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$ ]] || die "\"$version\" is not a Debian version"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
maintainer=${DEBFULLNAME:+$DEBFULLNAME <${DEBEMAIL:?DEBFULLNAME needs DEBEMAIL}>}
maintainer=${maintainer:-$(git log -1 --format='%an <%ae>')}

# --- The tree of the package, in a directory of its own (removed on exit).
work=$(mktemp -d "${TMPDIR:-/tmp}/provisioner-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/provisioner_${version}_$arch
mkdir -p "$root/DEBIAN"
umask 022

install -D -m 0755 "$bin_dir/provisioner" "$root/usr/bin/provisioner"
install -D -m 0755 "$bin_dir/node-controller" "$root/usr/lib/provisioner/node-controller"
# As dh_strip does for executables: the symbols and the debug info go (200 MB → 90 MB).
strip --remove-section=.comment --remove-section=.note "$root/usr/bin/provisioner" "$root/usr/lib/provisioner/node-controller"

share=$root/usr/share/provisioner
mkdir -p "$share"
cp -R templates rootfs "$share/"
# The API document (api/openapi.yaml), once the source tree has it.
if [ -n "$(git ls-files api)" ] || [ -d api ]; then
	[ -f api/openapi.yaml ] || die "api/ is in git but api/openapi.yaml is missing"
	cp -R api "$share/"
fi

sed 's#@BINDIR@#/usr/bin#g' netboot/provisioner.service.in > "$work/provisioner.service"
install -D -m 0644 "$work/provisioner.service" "$root/lib/systemd/system/provisioner.service"
install -d -m 0755 "$root/etc/provisioner" "$root/var/lib/provisioner"
step "tree"

# --- Man pages: one per command and subcommand, from the binary's
#     --experimental-dump-help by swift-argument-parser's generate-manual tool,
#     built from the checkout the binary was built with (offline, no plugin).
# The SwiftPM scratch path the binary was built in (DEB_SCRATCH, else BIN_DIR's parent).
scratch=$(realpath -ms "${DEB_SCRATCH:-$(dirname "$bin_dir")}")
parser=$scratch/checkouts/swift-argument-parser
[ -f "$parser/Tools/generate-manual/GenerateManual.swift" ] || die "no swift-argument-parser checkout at $parser"
"$swift" build --package-path "$parser" --scratch-path "$scratch/generate-manual" --product generate-manual -q \
	|| die "building generate-manual failed"
gm_bin=$("$swift" build --package-path "$parser" --scratch-path "$scratch/generate-manual" --show-bin-path)
pages=$work/man
mkdir -p "$pages"
"$gm_bin/generate-manual" "$bin_dir/provisioner" --multi-page --date "$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)" \
	--output-directory "$pages" || die "generate-manual failed"
# ArgumentParser's own `help` subcommand needs no page.
rm -f "$pages/provisioner.help.1"
sed -i '/^\.Xr provisioner\.help 1/d' "$pages/provisioner.1"
# provisioner.node.add.1 → provisioner-node-add.1 (`man provisioner-node-add`,
# as git-commit(1)): titles, cross-references and the NAME line to match (what
# whatis and apropos read: one word), the SYNOPSIS keeps `provisioner node add`;
# a description without quotes where no word could be read as an mdoc macro.
mkdir -p "$root/usr/share/man/man1"
debianize='
	if (/^\.(Dt|Xr) (\S+)(.*)$/s) { my ($m, $t, $r) = ($1, $2, $3); $t =~ tr/./-/; $_ = ".$m $t$r"; }
	elsif (!defined $name && /^\.Nm "(.+)"$/) { $name = $1; (my $d = $name) =~ tr/ /-/; $_ = ".Nm $d\n"; }
	elsif (defined $name && /^\.Nm$/) { $_ = ".Nm \"$name\"\n"; }
	elsif (/^\.Nd "([^"]*)"$/ && $1 !~ /\b[A-Z][a-z]\b/) { $_ = ".Nd $1\n"; }'
for page in "$pages"/*.1; do
	name=$(basename "$page" .1)
	perl -ne "our \$name; $debianize; print" "$page" > "$root/usr/share/man/man1/${name//./-}.1"
done
for page in "$root"/usr/share/man/man1/*.1; do
	lexgrog "$page" >/dev/null 2>&1 || ! command -v lexgrog >/dev/null || die "whatis cannot read $(basename "$page")"
done
gzip -9n "$root"/usr/share/man/man1/*.1
n_pages=$(ls "$root/usr/share/man/man1" | wc -l)
[ "$n_pages" -gt 10 ] || die "only $n_pages man pages generated"
step "man pages ($n_pages)"

# --- Shell completions.
comp() { "$bin_dir/provisioner" --generate-completion-script "$1" || die "no $1 completion script"; }
mkdir -p "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
# Completions are sourced, not run: no #! line.
comp bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/provisioner"
comp zsh > "$root/usr/share/zsh/vendor-completions/_provisioner"
comp fish > "$root/usr/share/fish/vendor_completions.d/provisioner.fish"

# --- Documentation: copyright, and a changelog entry for this build (a native
#     package: changelog.gz).
doc=$root/usr/share/doc/provisioner
install -D -m 0644 packaging/copyright "$doc/copyright"
{
	echo "provisioner ($version) unstable; urgency=medium"
	echo
	git log -1 --format='%s' | fold -s -w 72 | sed '1s/^/  * /;2,$s/^/    /;s/ *$//'
	echo "    (commit $(git rev-parse HEAD))"
	echo
	echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} > "$doc/changelog"
gzip -9n "$doc/changelog"
if [ -f packaging/lintian-overrides ]; then
	install -D -m 0644 packaging/lintian-overrides "$root/usr/share/lintian/overrides/provisioner"
fi
step "completions, doc"

# --- Control: shared libraries of the provisioner binary (dpkg-shlibdeps;
#     the node controller runs in node images, so its libvirt is not ours).
shl=$work/shlibdeps
mkdir -p "$shl/debian"
printf 'Source: provisioner\n\nPackage: provisioner\nArchitecture: any\n' > "$shl/debian/control"
shlibs=$(cd "$shl" && dpkg-shlibdeps -O --warnings=1 -e"$root/usr/bin/provisioner" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no shared libraries for provisioner"
size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
	-e "s|@INSTALLED_SIZE@|$size|" -e "s|@SHLIBS@|$shlibs|" packaging/control.in > "$root/DEBIAN/control"
install -m 0755 packaging/postinst packaging/prerm packaging/postrm "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control"
# Modes from git may carry the umask of the checkout: directories 0755, files
# 0644 or 0755, nothing group- or world-writable.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod go-w {} +
# Reproducible: every mtime at the commit's time.
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
step "control"

mkdir -p "$out_dir"
deb=$out_dir/provisioner_${version}_$arch.deb
dpkg-deb --root-owner-group ${DEB_COMPRESS:--Zxz -z1} --build "$root" "$deb" >/dev/null
step "dpkg-deb"

if [ "${DEB_LINTIAN:-1}" != 0 ]; then
	command -v lintian >/dev/null || die "lintian is missing: run \`make deps\`"
	lintian --fail-on error --tag-display-limit 0 "$deb" || { rm -f "$deb"; die "lintian found errors in the package (removed)"; }
	step "lintian"
fi
echo "$deb ($(du -h "$deb" | cut -f1), version $version, $n_pages man pages)"
