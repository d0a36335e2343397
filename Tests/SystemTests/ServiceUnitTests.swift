import Foundation
import Testing
import TestSupport

extension SystemTests {
/// serve's systemd unit, as `make install` renders it, passes systemd's own
/// check, and keeps its least-privilege settings.
struct ServiceUnitTests {
    static let analyze = "/usr/bin/systemd-analyze"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "needs systemd-analyze (Debian systemd)"))
    func theUnitPassesSystemdsCheckAndDropsPrivileges() throws {
        let dir = try makeTempDir("unit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let binDir = (CLI.binary as NSString).deletingLastPathComponent
        let unit = try String(contentsOfFile: ServiceUnit.path, encoding: .utf8).replacingOccurrences(of: "@BINDIR@", with: binDir)
        try unit.write(toFile: dir + "/provisioner.service", atomically: true, encoding: .utf8)
        let r = try runProcess(Self.analyze, ["verify", "--man=no", dir + "/provisioner.service"])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stdout)\(r.stderr)")

        // What the security section of the README promises.
        #expect(try ServiceUnit.values("NoNewPrivileges") == ["yes"])
        #expect(try ServiceUnit.values("ProtectSystem") == ["strict"])
        #expect(try ServiceUnit.values("ProtectHome") == ["yes"])
        let caps = Set(try ServiceUnit.values("CapabilityBoundingSet").flatMap { $0.split(separator: " ").map(String.init) })
        #expect(!caps.isEmpty && caps.isDisjoint(with: ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_MKNOD"]), "\(caps)")
        // Every default path of the site config that serve or apply writes is writable.
        let writable = try ServiceUnit.values("ReadWritePaths").flatMap { $0.split(separator: " ").map { String($0.drop(while: { $0 == "-" })) } }
        for path in ["/var/lib/provisioner", "/srv/tftp", "/srv/provisioner", "/run", "/etc/dnsmasq.d", "/etc/ganesha", "/var/cache/provisioner"] {
            #expect(writable.contains(path), "\(path) is not in ReadWritePaths")
        }
    }
}
}
