import Foundation
import ProvisionerAPI
import ProvisionerCore
import Testing
import TestSupport
@testable import ProvisionerImages
@testable import ProvisionerPlatform

/// A root builder that does what its test says: writes part of a root and
/// fails, or writes a root the later steps can (or cannot) use. The real
/// mmdebstrap build runs in SystemTests; these drive the builder's failure
/// paths, which a real build reaches only by luck.
private struct ScriptedRootBuilder: RootBuilder {
    let script: @Sendable (String) throws -> Void
    func build(root: String, packages: [String], config: SiteConfig, essentialHook: String,
               environment: [String: String], aptCache: String, events: (BuildEvent) -> Void) throws {
        try script(root)
    }
}

private struct HalfWay: Error {}

/// Each failure leaves the live generation active, no new generation listed,
/// no partial directory and nothing published; each test first proves the
/// same set-up can succeed, so a failure is the step's and not the fixture's.
struct ImageBuilderFailureTests {
    struct Fixture {
        let dir: String
        let config: SiteConfig
        let store: ImageStore
        let rootfs: String

        init(_ name: String, customize: String = "#!/bin/sh\nset -e\necho customizing \"$1\"\ntouch \"$1/etc/customized\"\n") throws {
            dir = try makeTempDir(name)
            config = try tempSiteConfig(dir)
            store = ImageStore(config: config, image: "default")
            rootfs = dir + "/rootfs"
            try FileSystem.makeDirectory(rootfs + "/packages")
            try FileSystem.makeDirectory(rootfs + "/hooks")
            try FileSystem.writeAtomically(Data("systemd\nlinux-image-amd64\n".utf8), to: rootfs + "/packages/base.list", mode: 0o644)
            try FileSystem.writeAtomically(Data(customize.utf8), to: rootfs + "/hooks/customize.sh", mode: 0o755)
            try FakeGeneration.write(store, GenerationID(number: 1), files: ["etc/os-release": "ID=debian\n"], initrd: FakeGeneration.goodInitrd)
            try store.activate(GenerationID(number: 1))
        }

        func request() -> ImageBuildRequest {
            ImageBuildRequest(config: config, image: "default", rootfsDir: rootfs, siteFiles: [], nodeController: nil, sshKeys: nil,
                              useCache: false, activate: true, now: "2026-12-07T00:00:00Z")
        }

        func build(_ script: @escaping @Sendable (String) throws -> Void) throws -> (GenerationMeta, [BuildEvent]) {
            var events: [BuildEvent] = []
            let meta = try ImageBuilder(builder: ScriptedRootBuilder(script: script)).build(request()) { events.append($0) }
            return (meta, events)
        }

        /// The store as a failed build must leave it.
        func expectUntouched(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
            let set = store.generations()
            #expect(set.active?.number == 1, comment, sourceLocation: sourceLocation)
            #expect(set.ids.map(\.number) == [1], comment, sourceLocation: sourceLocation)
            #expect(store.partialBuilds().isEmpty, "a partial build was left", sourceLocation: sourceLocation)
            for n in 2...4 {
                for published in store.publishedDirs(GenerationID(number: n)) {
                    #expect(!FileManager.default.fileExists(atPath: published), "\(published) was published", sourceLocation: sourceLocation)
                }
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// A root with a kernel and an initrd, what the later steps need.
    static let bootableRoot: @Sendable (String) throws -> Void = { root in
        try FileSystem.makeDirectory(root + "/boot")
        try FileSystem.makeDirectory(root + "/etc")
        try FileSystem.writeAtomically(Data("kernel".utf8), to: root + "/boot/vmlinuz-6.1.0-test", mode: 0o644)
        try FileSystem.writeAtomically(FakeGeneration.cpio(FakeGeneration.goodInitrd), to: root + "/boot/initrd.img-6.1.0-test", mode: 0o644)
    }

    @Test func aBootableRootBecomesTheActiveGeneration() throws {
        let f = try Fixture("build-ok")
        defer { f.remove() }
        let (meta, events) = try f.build(Self.bootableRoot)
        #expect(meta.id.number == 2 && meta.kernelVersion == "6.1.0-test")
        #expect(f.store.generations().active?.number == 2)
        #expect(FileManager.default.fileExists(atPath: f.store.rootDir(meta.id) + "/etc/customized"))
        #expect(events.contains { if case .output(let line) = $0 { line.hasPrefix("customizing ") } else { false } })
        #expect(f.store.partialBuilds().isEmpty)
    }

    @Test func aBuilderThatFailsHalfWayLeavesNothingBehind() throws {
        let f = try Fixture("build-halfway")
        defer { f.remove() }
        #expect(throws: HalfWay.self) {
            try f.build { root in
                try Self.bootableRoot(root)
                try FileSystem.makeDirectory(root + "/usr/lib/half")
                throw HalfWay()
            }
        }
        f.expectUntouched()
        // The failed build's id is not handed out again.
        let (meta, _) = try f.build(Self.bootableRoot)
        #expect(meta.id.number == 3)
    }

    @Test func aRootWithoutAKernelOrInitrdIsRefused() throws {
        let f = try Fixture("build-nokernel")
        defer { f.remove() }
        let noKernel = #expect(throws: SystemError.self) { try f.build { root in try FileSystem.makeDirectory(root + "/etc") } }
        #expect(noKernel?.description.contains("has no kernel") == true, "\(String(describing: noKernel))")
        f.expectUntouched()
        let noInitrd = #expect(throws: SystemError.self) {
            try f.build { root in
                try Self.bootableRoot(root)
                try FileManager.default.removeItem(atPath: root + "/boot/initrd.img-6.1.0-test")
            }
        }
        #expect(noInitrd?.description.contains("no initrd for kernel 6.1.0-test") == true, "\(String(describing: noInitrd))")
        f.expectUntouched()
    }

    @Test func aFailingCustomizeHookIsReportedWithItsOutput() throws {
        let f = try Fixture("build-hook", customize: "#!/bin/sh\necho 'E: overlay/etc/fstab: missing'\nexit 3\n")
        defer { f.remove() }
        let error = #expect(throws: SystemError.self) { try f.build(Self.bootableRoot) }
        let text = error?.description ?? ""
        #expect(text.contains("hooks/customize.sh) failed with status 3") && text.contains("E: overlay/etc/fstab: missing"), "\(text)")
        f.expectUntouched()
    }

    @Test func aBuildWhileAnotherHoldsTheImageIsBusyAndChangesNothing() throws {
        let f = try Fixture("build-busy")
        defer { f.remove() }
        _ = try f.store.withLock {
            #expect(throws: BusyError.self) { try f.build(Self.bootableRoot) }
        }
        f.expectUntouched()
    }

    @Test func aDeadBuildsLeftoversAreRemovedWithAWarning() throws {
        let f = try Fixture("build-leftover")
        defer { f.remove() }
        let dead = try f.store.allocateID()
        try FileSystem.makeDirectory(f.store.partialDir(dead) + "/root/usr")
        let (meta, events) = try f.build(Self.bootableRoot)
        #expect(meta.id.number == dead.number + 1)
        #expect(events.contains { if case .warning(let w) = $0 { w.contains(".build-\(dead)") } else { false } }, "\(events)")
        #expect(f.store.partialBuilds().isEmpty)
    }
}
