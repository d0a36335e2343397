import Foundation
import ProvisionerAPI
import ProvisionerCore
import Testing
import TestSupport
@testable import ProvisionerImages
@testable import ProvisionerPlatform

/// `image import` takes archives from elsewhere: what it publishes over
/// TFTP and HTTP must be the archive's own regular files, never a link into
/// the server; devices only where a root keeps them; a size cap.
struct ImageImportTests {
    struct Fixture {
        let dir: String
        let store: ImageStore
        let secret: String

        init(_ name: String) throws {
            dir = try makeTempDir(name)
            let config = try tempSiteConfig(dir)
            store = ImageStore(config: config, image: "default")
            secret = dir + "/api.token"
            try FileSystem.writeAtomically(Data("SECRET-TOKEN\n".utf8), to: secret, mode: 0o600)
            try FakeGeneration.write(store, GenerationID(number: 1), files: ["etc/os-release": "ID=debian\n"], initrd: FakeGeneration.goodInitrd)
        }

        /// An export of g1, after `change` edits a copy of its directory.
        func archive(_ name: String, _ change: (String) throws -> Void = { _ in }) throws -> String {
            let copy = dir + "/export-" + name
            try FileManager.default.copyItem(atPath: store.generationDir(GenerationID(number: 1)), toPath: copy)
            try change(copy)
            let file = dir + "/" + name + ".tar.zst"
            try ImageArchive.pack(copy, to: file)
            return file
        }

        /// Imports `file`, expecting a refusal naming `entry`; then checks nothing changed.
        func expectRefused(_ file: String, naming entry: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectRefusedAfter(1, file, naming: entry, sourceLocation: sourceLocation)
        }

        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    @Test func aGoodExportImportsAndTheImagesDirectoryIsRootsOnly() throws {
        let f = try Fixture("import-ok")
        defer { f.remove() }
        let id = try f.store.importArchive(try f.archive("good"), activate: true)
        #expect(id.number == 2 && f.store.generations().active == id)
        for published in f.store.publishedDirs(id) {
            #expect(FileManager.default.contents(atPath: published + "/vmlinuz") == Data(repeating: 7, count: 4096))
        }
        var st = stat()
        #expect(stat(f.store.config.imagesDir, &st) == 0 && st.st_mode & 0o7777 == 0o700, "images/ is \(String(st.st_mode & 0o7777, radix: 8))")
    }

    @Test(arguments: ["vmlinuz", "initrd.img", "meta.json", Paths.rootImageName])
    func aTopLevelFileThatIsALinkIsRefusedAndNothingLeaks(_ name: String) throws {
        let f = try Fixture("import-link")
        defer { f.remove() }
        let file = try f.archive("link") { copy in
            try? FileManager.default.removeItem(atPath: copy + "/" + name)
            try FileManager.default.createSymbolicLink(atPath: copy + "/" + name, withDestinationPath: f.secret)
        }
        f.expectRefused(file, naming: "\"\(name)\" is not a regular file")
        // The secret is nowhere under the published trees.
        for root in [f.store.config.httpRoot, f.store.config.tftpRoot] {
            let e = FileManager.default.enumerator(atPath: root)
            while let rel = e?.nextObject() as? String {
                #expect(FileManager.default.contents(atPath: root + "/" + rel) != Data("SECRET-TOKEN\n".utf8), "\(root)/\(rel) holds the secret")
            }
        }
    }

    @Test func aHardLinkOutOfTheRootAndAStrayTopLevelEntryAreRefused() throws {
        let f = try Fixture("import-stray")
        defer { f.remove() }
        f.expectRefused(try f.archive("stray") { copy in
            try FileSystem.writeAtomically(Data("#!/bin/sh\n".utf8), to: copy + "/run-me.sh", mode: 0o755)
        }, naming: "\"run-me.sh\" is not part of an image export")
        // The root itself a link (to the server's /): its files would be the server's.
        f.expectRefused(try f.archive("root-link") { copy in
            try FileManager.default.removeItem(atPath: copy + "/root")
            try FileManager.default.createSymbolicLink(atPath: copy + "/root", withDestinationPath: "/")
        }, naming: "\"root\" is not a directory")
        f.expectRefused(try f.archive("hardlink") { copy in
            try FileManager.default.removeItem(atPath: copy + "/vmlinuz")
            #expect(link(copy + "/root/etc/os-release", copy + "/vmlinuz") == 0)
        }, naming: "vmlinuz")
    }

    @Test(.enabled(if: getuid() == 0, "mknod needs root"))
    func deviceNodesOnlyUnderTheRootsDev() throws {
        let f = try Fixture("import-dev")
        defer { f.remove() }
        // /dev/null's own numbers (1, 3) in the root's dev/: what a root holds.
        let ok = try f.archive("dev-ok") { copy in
            try FileSystem.makeDirectory(copy + "/root/dev")
            #expect(mknod(copy + "/root/dev/null", S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0)
        }
        #expect(try f.store.importArchive(ok, activate: false).number == 2)
        // The same device anywhere else in the root is a way in (a block device of the server's disk would be worse).
        f.expectRefusedAfter(2, try f.archive("dev-bad") { copy in
            #expect(mknod(copy + "/root/etc/disk", S_IFBLK | 0o666, dev_t(8 << 8)) == 0)
        }, naming: "\"root/etc/disk\" is a device node outside root/dev")
        // A hard link does not say what it links to: one to a device is refused too.
        f.expectRefusedAfter(2, try f.archive("dev-link") { copy in
            try FileSystem.makeDirectory(copy + "/root/dev")
            #expect(mknod(copy + "/root/dev/sda", S_IFBLK | 0o660, dev_t(8 << 8)) == 0)
            #expect(link(copy + "/root/dev/sda", copy + "/root/etc/disk") == 0)
        }, naming: "\"root/etc/disk\" is a")
    }

    @Test func moreDataThanTheCapIsRefused() throws {
        let f = try Fixture("import-cap")
        defer { f.remove() }
        let file = try f.archive("big")
        try FileSystem.makeDirectory(f.dir + "/out")
        var rules = ImageArchive.Rules.imageExport
        rules.maxBytes = 1000
        let error = #expect(throws: ValidationError.self) { try ImageArchive.unpack(file, into: f.dir + "/out", rules: rules) }
        #expect(error?.description.contains("more than") == true, "\(String(describing: error))")
        rules.maxBytes = 1 << 20
        #expect(try ImageArchive.unpack(file, into: f.dir + "/out", rules: rules) > 0)
    }
}

extension ImageImportTests.Fixture {
    /// As `expectRefused`, when generations 1...`last` exist.
    func expectRefusedAfter(_ last: Int, _ file: String, naming entry: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: ValidationError.self, sourceLocation: sourceLocation) { try store.importArchive(file, activate: true) }
        #expect(error?.description.contains(entry) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
        #expect(store.generations().ids.map(\.number) == Array(1...last), sourceLocation: sourceLocation)
        #expect(store.partialBuilds().isEmpty, sourceLocation: sourceLocation)
        for published in store.publishedDirs(GenerationID(number: last + 1)) {
            #expect(!FileManager.default.fileExists(atPath: published), "\(published) published", sourceLocation: sourceLocation)
        }
    }
}
