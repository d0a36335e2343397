#!/bin/sh
# mmdebstrap --customize-hook='"$PROVISIONER_ROOTFS/hooks/customize.sh" "$1"'
#
# Runs after every package is installed. Environment (set by the image builder):
#   PROVISIONER_ROOTFS            this rootfs/ directory
#   PROVISIONER_SITE_OVERLAY      site-rendered files, copied into the root as they are
#   PROVISIONER_NODE_CONTROLLER   node-controller binary to install, or empty
#   PROVISIONER_SSH_KEYS          authorized_keys for root, or empty
set -eu
root=${1:?usage: customize.sh ROOT}
. "${PROVISIONER_ROOTFS:?PROVISIONER_ROOTFS is not set}/hooks/lib.sh"
: "${PROVISIONER_SITE_OVERLAY:?PROVISIONER_SITE_OVERLAY is not set}"
node_controller=${PROVISIONER_NODE_CONTROLLER:-}
ssh_keys=${PROVISIONER_SSH_KEYS:-}
in_root() { chroot "$root" "$@"; }

# 1. Files: ours, then the site's (the site wins: fstab, network/interfaces, initramfs conf.d).
copy_tree "$PROVISIONER_ROOTFS/overlay" "$root"
copy_tree "$PROVISIONER_SITE_OVERLAY" "$root"

