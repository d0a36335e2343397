import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerPlatform

/// One check of `image verify`.
public struct VerifyCheck: Codable, Sendable, Equatable {
    public var name: String
    public var result: CheckResult
    public var detail: String

    public init(_ name: String, _ ok: Bool, _ detail: String) {
        self.name = name
        self.result = ok ? .ok : .failed
        self.detail = detail
    }

    public static func skipped(_ name: String, _ why: String) -> VerifyCheck {
        var c = VerifyCheck(name, true, why)
        c.result = .skipped
        return c
    }

    public var failed: Bool { result == .failed }
}

/// Checks that a generation can boot a diskless node: kernel and initrd are
/// there and published, the initrd can mount an NFS root and lay the overlay,
/// the root has no host name and carries the node controller, and, when the
/// NFS server runs, the export is readable (and not writable) as a node sees it.
public struct ImageVerifier: Sendable {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    /// What the initrd must hold (path suffixes), and why.
    public static let initrdNeeds: [(what: String, suffixes: [String])] = [
        ("NFS boot script", ["scripts/nfs"]),
        ("overlay script", ["scripts/nfs-bottom/provisioner-overlay"]),
        ("nfsmount", ["bin/nfsmount"]),
        ("ipconfig", ["bin/ipconfig"]),
        ("nfs module", ["/nfs.ko", "/nfs.ko.xz", "/nfs.ko.zst"]),
        ("nfsv3 module", ["/nfsv3.ko", "/nfsv3.ko.xz", "/nfsv3.ko.zst"]),
        ("sunrpc module", ["/sunrpc.ko", "/sunrpc.ko.xz", "/sunrpc.ko.zst"]),
        ("overlay module", ["/overlay.ko", "/overlay.ko.xz", "/overlay.ko.zst"]),
        ("virtio_net module", ["/virtio_net.ko", "/virtio_net.ko.xz", "/virtio_net.ko.zst"]),
    ]

    /// Runs every check of generation `id`.
    /// - Parameter nfs: where to reach the NFS server, or nil to skip the NFS check.
    public func verify(_ id: GenerationID, nfs: NFSProbe?) -> [VerifyCheck] {
        var checks: [VerifyCheck] = []
        let gen = store.generationDir(id)
        let root = store.rootDir(id)
        let fm = FileManager.default

        for f in ["vmlinuz", "initrd.img"] {
            let size = (try? fm.attributesOfItem(atPath: gen + "/" + f)[.size] as? Int) ?? 0
            checks.append(VerifyCheck(f, size > 0, size > 0 ? "\(size) bytes" : "missing or empty: \(gen)/\(f)"))
            for d in store.publishedDirs(id) {
                let same = FileSystem.read(d + "/" + f).map { $0.count == size } ?? false
                checks.append(VerifyCheck("\(f) published", same, same ? d : "missing or different: \(d)/\(f)"))
            }
        }

        do {
            let entries = try ImageArchive.initramfsEntries(gen + "/initrd.img")
            for need in Self.initrdNeeds {
                let hit = entries.first { e in need.suffixes.contains { e == $0 || e.hasSuffix($0) || e.hasSuffix("/" + $0) } }
                checks.append(VerifyCheck("initrd: \(need.what)", hit != nil, hit ?? "not in the initrd (\(entries.count) entries)"))
            }
        } catch {
            checks.append(VerifyCheck("initrd readable", false, "\(error)"))
        }

        let conf = String(decoding: FileSystem.read(root + "/etc/initramfs-tools/conf.d/provisioner") ?? Data(), as: UTF8.self)
        checks.append(VerifyCheck("initramfs BOOT=nfs", conf.contains("BOOT=nfs"), conf.contains("BOOT=nfs") ? "etc/initramfs-tools/conf.d/provisioner" : "BOOT=nfs not set"))
        let hasHostname = fm.fileExists(atPath: root + "/etc/hostname")
        checks.append(VerifyCheck("no /etc/hostname", !hasHostname, hasHostname ? "the root has /etc/hostname: nodes would not take their DHCP name" : "the name comes from DHCP"))
        let machineID = FileSystem.read(root + "/etc/machine-id")?.count ?? 0
        checks.append(VerifyCheck("empty machine-id", machineID == 0, machineID == 0 ? "each node makes its own" : "/etc/machine-id is shared by every node"))

        let controller = root + "/usr/local/sbin/node-controller"
        if fm.isExecutableFile(atPath: controller) {
            // lstat, not fileExists: the link is absolute (/etc/systemd/…) and must not be followed on this host.
            var st = stat()
            let unit = lstat(root + "/etc/systemd/system/multi-user.target.wants/node-controller.service", &st) == 0
            checks.append(VerifyCheck("node controller enabled", unit, unit ? "node-controller.service in multi-user.target" : "the unit is not enabled"))
            // Run it inside the root: proves its shared libraries are in the image. In a
            // private mount namespace with its own /proc (Swift reads its arguments from
            // /proc/self/cmdline), so nothing stays mounted in the generation.
            if let unshare = ProcessRunner.which("unshare"), getuid() == 0 {
                let r = try? ProcessRunner.run(unshare, ["--mount", "--propagation", "private", "chroot", root, "/bin/sh", "-c",
                                                         "mount -t proc proc /proc && exec /usr/local/sbin/node-controller --version"])
                let ok = r?.status == 0
                checks.append(VerifyCheck("node controller runs in the root", ok, ok ? (r?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") : "failed: \((r?.stderr ?? "could not run chroot").trimmingCharacters(in: .whitespacesAndNewlines))"))
            }
        } else {
            checks.append(VerifyCheck("node controller installed", false, "no /usr/local/sbin/node-controller in the root"))
        }

        if let nfs {
            let rel = "\(store.image)/\(id)/root"
            do {
                let r = try nfs.read(rel + "/etc/os-release", probeWrite: rel + "/.provisioner-write-probe")
                let debian = r.contents.contains("ID=debian")
                checks.append(VerifyCheck("NFS: os-release over \(nfs.server):\(nfs.export)", debian, debian ? (r.contents.split(separator: "\n").first.map(String.init) ?? "") : "unexpected contents"))
                checks.append(VerifyCheck("NFS: export is read-only", r.readOnly, r.readOnly ? "write refused: \(r.writeError ?? "")" : "a file could be created through the export"))
            } catch {
                checks.append(VerifyCheck("NFS: os-release over \(nfs.server):\(nfs.export)", false, "\(error)"))
            }
        } else {
            checks.append(.skipped("NFS", "the NFS server is not running (start `provisioner serve`)"))
        }
        return checks
    }
}
