import Foundation
import ProvisionerServices
import Testing

extension SystemTests {
/// When a boot daemon cannot start, the operator reads why (the daemon's own
/// words, or the permission and its fix) and nothing is left running.
@Suite(.serialized) struct DaemonStartTests {
    /// `lab up --home "$(mktemp -d)"`: a 0700 home that dnsmasq's user cannot
    /// enter. It fails before anything starts, naming the TFTP root and the
    /// fix, and leaves no namespace.
    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func labUpOnAPrivateHomeNamesTheTFTPRootAndTheFix() throws {
        let home = NSTemporaryDirectory() + "provisioner-private-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: home) }
        let r = try CLI.run(["lab", "up", "--home", home, "--nodes", "1", "--timeout", "30"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("TFTP root \(home)/tftp") && r.stderr.contains("chmod o+x \(home)"), "\(r.stderr)")
        let namespace = Lab(home: home).namespace
        #expect(!FileSystem.list("/run/netns").contains(namespace), "lab up left its namespace \(namespace) behind")
        #expect(Lab(home: home).state() == nil)

        // With the fix applied, the same check passes.
        chmod(home, 0o711)
        let config = try Site(home: home).loadConfig()
        #expect(DnsmasqService(config: config).tftpRootProblem() == nil)
    }

    /// serve whose dnsmasq dies at start (an interface that does not exist)
    /// quotes dnsmasq's own reason, exits non-zero and leaves no daemon.
    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func serveQuotesDnsmasqsReasonWhenItDiesAtStart() throws {
        let ns = "pvd-\(UUID().uuidString.prefix(6).lowercased())"
        _ = try runProcess("/usr/sbin/ip", ["netns", "add", ns])
        defer { _ = try? runProcess("/usr/sbin/ip", ["netns", "del", ns]) }
        _ = try runProcess("/usr/sbin/ip", ["-n", ns, "link", "set", "lo", "up"])
        let home = try Home(["--interface", "nosuch0", "--server-ip", "127.0.0.1", "--subnet", "127.0.0.0/24", "--dhcp-range", "127.0.0.200-127.0.0.220"])
        defer { try? FileManager.default.removeItem(atPath: home.dir) }
        try Site(home: home.dir).setConfigValue("nfs.server", to: "none")
        let apply = try home.run(["apply"])
        try #require(apply.status == 0, "\(apply.stderr)")
        let serve = try runProcess("/usr/sbin/ip", ["netns", "exec", ns, CLI.binary, "serve", "--home", home.dir])
        #expect(serve.status == 1)
        #expect(serve.stderr.contains("dnsmasq exited at once") && serve.stderr.contains("nosuch0"), "\(serve.stderr)")
        let left = try runProcess("/usr/sbin/ip", ["netns", "pids", ns])
        #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "processes left in the namespace: \(left.stdout)")
    }
}
}
