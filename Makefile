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
#   python3         benchmark driver
#   dnsmasq-base    DHCP + TFTP server (configs are checked with dnsmasq --test)
#   pxelinux syslinux-common ipxe   boot loaders copied into the TFTP root
#   busybox curl    udhcpc, tftp and HTTP clients of the network tests
#   iproute2        network namespaces of the network tests and the lab
#   mmdebstrap zstd the node root image and its cache archives
#   nfs-ganesha nfs-ganesha-vfs rpcbind   the user-space NFS server of the root
#   libarchive-dev libnfs-dev libvirt-dev  system libraries linked by the code
#   libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
#                   the node controller's hypervisor tests and the lab's nodes
#   chromium        the serve test loads the status page headless and keeps a screenshot
#   wrk nginx-light benchmarks: load on the node API, the initrd served by nginx beside serve
DEB_PACKAGES := libsqlite3-dev sqlite3 python3 dnsmasq-base pxelinux syslinux-common ipxe busybox curl iproute2 \
	mmdebstrap zstd nfs-ganesha nfs-ganesha-vfs rpcbind libarchive-dev libnfs-dev libvirt-dev \
	libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils chromium wrk nginx-light

.PHONY: all deps build build-release node-controller test bench demo demo-down install clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(APT_GET) update -q && $(APT_GET) install -y -q --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

# The node controller goes into the image: built with the Swift runtime linked
# in statically, so it runs in a plain Debian root. Its own build folder keeps
# the static build apart from the debug one.
node-controller: deps
	$(SWIFT) build -c release --product node-controller --static-swift-stdlib --scratch-path .build-nc

build-release: deps
	$(SWIFT) build -c release

test: build node-controller
	$(SWIFT) test

bench: build-release node-controller
	python3 bench/bench.py --bin "$$($(SWIFT) build -c release --show-bin-path)/provisioner" --node-controller .build-nc/release/node-controller

demo: build node-controller
	bash netboot/demo.sh "$$($(SWIFT) build --show-bin-path)/provisioner"

demo-down:
	rm -rf .demo

clean:
	rm -rf .build .demo
