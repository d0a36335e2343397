import Foundation
import ProvisionerPlatform
import ProvisionerSite
import Testing
import TestSupport

/// Why the kernel-NFS test cannot run here, or nil.
let kernelNFSUnavailable: String? = {
    if getuid() != 0 { return "needs root for a private mount namespace" }
    if ProcessRunner.which("exportfs") == nil { return "needs exportfs (nfs-kernel-server; `make deps` installs it)" }
    if ProcessRunner.which("unshare") == nil { return "needs unshare (util-linux)" }
    return nil
}()

extension SystemTests {
/// The kernel NFS server backend, on a host whose kernel has no nfsd (as
/// here): `provisioner apply` renders the exports and the real `exportfs`
/// reads them, in a private mount namespace where /etc and /var/lib/nfs are
/// the test's own (the host's files are never touched).
@Suite(.serialized) struct KernelNFSTests {
    /// Runs `script` with /etc (copied: passwd, group, nfs.conf) and
    /// /var/lib/nfs replaced by the test's, the home's exports dir as /etc/exports.d.
    func inPrivateMounts(_ home: Home, _ script: String) throws -> CLI.Result {
        let etc = home.dir + "/fake-etc", lib = home.dir + "/fake-var-lib-nfs"
        try FileManager.default.createDirectory(atPath: etc + "/exports.d", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: lib, withIntermediateDirectories: true)
        for f in ["passwd", "group", "nsswitch.conf", "nfs.conf"] where FileManager.default.fileExists(atPath: "/etc/" + f) {
            try FileManager.default.copyItem(atPath: "/etc/" + f, toPath: etc + "/" + f)
        }
        try #require(FileManager.default.createFile(atPath: etc + "/exports", contents: Data()))
        let exportsDir = home.dir + "/etc/exports.d"
        try FileManager.default.createDirectory(atPath: exportsDir, withIntermediateDirectories: true)
        let mounts = "mount --bind \(etc) /etc && mount --bind \(exportsDir) /etc/exports.d && mount --bind \(lib) /var/lib/nfs"
        return try runProcess(ProcessRunner.which("unshare") ?? "/usr/bin/unshare", ["-m", "sh", "-c", "\(mounts) && \(script)"])
    }

    @Test(.enabled(if: kernelNFSUnavailable == nil, "\(kernelNFSUnavailable ?? "")"))
    func renderedExportsAreReadOnlyToTheSubnetAsExportfsReadsThem() throws {
        let home = try Home(["--interface", "eth1", "--server-ip", "10.97.0.1", "--subnet", "10.97.0.0/24", "--dhcp-range", "10.97.0.200-10.97.0.220"])
        defer { try? FileManager.default.removeItem(atPath: home.dir) }
        try Site(home: home.dir).setConfigValue("nfs.server", to: "kernel")
        try FileManager.default.createDirectory(atPath: home.dir + "/images", withIntermediateDirectories: true)
        let r = try inPrivateMounts(home, "\(CLI.binary) apply --home \(home.dir) >/dev/null && exportfs -ra && exportfs -v")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "exportfs complained: \(r.stderr)")
        // `exportfs -v`: each path, then its client and options (on the next line when the path is long).
        let exported = r.stdout.split(separator: "\n").filter { $0.hasPrefix("/") }.map { $0.split(separator: " ")[0].trimmingCharacters(in: .whitespaces) }
        #expect(exported == [home.dir + "/images"], "only the images are exported: \(r.stdout)")
        let clients = r.stdout.split(whereSeparator: { $0 == "\n" || $0 == "\t" || $0 == " " }).filter { $0.contains("(") }
        #expect(clients.count == 1 && clients[0].hasPrefix("10.97.0.0/24(") && clients[0].contains(",ro,"), "read-only to the node subnet only: \(r.stdout)")
        // The host's own files are as they were.
        #expect(!FileManager.default.fileExists(atPath: "/etc/exports.d/provisioner.exports"))
    }

    /// What our own exports check refuses, the real exportfs refuses too.
    @Test(.enabled(if: kernelNFSUnavailable == nil, "\(kernelNFSUnavailable ?? "")"),
          arguments: ["/srv/x 10.0.0.0/24", "/srv/x 10.0.0.0/24(no_subtree_check", "/srv/x 10.0.0.0/24(bogus_keyword,ro)"])
    func badExportLinesAreRefusedByExportfs(line: String) throws {
        let home = Home(existing: NSTemporaryDirectory() + "provisioner-exports-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: home.dir + "/etc/exports.d", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home.dir) }
        try (line + "\n").write(toFile: home.dir + "/etc/exports.d/bad.exports", atomically: true, encoding: .utf8)
        let r = try inPrivateMounts(home, "exportfs -ra")
        #expect(r.status != 0 || r.stderr.contains("bad.exports"), "exportfs took \(quotedLine(line)): \(r.stderr)")
    }

    func quotedLine(_ s: String) -> String { "\"\(s)\"" }
}
}
