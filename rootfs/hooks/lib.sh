# Shared by essential.sh and customize.sh (sourced, not run).

die() { echo "provisioner hook: $*" >&2; exit 1; }

# copy_tree SRC DST: copies SRC's contents into DST as they are (modes kept,
# owned by root), keeping DST's existing directories and directory symlinks
# (/lib -> usr/lib) as they are. A missing SRC copies nothing.
copy_tree() {
	[ -d "$1" ] || return 0
	(cd "$1" && tar --owner=0 --group=0 --numeric-owner -cf - .) |
		tar -C "$2" --keep-directory-symlink --no-overwrite-dir -xf -
}

# initramfs_digest ROOT: a digest of the files the two overlays put under
# etc/initramfs-tools, as they are in ROOT.
initramfs_digest() {
	for src in "$PROVISIONER_ROOTFS/overlay" "${PROVISIONER_SITE_OVERLAY:-}"; do
		[ -n "$src" ] && [ -d "$src/etc/initramfs-tools" ] || continue
		(cd "$src" && find etc/initramfs-tools ! -type d)
	done | LC_ALL=C sort -u | while read -r f; do
		printf '%s %s\n' "$f" "$(cat "$1/$f" 2>/dev/null | sha256sum | cut -d' ' -f1)"
		stat -c '%a' "$1/$f" 2>/dev/null || echo missing
	done | sha256sum | cut -d' ' -f1
}
