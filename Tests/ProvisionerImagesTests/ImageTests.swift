import Foundation
import ProvisionerAPI
import ProvisionerCore
import Testing
import TestSupport
@testable import ProvisionerImages
@testable import ProvisionerPlatform

/// Generation bookkeeping on disk, verify's checks on a small fake root, and
/// libarchive packing; the real image build is in the CLI's SystemTests.
struct ImageTests {
    @Test func verifyPassesAGoodRootAndNamesWhatIsWrongWithABadOne() throws {
        let dir = try makeTempDir("verify")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ImageStore(config: try tempSiteConfig(dir), image: "default")
        try FakeGeneration.write(store, GenerationID(number: 1), files: [
            "etc/initramfs-tools/conf.d/provisioner": "MODULES=netboot\nBOOT=nfs\n", "etc/machine-id": "",
        ], initrd: FakeGeneration.goodInitrd)
        let good = ImageVerifier(store: store).verify(GenerationID(number: 1), nfs: nil)
        let failedGood = good.filter(\.failed).map(\.name)
        // No node controller in this fake root: the only failure.
        #expect(failedGood == ["node controller installed"], "\(good)")
        #expect(good.contains { $0.name == "NFS" && $0.result == .skipped })

        try FakeGeneration.write(store, GenerationID(number: 2), files: [
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
        try (FakeGeneration.cpio(["early/a"]) + FakeGeneration.cpio(["main/b", "main/c"])).write(to: URL(fileURLWithPath: dir + "/initrd"))
        #expect(try ImageArchive.initramfsEntries(dir + "/initrd").filter { $0 != "TRAILER!!!" } == ["early/a", "main/b", "main/c"])
        try Data("not an archive".utf8).write(to: URL(fileURLWithPath: dir + "/junk"))
        #expect(throws: SystemError.self) { try ImageArchive.initramfsEntries(dir + "/junk") }
    }

    @Test func activateRollbackAndRemoveOnDisk() throws {
        let dir = try makeTempDir("gens")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ImageStore(config: try tempSiteConfig(dir), image: "default")
        for n in 1...3 { try FakeGeneration.write(store, GenerationID(number: n), files: ["etc/os-release": "ID=debian\n"], initrd: FakeGeneration.goodInitrd) }
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
        _ = try store.withLock {
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
