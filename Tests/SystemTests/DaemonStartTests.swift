import Foundation
import ProvisionerAPI
import ProvisionerBoot
import ProvisionerLab
import ProvisionerPlatform
import ProvisionerSite
import Testing
import TestSupport

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
        let namespace = VirtualLab(home: home).namespace
        #expect(!FileSystem.list("/run/netns").contains(namespace), "lab up left its namespace \(namespace) behind")
        #expect(VirtualLab(home: home).state() == nil)

        // With the fix applied, the same check passes.
        chmod(home, 0o711)
        let config = try Site(home: home).loadConfig()
        #expect(DnsmasqService(config: config).tftpRootProblem() == nil)
    }

    /// A `lab up` that fails after its network exists (here: the node
    /// controller given for the image is not a program) stops what it started
    /// and removes its namespace, and says so; with --keep-on-failure it
    /// leaves the lab for a look until `lab down`.
    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func aFailedLabUpLeavesNothingBehindUnlessAskedTo() throws {
        let home = NSTemporaryDirectory() + "provisioner-labfail-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let lab = VirtualLab(home: home)
        let args = ["lab", "up", "--home", home, "--nodes", "1", "--node-controller", home + "/no-such-controller", "--cache", home + "/cache"]
        let r = try CLI.run(args)
        #expect(r.status == FailureKind.invalidInput.exitCode, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("no-such-controller") && r.stderr.contains("cleaned up:") && r.stderr.contains("removed namespace \(lab.namespace)"), "\(r.stderr)")
        #expect(!FileSystem.list("/run/netns").contains(lab.namespace), "namespace \(lab.namespace) left behind")
        #expect(lab.state() == nil, "lab.json left behind")

        let kept = try CLI.run(args + ["--keep-on-failure"])
        #expect(kept.status != 0 && kept.stderr.contains("stays up for a look"), "\(kept.stderr)")
        #expect(FileSystem.list("/run/netns").contains(lab.namespace), "--keep-on-failure removed the namespace")
        let down = try CLI.run(["lab", "down", "--home", home])
        #expect(down.status == 0 && down.stderr.contains("removed namespace \(lab.namespace)"), "\(down.stdout)\(down.stderr)")
        #expect(!FileSystem.list("/run/netns").contains(lab.namespace))
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
