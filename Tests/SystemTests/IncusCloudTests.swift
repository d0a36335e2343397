import Foundation
import NodeControllerKit
import ProvisionerAPI
import ProvisionerPlatform
import Testing
import TestSupport

extension SystemTests {
/// The cloud with real Incus daemons on the host (one `INCUS_DIR` and
/// loopback address each, in a namespace of their own): the provisioning
/// server's incusd made the first member by `cloud init`, nodes joined with
/// tokens minted for them and the node controller's joiner on their own
/// daemon's socket, a wiped node rejoining under its name, a live member
/// never removed, the quorum guard, and `cloud attach` with a trust token
/// (a wrong one writes nothing). The real `incus` client is the oracle.
@Suite(.serialized) struct IncusCloudTests {
    @Test(.enabled(if: IncusTestCluster.unavailableReason == nil, "\(IncusTestCluster.unavailableReason ?? "")"))
    func nodesJoinRejoinAndTheRulesHold() async throws {
        let cluster = try IncusTestCluster()
        defer { cluster.close() }
        let step = StepClock("incus cloud test")
        for i in 1...3 { try cluster.start(i) }
        let home = try Home(["--interface", "pv0", "--server-ip", "10.93.0.1", "--subnet", "10.93.0.0/24", "--dhcp-range", "10.93.0.200-10.93.0.220"])
        func provisioner(_ args: [String], home: Home = home) throws -> CLI.Result {
            try cluster.exec([CLI.binary] + args + ["--home", home.dir])
        }
        func members() throws -> [String: String] {
            let list = try cluster.incus(1, ["cluster", "list", "-f", "csv"]).stdout.split(separator: "\n")
            return Dictionary(list.map { line in
                let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                return (fields[0], fields.count > 6 ? fields[fields.count - 2] : "?")
            }, uniquingKeysWith: { a, _ in a })
        }

        step("cloud init: the provisioning server's incusd is the first member")
        let initialized = try provisioner(["cloud", "init", "--socket", cluster.socket(1), "--address", cluster.address(1), "--name", "boot1", "--json"])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        #expect(initialized.object["members"] as? [String] == ["boot1"], "\(initialized.stdout)")
        let pinned = try #require(initialized.object["fingerprint"] as? String)
        #expect(pinned == SiteTLS.fingerprint(pem: try String(contentsOfFile: cluster.dir(1) + "/cluster.crt", encoding: .utf8)), "the pin is the cluster's certificate")
        var st = stat()
        #expect(stat(home.dir + "/cloud/client.key", &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(try cluster.incus(1, ["config", "trust", "list", "-f", "csv"]).stdout.contains("provisioner"), "the server's certificate is trusted")
        // Offline is noticed after 11 s here (20 s by default; more than 10), so the rejoin below waits less.
        try #require(try cluster.incus(1, ["config", "set", "cluster.offline_threshold", "11"]).status == 0)
        let status = try provisioner(["cloud", "status", "--json"])
        #expect(status.objects.first?["name"] as? String == "boot1" && status.objects.first?["status"] as? String == "ONLINE"
                && (status.objects.first?["cpus"] as? Int ?? 0) > 0, "\(status.stdout)\(status.stderr)")

        step("a node joins with a token minted for it")
        func mint(_ name: String, _ i: Int, persist: String = "disk") throws -> CLI.Result {
            try provisioner(["cloud", "join-token", name, "--address", cluster.address(i), "--persist", persist])
        }
        let minted = try mint("n2", 2)
        try #require(minted.status == 0, "\(minted.stderr)")
        let join = try JSONDecoder().decode(CloudJoin.self, from: Data(minted.stdout.utf8))
        #expect(join.clusterAddress == cluster.address(1) && join.serverAddress == cluster.address(2))
        #expect(SiteTLS.fingerprint(pem: join.clusterCertificate) == pinned)
        let joiner = IncusJoiner(socket: cluster.socket(2))
        var started = ContinuousClock.now
        try await joiner.join(join)
        print("n2 joined in \(ContinuousClock.now - started)")
        #expect(try members()["n2"] == "ONLINE", "\((try? cluster.incus(1, ["cluster", "list"]).stdout) ?? "")")
        #expect(try await joiner.memberName() == "n2")
        try await joiner.join(join)  // again: already that member, nothing to do

