import Foundation
import ProvisionerAPI
import Testing
import TestSupport

/// The real image pipeline: mmdebstrap against the Debian mirror apt uses,
/// the base-root cache, verify, a build killed midway, rollback, rm,
/// export/import. One suite, in order: each step builds on the last.
extension SystemTests {
@Suite(.serialized) struct ImageBuildTests {
    /// Shared across test runs on this machine, so only the first run downloads and installs.
    static let cache = "/var/tmp/provisioner-test-cache"

    static var unavailableReason: String? {
        if getuid() != 0 { return "needs root (mmdebstrap --mode=root)" }
        for tool in ["/usr/bin/mmdebstrap", "/usr/bin/zstd"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "needs \(tool) (make deps)"
        }
        if hostMirror() == nil { return "no Debian mirror in /etc/apt/sources.list.d/debian.sources" }
        return nil
    }

    /// The mirror apt uses on this machine.
    static func hostMirror() -> String? {
        for file in ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let l = line.trimmingCharacters(in: .whitespaces)
                if l.hasPrefix("URIs:"), let uri = l.dropFirst(5).split(separator: " ").first, !uri.contains("security") { return String(uri) }
                if l.hasPrefix("deb "), let uri = l.split(separator: " ").dropFirst().first(where: { $0.hasPrefix("http") }), !uri.contains("security") { return String(uri) }
            }
        }
        return nil
    }

    /// The static node controller (`make node-controller`).
    static var nodeController: String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = root.appendingPathComponent(".build-nc/release/node-controller").path
        return FileManager.default.isExecutableFile(atPath: p) ? p : nil
    }

    @Test(.enabled(if: unavailableReason == nil, "\(unavailableReason ?? "")"), .timeLimit(.minutes(20)))
    func buildVerifyKillRollbackExportImport() throws {
        let dir = NSTemporaryDirectory() + "provisioner-image-\(UUID().uuidString)"
        let init0 = try CLI.run(["init", "--home", dir, "--mirror", try #require(Self.hostMirror()), "--interface", "eth0",
                                 "--server-ip", "10.97.0.1", "--subnet", "10.97.0.0/24", "--dhcp-range", "10.97.0.200-10.97.0.220"])
        try #require(init0.status == 0, "\(init0.stderr)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let home = Home(existing: dir)
        // Point the cache at the shared one.
        var yaml = try String(contentsOfFile: home.config, encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "cache: \(dir)/cache", with: "cache: \(Self.cache)")
        try yaml.write(toFile: home.config, atomically: true, encoding: .utf8)
        try #require(try home.run(["node", "add", "n1", "--mac", "02:97:00:00:00:01"]).status == 0)
        try #require(try home.run(["apply"]).status == 0)
        let controller = try #require(Self.nodeController, "build the static node controller first: make node-controller")

        // 1. A build, from the cache if an earlier run left one.
        let b1 = try home.run(["image", "build", "--node-controller", controller])
        try #require(b1.status == 0, "build failed:\n\(b1.stderr.suffix(3000))")
        #expect(b1.stdout.contains("built default g1") && b1.stdout.contains("active generation: g1"), "\(b1.stdout)")
        #expect(b1.stderr.contains("customizing"), "progress phases on stderr: \(b1.stderr.prefix(2000))")
        let list = try home.run(["image", "list", "--json"])
        #expect(list.objects.contains { $0["generation"] as? String == "g1" && $0["active"] as? Bool == true }, "\(list.stdout)")
        let pxe = dir + "/tftp/pxelinux.cfg/01-02-97-00-00-00-01"
        #expect(try String(contentsOfFile: pxe, encoding: .utf8).contains("images/default/g1/vmlinuz"), "boot files name g1")

        // 2. Verify: every check but NFS (no server runs here; the serve test reads the export through libnfs).
        let v = try home.run(["image", "verify", "--json"])
        #expect(v.status == 0, "verify:\n\(v.stdout)\(v.stderr)")
        for check in ["initrd: NFS boot script", "initrd: overlay module", "initrd: overlay script", "no /etc/hostname", "node controller runs in the root"] {
            #expect((v.object["checks"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == check && $0["result"] as? String == "ok" },
                    "check \(check): \(v.stdout)")
        }
        let kernelBefore = FileManager.default.contents(atPath: dir + "/http/images/default/g1/vmlinuz")
        #expect((kernelBefore?.count ?? 0) > 1_000_000)

        // 3. A build killed midway (no cache: it runs mmdebstrap) leaves the live generation and boot files as they were.
        let killed = try Background([CLI.binary, "image", "build", "--home", dir, "--no-cache", "--node-controller", controller], log: dir + "/killed.log")
        let partial = dir + "/images/default/.build-g2/root"
        let started = waitFor(120) { FileManager.default.fileExists(atPath: partial + "/var/lib/dpkg") }
        #expect(started, "the second build did not start: \(killed.output)")
        usleep(3_000_000)
        _ = killed.stop(SIGKILL, seconds: 10)
        #expect(waitFor(30) { (try? runProcess("/usr/bin/pgrep", ["-f", "mmdebstrap.*build-g2"]))?.status != 0 }, "mmdebstrap outlived the killed build")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/images/default/current") == "g1")
        #expect(FileManager.default.contents(atPath: dir + "/http/images/default/g1/vmlinuz") == kernelBefore)
        #expect(try String(contentsOfFile: pxe, encoding: .utf8).contains("images/default/g1/vmlinuz"))
        #expect(try home.run(["image", "verify"]).status == 0, "g1 still verifies after the kill")

        // 4. The next build removes the leftover and builds from the cache, as g3:
        //    ids are never reused (ganesha caches paths it served).
        let b3 = try home.run(["image", "build", "--node-controller", controller])
        try #require(b3.status == 0, "\(b3.stderr.suffix(3000))")
        #expect(b3.stderr.contains(".build-g2, left by a build that did not finish"), "\(b3.stderr.prefix(1500))")
        #expect(b3.stdout.contains("built default g3") && b3.stdout.contains("base root from cache"), "\(b3.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/images/default/.build-g2/root"))
        #expect(try String(contentsOfFile: pxe, encoding: .utf8).contains("images/default/g3/vmlinuz"))

        // 5. Rollback, then rm: never the active one.
        let rb = try home.run(["image", "rollback"])
        #expect(rb.status == 0 && rb.stdout.contains("g3 → g1"), "\(rb.stdout)\(rb.stderr)")
        #expect(try String(contentsOfFile: pxe, encoding: .utf8).contains("images/default/g1/vmlinuz"))
        let rmActive = try home.run(["image", "rm", "g1"])
        #expect(rmActive.status == FailureKind.conflict.exitCode && rmActive.stderr.contains("is active"), "\(rmActive.stderr)")
        #expect(try home.run(["image", "activate", "g3"]).status == 0)

        // 6. Export g3 and import it back as g4 (libarchive both ways).
        let archive = dir + "/g3.tar.zst"
        let ex = try home.run(["image", "export", "g3", archive])
        #expect(ex.status == 0, "\(ex.stderr)")
        let im = try home.run(["image", "import", archive])
        #expect(im.status == 0 && im.stdout.contains("as default g4"), "\(im.stdout)\(im.stderr)")
        #expect(try home.run(["image", "verify", "g4"]).status == 0, "the imported generation verifies")
        let rm = try home.run(["image", "rm", "g1"])
        #expect(rm.status == 0, "\(rm.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/images/default/g1") && !FileManager.default.fileExists(atPath: dir + "/http/images/default/g1"))
    }
}
}
