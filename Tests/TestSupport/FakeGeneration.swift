import Foundation
import ProvisionerCore
import ProvisionerImages

/// Image generations made by hand for tests: a fake root, a kernel of
/// filler bytes and a real newc initrd listing the files the verifier looks for.
public enum FakeGeneration {
    /// A newc cpio archive (the initramfs format) of empty files, by hand.
    public static func cpio(_ names: [String]) -> Data {
        var out = Data()
        func entry(_ name: String, mode: UInt32) {
            let fields: [UInt32] = [0, mode, 0, 0, 1, 0, 0, 0, 0, 0, 0, UInt32(name.utf8.count + 1), 0]
            var header = "070701"
            for f in fields { header += String(format: "%08X", f) }
            out += Data(header.utf8) + Data(name.utf8) + Data([0])
            while out.count % 4 != 0 { out.append(0) }
        }
        for n in names { entry(n, mode: 0o100644) }
        entry("TRAILER!!!", mode: 0)
        while out.count % 512 != 0 { out.append(0) }
        return out
    }

    /// A generation with a fake root: `files` relative to the root, an initrd listing `initrd`.
    public static func write(_ store: ImageStore, _ id: GenerationID, files: [String: String], initrd: [String]) throws {
        let gen = store.generationDir(id)
        for (path, text) in files {
            try FileManager.default.createDirectory(atPath: ((gen + "/root/" + path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: gen + "/root/" + path, atomically: true, encoding: .utf8)
        }
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: gen + "/vmlinuz"))
        // Two segments, as Debian writes them: an uncompressed early cpio, then the main one.
        try (Self.cpio(["kernel/x86/microcode/GenuineIntel.bin"]) + Self.cpio(initrd)).write(to: URL(fileURLWithPath: gen + "/initrd.img"))
        let meta = GenerationMeta(id: id, image: store.image, created: "2026-01-01T00:00:00Z", suite: "bookworm", architecture: "amd64",
                                  kernelVersion: "6.1.0-test", packageCount: 1, sizeBytes: 1, baseDigest: "x", buildSeconds: 1, fromCache: false)
        try JSONEncoder().encode(meta).write(to: URL(fileURLWithPath: gen + "/meta.json"))
        try store.publish(id, from: gen)
    }

    public static let goodInitrd = [
        "scripts/nfs", "scripts/nfs-bottom/provisioner-overlay", "usr/bin/nfsmount", "usr/bin/ipconfig",
        "usr/lib/modules/6.1.0/kernel/fs/nfs/nfs.ko", "usr/lib/modules/6.1.0/kernel/fs/nfs/nfsv3.ko",
        "usr/lib/modules/6.1.0/kernel/net/sunrpc/sunrpc.ko", "usr/lib/modules/6.1.0/kernel/fs/overlayfs/overlay.ko",
        "usr/lib/modules/6.1.0/kernel/drivers/net/virtio_net.ko",
    ]
}