        step("a live member is never removed to let a boot join")
        let live = try mint("n2", 3)
        #expect(live.status != 0 && live.stderr.contains("n2 is ONLINE"), "\(live.stdout)\(live.stderr)")
        #expect(try members()["n2"] == "ONLINE")

        step("the quorum guard")
        let guarded = try mint("n3", 3, persist: "none")
        #expect(guarded.status != 0 && guarded.stderr.contains("at least three online database members"), "\(guarded.stderr)")
        #expect(try members()["n3"] == nil)

        step("a node wiped (a diskless reboot) rejoins under its name")
        try cluster.wipe(2)
        try cluster.start(2)
        #expect(waitFor(40, every: 1) { (try? members())?["n2"] == "OFFLINE" }, "n2 was not seen OFFLINE: \((try? cluster.incus(1, ["cluster", "list"]).stdout) ?? "")")
        started = ContinuousClock.now
        let again = try mint("n2", 2)
        try #require(again.status == 0, "\(again.stderr)")
        try await IncusJoiner(socket: cluster.socket(2)).join(try JSONDecoder().decode(CloudJoin.self, from: Data(again.stdout.utf8)))
        print("n2 rejoined (removed, minted, joined) in \(ContinuousClock.now - started)")
        #expect(try members()["n2"] == "ONLINE", "\((try? cluster.incus(1, ["cluster", "list"]).stdout) ?? "")")

        step("cloud attach with a trust token")
        let other = try Home(["--interface", "pv0", "--server-ip", "10.93.1.1", "--subnet", "10.93.1.0/24", "--dhcp-range", "10.93.1.200-10.93.1.220"])
        let configBefore = try String(contentsOfFile: other.dir + "/provisioner.yaml", encoding: .utf8)
        let issued = try cluster.incus(1, ["config", "trust", "add", "provisioner-b", "--quiet"])
        let trust = try #require(issued.stdout.split(separator: "\n").last.map(String.init), "\(issued.stderr)")
        // A token naming another certificate: someone in between, or another cluster. Nothing is written.
        var forged = try #require(try JSONSerialization.jsonObject(with: Data(base64Encoded: trust)!) as? [String: Any])
        forged["fingerprint"] = String(repeating: "ab", count: 32)
        let forgedToken = try JSONSerialization.data(withJSONObject: forged).base64EncodedString()
        let refused = try provisioner(["cloud", "attach", "incus", "https://\(cluster.address(1))", "--trust-token", forgedToken], home: other)
        #expect(refused.status != 0 && refused.stderr.contains("is not the one the trust token names"), "\(refused.stderr)")
        // An address where nothing answers (daemon 3 is no member and does not listen).
        let nobody = try provisioner(["cloud", "attach", "incus", "https://\(cluster.address(3))", "--trust-token", trust], home: other)
        #expect(nobody.status != 0 && nobody.stderr.contains("cannot be reached"), "\(nobody.stderr)")
        #expect(try String(contentsOfFile: other.dir + "/provisioner.yaml", encoding: .utf8) == configBefore)
        #expect(!FileManager.default.fileExists(atPath: other.dir + "/cloud"))
        let garbage = try provisioner(["cloud", "attach", "incus", "https://\(cluster.address(1))", "--trust-token", "not-a-token"], home: other)
        #expect(garbage.status == 2 && garbage.stderr.contains("trust token"), "\(garbage.stderr)")
        // Through another member (n2): the cluster's certificate is the same on every member.
        let attached = try provisioner(["cloud", "attach", "incus", "https://\(cluster.address(2))", "--trust-token", trust, "--json"], home: other)
        #expect(attached.status == 0 && attached.object["fingerprint"] as? String == pinned, "\(attached.stdout)\(attached.stderr)")
        let seen = try provisioner(["cloud", "status", "--json"], home: other).objects.compactMap { $0["name"] as? String }
        #expect(seen == ["boot1", "n2"], "\(seen)")
        // A trust token is single-use.
        let reused = try provisioner(["cloud", "attach", "incus", "https://\(cluster.address(1))", "--trust-token", trust], home: home)
        #expect(reused.status != 0, "a used trust token was taken again: \(reused.stdout)")
        step("done")
    }
}
}
