# Provisioner: PXE/diskless node provisioning.
#   make demo   install what is needed, build, run the main job
#   make test   install what is needed, build, run every test
#   make bench  print the performance numbers (release build)

SWIFT      ?= swift
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_GET    := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600

# Every Debian package the project needs, to build, test, benchmark and run.
#   libsqlite3-dev  the registry (GRDB links the system libsqlite3)
#   sqlite3         tests dump the registry with the real sqlite3 tool
#   python3 python3-venv  benchmark driver; the venv of the Python tools (pydeps)
#   dnsmasq-base    DHCP + TFTP server (configs are checked with dnsmasq --test)
#   pxelinux syslinux-common ipxe   boot loaders copied into the TFTP root
#   shim-signed grub-efi-amd64-signed  the Secure Boot chain (signed shim, signed netboot GRUB)
#   ovmf            UEFI firmware (plain and Secure Boot) of the lab's UEFI nodes
#   busybox curl    udhcpc, tftp and HTTP clients of the network tests
#   openssl         the node controller's TLS tests run a real TLS server (s_server) with certificates it makes
#   swtpm swtpm-tools tpm2-tools  TPM-bound enrollment: an emulated TPM 2.0 for the tests and the lab's nodes
#   iproute2        network namespaces of the network tests and the lab
#   mmdebstrap zstd the node root image and its cache archives
#   squashfs-tools  mksquashfs: each generation's root as one image, for profiles with root: ram
#   nfs-ganesha nfs-ganesha-vfs rpcbind   the user-space NFS server of the root
#   nfs-kernel-server  exportfs: the kernel NFS backend's exports are checked by the real tool
#   libarchive-dev libnfs-dev libvirt-dev libssl-dev  system libraries linked by the code
#                   (libssl: the node controller's TLS to the node API)
#   libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
#                   the node controller's hypervisor tests and the lab's nodes
#   chromium        the serve test loads the status page headless and keeps a screenshot
#   ipmitool        the IPMI driver of `node power` (lanplus)
#   openipmi        ipmi_sim: the IPMI BMC emulator the BMC tests drive
#   postgresql-15   the shared registry of several boot servers; its tests run their own server (initdb)
#   wrk nginx-light benchmarks: load on the node API, the initrd served by nginx beside serve
#   strace          bench/record_boot_reads.py: what a booting node reads of its root (nfs-ganesha's reads)
#   dpkg-dev        make deb: dpkg-shlibdeps (the package's library Depends), strip (binutils)
#   lintian         make deb checks the package (errors fail it)
DEB_PACKAGES := libsqlite3-dev sqlite3 python3 python3-venv dnsmasq-base pxelinux syslinux-common ipxe shim-signed grub-efi-amd64-signed ovmf busybox curl openssl swtpm swtpm-tools tpm2-tools iproute2 \
	mmdebstrap zstd squashfs-tools nfs-ganesha nfs-ganesha-vfs rpcbind nfs-kernel-server libarchive-dev libnfs-dev libvirt-dev libssl-dev \
	libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils chromium ipmitool openipmi postgresql-15 wrk nginx-light strace dpkg-dev lintian

# From bookworm-backports, for these packages only (apt-get -t bookworm-backports;
# backports are pinned at 100 by Debian, so nothing else is upgraded from it):
#   incus-base      the cloud nodes join: incusd (containers; its tests run several
#                   daemons on the host, one INCUS_DIR and loopback address each)
BACKPORTS_PACKAGES := incus-base
BACKPORTS_SOURCE   := /etc/apt/sources.list.d/provisioner-backports.sources

# Python tools from PyPI, in their own venv (Debian's python is externally managed):
#   schemathesis   the API fuzzer `make test` runs against serve's OpenAPI document
#   sushy-tools    sushy-emulator: the Redfish BMC emulator the BMC tests drive (its fake driver)
#   openapi-spec-validator  lints the API contract api/openapi.yaml (Tests/tools/lint-openapi.sh)
PY_VENV     := .build-py
PY_PACKAGES := schemathesis==4.32.5 sushy-tools==2.2.0 openapi-spec-validator==0.9.0

