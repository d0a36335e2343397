#!/bin/sh
# mmdebstrap --essential-hook='"$PROVISIONER_ROOTFS/hooks/essential.sh" "$1"'
#
# Runs after the Essential:yes packages are installed and before the --include
# packages (the kernel among them) are. Puts the initramfs configuration in
# place now, so the kernel's postinst builds the netboot initrd once, with the
# overlay script in it:
#   - etc/initramfs-tools/ from $PROVISIONER_ROOTFS/overlay (overlay script and hook)
#   - etc/initramfs-tools/ from $PROVISIONER_SITE_OVERLAY (conf.d: MODULES=netboot, BOOT=nfs)
# The rest of both overlays is copied by customize.sh (copying, say, a package's
# conffile now would make dpkg ask about it).
set -eu
root=${1:?usage: essential.sh ROOT}
. "${PROVISIONER_ROOTFS:?PROVISIONER_ROOTFS is not set}/hooks/lib.sh"
: "${PROVISIONER_SITE_OVERLAY:?PROVISIONER_SITE_OVERLAY is not set}"

mkdir -p "$root/etc/initramfs-tools"
copy_tree "$PROVISIONER_ROOTFS/overlay/etc/initramfs-tools" "$root/etc/initramfs-tools"
copy_tree "$PROVISIONER_SITE_OVERLAY/etc/initramfs-tools" "$root/etc/initramfs-tools"

if ! cat "$root"/etc/initramfs-tools/conf.d/* 2>/dev/null | grep -q '^BOOT=nfs'; then
	die "no BOOT=nfs in $PROVISIONER_SITE_OVERLAY/etc/initramfs-tools/conf.d/: the initrd would not boot an NFS root"
fi

# What the kernel's initrd will be built from; customize.sh rebuilds the initrd
# only if this changed. (Kept under var/lib: mmdebstrap empties /run, and the
# image builder runs customize.sh after mmdebstrap, on a fresh or cached base.)
mkdir -p "$root/var/lib/provisioner-build"
initramfs_digest "$root" > "$root/var/lib/provisioner-build/initramfs.digest"