# Every mount point in the site's fstab must exist in the image: with the
# read-only root (provisioner.overlay=0) systemd cannot create one, the mount
# fails, local-fs.target fails and the node stops in emergency mode (with root
# locked, for good). Made inside the root, so absolute symlinks resolve there.
if [ -f "$root/etc/fstab" ]; then
	while read -r fs_spec fs_file fs_rest; do
		case "$fs_spec" in ""|\#*) continue ;; esac
		case "$fs_file" in /*) in_root mkdir -p -- "$fs_file" ;; esac
	done < "$root/etc/fstab"
fi

# 2. Identity: every node gets its own. No /etc/hostname, so systemd keeps the
#    name the initramfs got from DHCP; an empty machine-id, so each node makes
#    one at boot (in its overlay); no resolv.conf from the build host (the
#    initramfs script writes the node's own when DHCP gives DNS servers).
rm -f "$root/etc/hostname" "$root/etc/resolv.conf" "$root/var/lib/dbus/machine-id"
: > "$root/etc/machine-id"

# Loopback names: netbase's postinst writes /etc/hosts; keep a fallback in case
# the package lists change (a site overlay may ship its own).
if [ ! -e "$root/etc/hosts" ]; then
	printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
fi

# 3. root: never a usable password; SSH keys only if given.
if [ -x "$root/usr/bin/passwd" ]; then
	in_root passwd --lock root >/dev/null
else
	sed -i 's/^root:[^:]*:/root:!*:/' "$root/etc/shadow"
fi
rm -rf "$root/root/.ssh"
if [ -n "$ssh_keys" ]; then
	[ -f "$ssh_keys" ] || die "PROVISIONER_SSH_KEYS=$ssh_keys: no such file"
	install -d -m 0700 -o 0 -g 0 "$root/root/.ssh"
	install -m 0600 -o 0 -g 0 "$ssh_keys" "$root/root/.ssh/authorized_keys"
fi

# 4. The node controller, if one was given (nothing at all otherwise).
if [ -n "$node_controller" ]; then
	unit="$PROVISIONER_ROOTFS/systemd/node-controller.service"
	[ -f "$node_controller" ] || die "PROVISIONER_NODE_CONTROLLER=$node_controller: no such file"
	[ -f "$unit" ] || die "$unit: no such file"
	install -D -m 0755 -o 0 -g 0 "$node_controller" "$root/usr/local/sbin/node-controller"
	install -D -m 0644 -o 0 -g 0 "$unit" "$root/etc/systemd/system/node-controller.service"
	in_root systemctl enable node-controller.service
else
	# (a root customized before, with one: make the result the same as from a fresh base)
	rm -f "$root/usr/local/sbin/node-controller" "$root/etc/systemd/system/node-controller.service" \
		"$root/etc/systemd/system/multi-user.target.wants/node-controller.service"
fi

# libvirt-daemon without libvirt-daemon-system (which brings polkitd, iptables,
# logrotate, ...) has no libvirt-qemu user, and libvirtd's QEMU driver then fails
# to start ("Failed to parse user 'libvirt-qemu'"): create the users and groups
# the way libvirt-daemon-system's postinst does.
if [ -x "$root/usr/sbin/libvirtd" ]; then
	in_root sh -ec '
		getent group kvm >/dev/null || groupadd --system kvm
		getent group libvirt >/dev/null || groupadd --system libvirt
		getent group libvirt-qemu >/dev/null || groupadd --system --gid 64055 libvirt-qemu
		getent passwd libvirt-qemu >/dev/null ||
			useradd --system --uid 64055 --gid kvm --groups libvirt-qemu --home-dir /var/lib/libvirt \
				--no-create-home --shell /usr/sbin/nologin --comment "Libvirt Qemu" libvirt-qemu'
	# libvirt-daemon ships no systemd units either: ours start libvirtd at boot
	# (the node controller's unit Wants= it) and virtlogd on demand.
	if [ ! -e "$root/lib/systemd/system/libvirtd.service" ]; then
		for u in libvirtd.service virtlogd.service virtlogd.socket; do
			install -m 0644 -o 0 -g 0 "$PROVISIONER_ROOTFS/systemd/$u" "$root/etc/systemd/system/$u"
		done
		in_root systemctl enable libvirtd.service virtlogd.socket
	fi
fi

# 5. A login prompt on the serial console even without console=ttyS0 on the
#    kernel command line (with it, systemd-getty-generator starts the same unit).
in_root systemctl enable serial-getty@ttyS0.service
# A shared read-only image is updated by building a new generation, not by apt
# on every node at once.
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer
# A diskless node has no ext4 to scrub: e2scrub_reap took 11 s of a TCG boot's
# CPU (the nodes' own boot timings, make bench).
in_root systemctl mask e2scrub_reap.service e2scrub_all.timer
# What a diskless node booted from a shared read-only root never uses, masked so
# that its boot spends no CPU on it (under TCG every unit started costs ~0.1-8 s
# of a boot that runs them all at once; the nodes' boot timings, make bench):
# - getty-static: gettys on tty2-6 when dbus is not installed (tty1 and the
#   serial console keep theirs);
# - pstore (crash records saved to a RAM overlay are lost at the next boot
#   anyway), FUSE control, configfs, debugfs and tracefs, binfmt_misc;
# - systemd-firstboot: every boot of a node with an empty machine-id is a
#   "first boot", and there is no one to answer its prompts;
# - the journal flush: the journal stays in /run (journald.conf.d below), as
#   /var/log is a tmpfs of the same RAM anyway;
# - fstrim and dpkg-db-backup timers: no local disk, a read-only dpkg database;
# - systemd-repart: no local disk to partition (its condition skips it, but its
#   Wants= still loaded the loop and dm_mod modules: 1.3 s of CPU each);
# - systemd-sysusers: the image is built with its users; it would only find them.
in_root systemctl mask systemd-repart.service systemd-sysusers.service
in_root systemctl mask getty-static.service systemd-pstore.service sys-fs-fuse-connections.mount \
	sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount proc-sys-fs-binfmt_misc.automount \
	systemd-binfmt.service systemd-firstboot.service systemd-journal-flush.service fstrim.timer dpkg-db-backup.timer
install -d -m 0755 "$root/etc/systemd/journald.conf.d"
printf '# Provisioner: a diskless node keeps its journal in RAM (/run/log/journal).\n[Journal]\nStorage=volatile\n' \
	> "$root/etc/systemd/journald.conf.d/provisioner.conf"
# Generators for what a netbooted node has none of (local partitions, LUKS,
# dm-integrity/verity, hibernation images, offline updates): each is a process
# run over NFS before systemd starts any unit. A link to /dev/null in /etc
# disables a generator.
install -d -m 0755 "$root/etc/systemd/system-generators"
for g in systemd-gpt-auto-generator systemd-cryptsetup-generator systemd-integritysetup-generator \
	systemd-veritysetup-generator systemd-hibernate-resume-generator systemd-system-update-generator; do
	ln -sfn /dev/null "$root/etc/systemd/system-generators/$g"
done

# 6. The initrd. Normally the kernel's postinst built it (and initramfs-tools'
#    trigger built it again at the end of the same apt run) from what
#    essential.sh put in place: rebuild it only if those files changed since.
#    With INITRD=No in mmdebstrap's environment the kernel's postinst builds
#    none: build it here, once, from the final files.
kernels=$(cd "$root/lib/modules" 2>/dev/null && ls) || kernels=
if [ -n "$kernels" ]; then
	built=$(cat "$root/var/lib/provisioner-build/initramfs.digest" 2>/dev/null || echo none)
	for k in $kernels; do
		if [ ! -e "$root/boot/initrd.img-$k" ]; then
			in_root update-initramfs -c -k "$k"
			# /initrd.img was not linked either
			in_root env -u INITRD linux-update-symlinks install "$k" "/boot/vmlinuz-$k"
		elif [ "$built" != "$(initramfs_digest "$root")" ]; then
			echo "provisioner hook: initramfs files changed after the kernel was configured: rebuilding the initrd" >&2
			in_root update-initramfs -u -k "$k"
		fi
	done
	for k in $kernels; do
		list=$(in_root lsinitramfs "/boot/initrd.img-$k") || die "cannot list /boot/initrd.img-$k"
		for want in scripts/nfs scripts/nfs-bottom/provisioner-overlay scripts/init-premount/provisioner-link conf/conf.d/provisioner /overlay.ko bin/nfsmount bin/ipconfig \
			scripts/ram scripts/ram-bottom/provisioner-overlay /loop.ko /squashfs.ko bin/busybox; do
			echo "$list" | grep -q "$want" || die "/boot/initrd.img-$k has no $want"
		done
	done
fi
rm -rf "$root/var/lib/provisioner-build"
