import Foundation
import NodeControllerKit
import ProvisionerAPI
import ProvisionerPlatform
import ProvisionerSite
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

        step("evacuate and restore a member")
        let evacuated = try provisioner(["cloud", "evacuate", "n2"])
        #expect(evacuated.status == 0 && evacuated.stdout == "n2 evacuated\n", "\(evacuated.stdout)\(evacuated.stderr)")
        #expect(try members()["n2"] == "EVACUATED")
        let restored = try provisioner(["cloud", "restore", "n2"])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try members()["n2"] == "ONLINE")
        let unknown = try provisioner(["cloud", "evacuate", "n99"])
        #expect(unknown.status != 0 && unknown.stderr.contains("n99"), "\(unknown.stderr)")

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
        // The token from a file, not the command line (`ps` shows that).
        try trust.write(toFile: other.dir + "/trust-token", atomically: true, encoding: .utf8)
        let attached = try provisioner(["cloud", "attach", "incus", "https://\(cluster.address(2))", "--trust-token", "@" + other.dir + "/trust-token", "--json"], home: other)
        #expect(attached.status == 0 && attached.object["fingerprint"] as? String == pinned, "\(attached.stdout)\(attached.stderr)")
        let seen = try provisioner(["cloud", "status", "--json"], home: other).objects.compactMap { $0["name"] as? String }
        #expect(seen == ["boot1", "n2"], "\(seen)")
        // A trust token is single-use.
        let reused = try provisioner(["cloud", "attach", "incus", "https://\(cluster.address(1))", "--trust-token", trust], home: home)
        #expect(reused.status != 0 && reused.stderr.contains("POST /1.0/certificates: No matching certificate add operation found"),
                "a used trust token was taken again: \(reused.stdout)\(reused.stderr)")

        step("a cluster certificate that is not the pinned one is refused")
        // The other site now pins another certificate (daemon 3's own): the cluster's is refused at the handshake.
        let otherPEM = try String(contentsOfFile: cluster.dir(3) + "/server.crt", encoding: .utf8)
        try otherPEM.write(toFile: other.dir + "/cloud/cluster.crt", atomically: true, encoding: .utf8)
        try Site(home: other.dir).setConfigValue("cloud.fingerprint", to: try #require(SiteTLS.fingerprint(pem: otherPEM)))
        let mitm = try provisioner(["cloud", "status"], home: other)
        #expect(mitm.status != 0 && mitm.stderr.contains("not the pinned one"), "\(mitm.stdout)\(mitm.stderr)")

        step("node rm: its member leaves the cluster")
        try #require(try home.run(["node", "add", "n2", "--mac", "02:95:00:00:00:02", "--no-apply"]).status == 0)
        let removed = try provisioner(["node", "rm", "n2", "--no-apply"])
        #expect(removed.status == 0 && removed.stderr.contains("cloud: removed member n2 (it left)"), "\(removed.stdout)\(removed.stderr)")
        #expect(try members()["n2"] == nil, "\((try? cluster.incus(1, ["cluster", "list"]).stdout) ?? "")")
        step("done")
    }

    /// Enrollment with the real pieces: serve in its namespace with the site's
    /// cluster (its first member in the server's namespace, at the server's
    /// address), and a node whose real node controller enrolls over TLS and
    /// joins the node's own incusd (in the node's namespace) with the join
    /// in the enrollment's answer. A node that keeps no state is refused by
    /// the quorum guard and still enrolls: booting never depends on the cloud.
    @Test(.enabled(if: IncusTestCluster.unavailableReason == nil && TestNetwork.unavailableReason == nil && ImageBuildTests.nodeController != nil,
                   "\(IncusTestCluster.unavailableReason ?? TestNetwork.unavailableReason ?? "needs the static node controller (make node-controller)")"))
    func aBootedNodeJoinsTheClusterAtEnrollment() throws {
        let site = try ServedSite()
        defer { site.close() }
        let cluster = try IncusTestCluster()
        defer { cluster.close() }
        let home = site.home, net = site.net, server = site.subnet.server
        let step = StepClock("incus enrollment test")
        let nodes = [(name: "n1", mac: "02:94:00:00:00:01", ip: site.subnet.host(2), socket: 2),
                     (name: "n2", mac: "02:94:00:00:00:02", ip: site.subnet.host(3), socket: 3)]
        try cluster.start(1, in: net.server)
        for n in nodes { try cluster.start(n.socket, in: net.client) }
        let initialized = try net.exec(net.server, "\(CLI.binary) cloud init --home \(home.dir) --socket \(cluster.socket(1)) --address \(server):18443 --name boot1")
        try #require(initialized.status == 0, "\(initialized.stderr)")
        let config = Site(home: home.dir)
        try config.setConfigValue("nfs.server", to: "none")
        try config.setConfigValue("cloud.member_port", to: "18443")
        // n1 keeps its cluster state on a disk; n2 keeps none (the quorum guard's case).
        try config.setConfigValue("profiles.default.persist", to: "disk")
        try config.setConfigValue("profiles.diskless.image", to: "default")
        try #require(try home.run(["node", "add", "n1", "--mac", nodes[0].mac, "--ip", nodes[0].ip]).status == 0)
        try #require(try home.run(["node", "add", "n2", "--mac", nodes[1].mac, "--ip", nodes[1].ip, "--profile", "diskless"]).status == 0)
        _ = try standInGeneration(home)
        try #require(try home.run(["apply"]).status == 0)
        try site.startServe(["--heartbeat", "1", "--lost-after", "3"])
        #expect(site.serve?.output.contains("cloud: enrolling nodes join the Incus cluster at https://\(server):18443") == true, "\(site.serve?.output ?? "")")
        let siteCA = try #require(SiteTLS(dir: home.dir + "/tls").caFingerprint())
        // One node's address at a time on the client side: each enrolls from its own.
        try net.exec(net.client, "ip link set \(net.clientIf) address \(nodes[0].mac)")
        try net.exec(net.client, "ip addr add \(nodes[0].ip)/24 dev \(net.clientIf)")
        func boot(_ n: (name: String, mac: String, ip: String, socket: Int)) throws -> CLI.Result {
            let cmdline = home.dir + "/cmdline-\(n.name)"
            try "BOOTIF=01-\(n.mac.replacingOccurrences(of: ":", with: "-")) provisioner.server=\(site.secureBase) provisioner.ca=\(siteCA) provisioner.image=default/g1\n"
                .write(toFile: cmdline, atomically: true, encoding: .utf8)
            return try net.exec(net.client, "unshare --uts \(ImageBuildTests.nodeController!) --once --cmdline \(cmdline) "
                                + "--libvirt-uri test:///default --incus-socket \(cluster.socket(n.socket))")
        }
        step("a node with a disk enrolls and joins")
        let first = try boot(nodes[0])
        #expect(first.status == 0, "\(first.stderr.suffix(3000))\n\(site.serve?.output.suffix(2000) ?? "")")
        #expect(first.stderr.contains("cloud: joined the Incus cluster as n1 through \(server):18443"),
                "\(first.stderr.suffix(2000))\n\((site.serve?.output ?? "").split(separator: "\n").filter { $0.contains("cloud") }.joined(separator: "\n"))")
        let list = try cluster.incus(1, ["cluster", "list", "-f", "csv"]).stdout
        #expect(list.contains("n1,https://\(nodes[0].ip):18443") && list.contains("ONLINE"), "\(list)")
        #expect(try home.run(["node", "show", "n1", "--json"]).object["state"] as? String == "ready")
        // Its heartbeat said so, and the registry keeps it.
        #expect(waitFor(5) { ((try? home.run(["node", "show", "n1", "--json"]))?.object["cloud"] as? [String: Any])?["state"] as? String == "joined" },
                "\((try? home.run(["node", "show", "n1"]))?.stdout ?? "")")

        step("a node without one enrolls and stays out (quorum guard)")
        try net.exec(net.client, "ip addr del \(nodes[0].ip)/24 dev \(net.clientIf)")
        try net.exec(net.client, "ip link set \(net.clientIf) address \(nodes[1].mac)")
        try net.exec(net.client, "ip addr add \(nodes[1].ip)/24 dev \(net.clientIf)")
        let second = try boot(nodes[1])
        #expect(second.status == 0, "the node did not enroll: \(second.stderr.suffix(2000))")
        #expect(second.stderr.contains("cloud: not joining now") && second.stderr.contains("at least three online database members"), "\(second.stderr.suffix(2000))")
        #expect(!(try cluster.incus(1, ["cluster", "list", "-f", "csv"]).stdout.contains("n2,")))
        #expect(try home.run(["node", "show", "n2", "--json"]).object["state"] as? String == "ready", "booting does not depend on the cloud")
        let shown = try home.run(["node", "show", "n2"]).stdout
        #expect(shown.contains("cloud") && shown.contains("pending since") && shown.contains("at least three online database members"), "\(shown)")
        // The status page has a column for it.
        let page = try net.exec(net.server, "curl -s -m 5 --cacert \(home.dir)/tls/ca.pem -H 'Authorization: Bearer \(try ServeTests.apiToken(home))' \(site.operatorBase)/").stdout
        #expect(page.contains("<th>Cloud</th>") && page.contains("joined since") && page.contains("pending since"), "\(page.suffix(3000))")
        step("done")
    }
}
}