.PHONY: all deps pydeps build build-release node-controller test bench demo demo-down install clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(APT_GET) update -q && $(APT_GET) install -y -q --no-install-recommends $$missing; \
	fi
	@missing=""; for p in $(BACKPORTS_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then \
	    echo "adding the bookworm-backports suite ($(BACKPORTS_SOURCE))"; \
	    uri=$$(sed -n 's/^URIs: *\(.*debian\/*\)$$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1); \
	    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	      "$${uri:-http://deb.debian.org/debian}" | $(SUDO) tee $(BACKPORTS_SOURCE) >/dev/null; \
	  fi; \
	  echo "installing Debian packages from bookworm-backports:$$missing"; \
	  $(APT_GET) update -q && $(APT_GET) install -y -q --no-install-recommends -t bookworm-backports $$missing; \
	fi

build: deps
	$(SWIFT) build

pydeps: deps
	@if ! $(PY_VENV)/bin/python -c 'import importlib.metadata as m, sys; want = dict(p.split("==") for p in sys.argv[1:]); sys.exit(0 if all(m.version(k) == v for k, v in want.items()) else 1)' $(PY_PACKAGES) 2>/dev/null; then \
	  echo "installing Python tools into $(PY_VENV): $(PY_PACKAGES)"; \
	  python3 -m venv $(PY_VENV) && $(PY_VENV)/bin/pip install -q $(PY_PACKAGES); \
	fi

# The node controller goes into the image: built with the Swift runtime linked
# in statically, so it runs in a plain Debian root. Its own build folder keeps
# the static build apart from the debug one.
node-controller: deps
	$(SWIFT) build -c release --product node-controller --static-swift-stdlib --scratch-path .build-nc

# The release CLI links the Swift runtime statically too (same build folder as
# the node controller): it starts ~9 ms sooner (measured: 18 vs 27 ms per
# process here), which is most of a `node add`, and an installed appliance
# needs no Swift runtime.
RELEASE_BIN := .build-nc/release
build-release: deps
	$(SWIFT) build -c release --product provisioner --static-swift-stdlib --scratch-path .build-nc

# The whole output stays in .build/test.log; failures are repeated at the end.
# The API contract is linted and the documented target arrows checked
# against Package.swift first (seconds); then every Swift test; then the
# package test: make deb's script packs the CLI and the node controller, and
# the package is installed with apt-get into a fresh Debian 12 root
# (Tests/tools/deb-test.sh). The CLI it packs is the debug build's objects
# linked statically (Tests/tools/link-static-debug.sh, 4 s), not the release
# build (7 minutes from a clean tree, most of it optimizing code this run has
# already compiled): the packaging is what the test checks. `make deb` and
# `make bench` use the release build.
DEB_TEST_BIN := .build-nc/deb-test-bin
DEB_TEST_OUT := .build-nc/deb-test-out
test: build node-controller pydeps
	bash Tests/tools/lint-openapi.sh
	python3 Tests/tools/check-arrows.py $(SWIFT)
	SWIFT=$(SWIFT) bash Tests/tools/run-tests.sh
	rm -rf $(DEB_TEST_BIN) $(DEB_TEST_OUT)
	SWIFT=$(SWIFT) bash Tests/tools/link-static-debug.sh $(DEB_TEST_BIN)
	cp $(RELEASE_BIN)/node-controller $(DEB_TEST_BIN)/
	SWIFT=$(SWIFT) bash packaging/build-deb.sh $(DEB_TEST_BIN) $(DEB_TEST_OUT)
	bash Tests/tools/deb-test.sh $(DEB_TEST_OUT)/provisioner_*_amd64.deb

bench: build-release node-controller
	python3 bench/bench.py --bin $(RELEASE_BIN)/provisioner --node-controller $(RELEASE_BIN)/node-controller

demo: build node-controller
	bash netboot/demo.sh "$$($(SWIFT) build --show-bin-path)/provisioner" .build-nc/release/node-controller

demo-down:
	@if [ -x "$$($(SWIFT) build --show-bin-path)/provisioner" ] && [ -d .demo ]; then \
	  "$$($(SWIFT) build --show-bin-path)/provisioner" lab down --home "$$PWD/.demo"; fi
	rm -rf .demo

# FHS install: the binary, the node controller for images, templates, rootfs/,
# and a systemd unit running `provisioner serve` with /var/lib/provisioner.
PREFIX  ?= /usr/local
DESTDIR ?=
install: build-release node-controller
	install -D -m 0755 $(RELEASE_BIN)/provisioner $(DESTDIR)$(PREFIX)/bin/provisioner
	install -D -m 0755 $(RELEASE_BIN)/node-controller $(DESTDIR)$(PREFIX)/lib/provisioner/node-controller
	mkdir -p $(DESTDIR)$(PREFIX)/share/provisioner
	cp -R templates rootfs api $(DESTDIR)$(PREFIX)/share/provisioner/
	sed 's#@BINDIR@#$(PREFIX)/bin#' netboot/provisioner.service.in > provisioner.service.tmp
	install -D -m 0644 provisioner.service.tmp $(DESTDIR)/etc/systemd/system/provisioner.service
	rm -f provisioner.service.tmp
	install -d -m 0755 $(DESTDIR)/etc/provisioner $(DESTDIR)/var/lib/provisioner
	@echo "installed; next: provisioner init --home /var/lib/provisioner --interface IFACE --server-ip IP --subnet NET/LEN,"
	@echo "then provisioner image build, provisioner apply, systemctl enable --now provisioner"

# The Debian package of the release build, provisioner_<version>_amd64.deb
# here, checked by lintian (packaging/build-deb.sh). Tests/tools/deb-test.sh
# installs it into a fresh Debian 12 root and runs it there.
.PHONY: deb
deb: build-release node-controller
	SWIFT=$(SWIFT) bash packaging/build-deb.sh $(RELEASE_BIN) .

clean:
	rm -rf .build .build-nc .build-py .demo provisioner_*.deb
