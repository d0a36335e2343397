import Foundation
import Testing
import TestSupport

extension SystemTests {
/// Two boot servers on one LAN share a PostgreSQL registry: each runs its own
/// dnsmasq and HTTP (real daemons, each in a namespace of its own), renders
/// every node with its own address, and hands out its own half of the
/// dynamic range. One is killed: the other alone answers the node and boots
/// it. The other is cut off while 50 changes are made: restarted, it has
/// caught up before it answers.
@Suite(.serialized) struct BootServersTests {
    static let addressA = "10.94.0.1"
    static let addressB = "10.94.0.2"
    static let mac = "02:94:00:00:00:01"
    static let nodeIP = "10.94.0.10"

    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func eitherBootServerBootsTheNodeAndBothFollowTheRegistry() throws {
        let pg = try PostgresTestServer()
        defer { try? pg.stop() }
        let url = try pg.database()
        // A in the "server" namespace, B in the "site" one: two hosts on the node LAN's bridge.
        let net = try TestNetwork(serverIP: Self.addressA, prefix: 24, siteIP: Self.addressB)
        defer { net.close() }
        func home(_ interface: String, _ address: String, _ name: String, _ role: String) throws -> Home {
            let h = try Home(["--interface", interface, "--server-ip", address, "--subnet", "10.94.0.0/24", "--dhcp-range", "10.94.0.200-10.94.0.219",
                              "--registry", url, "--server-name", name, "--role", role])
            // No NFS in this test (two rpcbinds would share /run/rpcbind.sock); DHCP, scripts and kernels are what it checks.
            let config = try String(contentsOfFile: h.config, encoding: .utf8).replacingOccurrences(of: "server: auto", with: "server: none")
            try config.write(toFile: h.config, atomically: true, encoding: .utf8)
            _ = try standInGeneration(h)
            let apply = try h.run(["apply"])
            try #require(apply.status == 0, "\(apply.stderr)")
            return h
        }
        let a = try home(net.serverIf, Self.addressA, "bs-a", "primary")
        let b = try home(net.siteIf, Self.addressB, "bs-b", "secondary")
        try #require(try a.run(["node", "add", "n1", "--mac", Self.mac, "--ip", Self.nodeIP]).status == 0)
        try #require(try a.run(["node", "add", "n2", "--mac", "02:94:00:00:00:02"]).status == 0)

        func startServe(_ h: Home, _ ns: String, _ address: String) throws -> Background {
            let serve = try Background(["/usr/sbin/ip", "netns", "exec", ns, CLI.binary, "serve", "--home", h.dir, "--heartbeat", "1"],
                                       log: h.dir + "/serve-\(UUID().uuidString.prefix(4)).log")
            try #require(waitFor(60) { (try? net.exec(ns, "curl -sf -m 2 http://\(address):8080/healthz"))?.status == 0 }, "serve did not come up: \(serve.output)")
            return serve
        }
        let step = StepClock("boot servers test")
        step("both boot servers up")
        let serveA = try startServe(a, net.server, Self.addressA)
        defer { _ = serveA.stop() }
        var serveB = try startServe(b, net.site, Self.addressB)
        defer { _ = serveB.stop() }
        func hostEntry(_ h: Home, _ name: String) -> Bool { FileManager.default.fileExists(atPath: h.dir + "/dhcp-hosts/\(name).conf") }
        // B was never told about n1 by a CLI: it read the registry before answering.
        #expect(hostEntry(b, "n1") && hostEntry(b, "n2"), "B did not render the registry's nodes at start")

        step("a change on A reaches B")
        let started = Date()
        let added = try a.run(["node", "add", "n3", "--mac", "02:94:00:00:00:03"])
        try #require(added.status == 0, "\(added.stderr)")
        #expect(waitFor(5, every: 0.01) { hostEntry(b, "n3") }, "n3 did not reach B: \(serveB.output.suffix(1500))")
        print("boot servers test: node add on A -> host entry on B in \(Int(Date().timeIntervalSince(started) * 1000)) ms (CLI process included)")

        step("both answer a registered node, each from its own address; unknown machines get disjoint halves")
        let answers = try net.dhcpProbe(mac: Self.mac, "--wait 3 --expect 2")
        #expect(Set(answers.compactMap { $0["server_id"] as? String }) == [Self.addressA, Self.addressB], "\(answers)")
        #expect(answers.allSatisfy { $0["yiaddr"] as? String == Self.nodeIP }, "\(answers)")
        // dnsmasq pings a dynamic address (up to 3 s) before it offers it.
        let unknown = try net.dhcpProbe(mac: "02:94:ff:00:00:01", "--wait 8 --expect 2")
        let offered = Dictionary(unknown.compactMap { a in (a["server_id"] as? String).map { ($0, a["yiaddr"] as? String ?? "") } }, uniquingKeysWith: { x, _ in x })
        let last = { (ip: String?) in Int(ip?.split(separator: ".").last ?? "") ?? -1 }
        #expect((200...209).contains(last(offered[Self.addressA])) && (210...219).contains(last(offered[Self.addressB])), "\(unknown)")

        step("A killed: B alone boots the node")
        _ = try net.sh("ip netns pids \(net.server) | xargs -r kill -9")
        let alone = try net.dhcpProbe(mac: Self.mac, "--wait 2")
        #expect(alone.count == 1 && alone.first?["server_id"] as? String == Self.addressB && alone.first?["yiaddr"] as? String == Self.nodeIP, "\(alone)")
        try net.exec(net.client, "ip addr add \(Self.nodeIP)/24 dev \(net.clientIf)")
        let dashed = Self.mac.replacingOccurrences(of: ":", with: "-")
        let script = try net.exec(net.client, "curl -s -m 5 --interface \(Self.nodeIP) http://\(Self.addressB):8080/boot/\(dashed).ipxe").stdout
        #expect(script.contains("#!ipxe") && script.contains("http://\(Self.addressB):8080/") && !script.contains("\(Self.addressA):"), "\(script)")
        let kernel = try net.exec(net.client, "curl -s -m 5 -o /dev/null -w %{http_code} --interface \(Self.nodeIP) http://\(Self.addressB):8080/images/default/g1/vmlinuz").stdout
        #expect(kernel == "200")

        step("B cut off while 50 changes are made")
        #expect(serveB.stop() == 0, "\(serveB.output)")
        let csv = "mac,hostname\n" + (1...48).map { String(format: "02:94:00:00:01:%02x,m%02d", $0, $0) }.joined(separator: "\n") + "\n"
        try #require(try a.run(["node", "import", try a.file("more.csv", csv)]).status == 0)
        try #require(try a.run(["node", "rm", "n2"]).status == 0)
        try #require(try a.run(["node", "set", "m01", "--ip", "10.94.0.99"]).status == 0)
        serveB = try startServe(b, net.site, Self.addressB)
        // Caught up before it answered: every change is there once healthz is.
        #expect((1...48).allSatisfy { hostEntry(b, String(format: "m%02d", $0)) } && !hostEntry(b, "n2"), "B answered before it caught up")
        let m01 = (try? String(contentsOfFile: b.dir + "/dhcp-hosts/m01.conf", encoding: .utf8)) ?? ""
        #expect(m01.contains("10.94.0.99"), "\(m01)")
        #expect(serveB.output.contains("changed while serve was stopped"), "\(serveB.output)")

        step("cluster status shows both boot servers")
        let status = try a.run(["cluster", "status", "--json"]).object
        let servers = status["boot_servers"] as? [[String: Any]] ?? []
        #expect(servers.compactMap { $0["name"] as? String } == ["bs-a", "bs-b"], "\(status)")
        let bsB = servers.first { $0["name"] as? String == "bs-b" }
        #expect(bsB?["replica_lag"] as? Int == 0 && bsB?["role"] as? String == "secondary" && bsB?["dhcp_range"] as? String == "10.94.0.210-10.94.0.219",
                "\(String(describing: bsB))")
        let page = try net.exec(net.site, "curl -s -m 5 --cacert \(b.dir)/tls/ca.pem -H 'Authorization: Bearer \(try ServeTests.apiToken(b))' https://127.0.0.1:8444/").stdout
        #expect(page.contains("<h2>Boot servers</h2>") && page.contains("bs-a") && page.contains("bs-b (this one)") && page.contains("secondary"), "\(page)")
        let text = try a.run(["cluster", "status"]).stdout
        #expect(text.contains("BOOT SERVER") && text.contains("bs-b") && text.contains("current"), "\(text)")
        step("done")
    }
}
}
