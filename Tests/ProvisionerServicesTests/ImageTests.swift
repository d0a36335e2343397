import Foundation
import ProvisionerAPI
import ProvisionerCore
import Testing
@testable import ProvisionerServices

/// Generation bookkeeping on disk, verify's checks on a small fake root, and
/// libarchive packing; the real image build is in the CLI's SystemTests.
struct ImageTests {
    /// A newc cpio archive (the initramfs format) of empty files, by hand.
    static func cpio(_ names: [String]) -> Data {
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
    func fakeGeneration(_ store: ImageStore, _ id: GenerationID, files: [String: String], initrd: [String]) throws {
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

    static let goodInitrd = [
        "scripts/nfs", "scripts/nfs-bottom/provisioner-overlay", "usr/bin/nfsmount", "usr/bin/ipconfig",
        "usr/lib/modules/6.1.0/kernel/fs/nfs/nfs.ko", "usr/lib/modules/6.1.0/kernel/fs/nfs/nfsv3.ko",
        "usr/lib/modules/6.1.0/kernel/net/sunrpc/sunrpc.ko", "usr/lib/modules/6.1.0/kernel/fs/overlayfs/overlay.ko",
        "usr/lib/modules/6.1.0/kernel/drivers/net/virtio_net.ko",
    ]

    @Test func verifyPassesAGoodRootAndNamesWhatIsWrongWithABadOne() throws {
        let dir = try makeTempDir("verify")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ImageStore(config: try tempSiteConfig(dir), image: "default")
        try fakeGeneration(store, GenerationID(number: 1), files: [
            "etc/initramfs-tools/conf.d/provisioner": "MODULES=netboot\nBOOT=nfs\n", "etc/machine-id": "",
        ], initrd: Self.goodInitrd)
        let good = ImageVerifier(store: store).verify(GenerationID(number: 1), nfs: nil)
        let failedGood = good.filter(\.failed).map(\.name)
        // No node controller in this fake root: the only failure.
        #expect(failedGood == ["node controller installed"], "\(good)")
        #expect(good.contains { $0.name == "NFS" && $0.result == .skipped })

        try fakeGeneration(store, GenerationID(number: 2), files: [
            "etc/initramfs-tools/conf.d/provisioner": "MODULES=most\n", "etc/hostname": "buildhost\n", "etc/machine-id": "abc\n",
        ], initrd: ["scripts/nfs", "usr/bin/nfsmount"])
        let bad = Set(ImageVerifier(store: store).verify(GenerationID(number: 2), nfs: nil).filter(\.failed).map(\.name))
        for name in ["initrd: overlay module", "initrd: nfs module", "initrd: overlay script", "initramfs BOOT=nfs", "no /etc/hostname", "empty machine-id"] {
            #expect(bad.contains(name), "\(name) should fail: \(bad)")
        }
        #expect(!bad.contains("initrd: NFS boot script") && !bad.contains("initrd: nfsmount"))
    }

    @Test func initramfsEntriesReadEverySegment() throws {
        let dir = try makeTempDir("cpio")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try (Self.cpio(["early/a"]) + Self.cpio(["main/b", "main/c"])).write(to: URL(fileURLWithPath: dir + "/initrd"))
        #expect(try ImageArchive.initramfsEntries(dir + "/initrd").filter { $0 != "TRAILER!!!" } == ["early/a", "main/b", "main/c"])
        try Data("not an archive".utf8).write(to: URL(fileURLWithPath: dir + "/junk"))
        #expect(throws: SystemError.self) { try ImageArchive.initramfsEntries(dir + "/junk") }
    }

    @Test func activateRollbackAndRemoveOnDisk() throws {
        let dir = try makeTempDir("gens")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ImageStore(config: try tempSiteConfig(dir), image: "default")
        for n in 1...3 { try fakeGeneration(store, GenerationID(number: n), files: ["etc/os-release": "ID=debian\n"], initrd: Self.goodInitrd) }
        try store.activate(GenerationID(number: 1))
        try store.activate(GenerationID(number: 3))
        var set = store.generations()
        #expect(set.active?.number == 3 && set.previous?.number == 1 && set.ids.count == 3)
        try store.activate(try set.rollbackTarget(image: "default"))
        set = store.generations()
        #expect(set.active?.number == 1 && set.previous?.number == 3)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: store.dir + "/current") == "g1")
        try store.remove(GenerationID(number: 2))
        #expect(store.generations().ids.map(\.number) == [1, 3])
        // Ids are never handed out twice, not even the newest one after its removal.
        #expect(try store.allocateID().number == 4)
        try store.remove(GenerationID(number: 3))
        #expect(try store.allocateID().number == 5)
        #expect(!FileManager.default.fileExists(atPath: dir + "/http/images/default/g2"))
        // A dead build's leftovers go, with their published files.
        try FileManager.default.createDirectory(atPath: store.partialDir(GenerationID(number: 6)) + "/root/proc", withIntermediateDirectories: true)
        #expect(store.cleanLeftovers().count == 1)
        #expect(store.partialBuilds().isEmpty)
        // Held lock: a second taker is told the image is busy.
        try store.withLock {
            #expect(throws: BusyError.self) { try store.withLock { } }
        }
    }

    @Test func packAndUnpackKeepLinksModesAndRefuseEscapes() throws {
        let dir = try makeTempDir("archive")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = dir + "/src"
        try FileManager.default.createDirectory(atPath: src + "/usr/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho hi\n".write(toFile: src + "/usr/bin/tool", atomically: true, encoding: .utf8)
        chmod(src + "/usr/bin/tool", 0o4755)
        link(src + "/usr/bin/tool", src + "/usr/bin/tool2")
        symlink("usr/bin", src + "/bin")
        try ImageArchive.pack(src, to: dir + "/a.tar.zst")
        try FileManager.default.createDirectory(atPath: dir + "/dst", withIntermediateDirectories: true)
        try ImageArchive.unpack(dir + "/a.tar.zst", into: dir + "/dst")
        var a = stat(), b = stat()
        #expect(stat(dir + "/dst/usr/bin/tool", &a) == 0 && stat(dir + "/dst/usr/bin/tool2", &b) == 0)
        #expect(a.st_ino == b.st_ino, "hard link kept")
        #expect(a.st_mode & 0o7777 == 0o4755, "mode kept")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/dst/bin") == "usr/bin")

        // An archive with an absolute path is refused, and nothing lands outside.
        let evil = dir + "/evil.tar"
        let r = try ProcessRunner.run("/bin/tar", ["-cf", evil, "--absolute-names", dir + "/src/usr/bin/tool"])
        #expect(r.status == 0)
        try FileManager.default.createDirectory(atPath: dir + "/dst2", withIntermediateDirectories: true)
        #expect(throws: SystemError.self) { try ImageArchive.unpack(evil, into: dir + "/dst2") }
    }
}
