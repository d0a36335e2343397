import Foundation
import Testing
import TestSupport

extension SystemTests {
/// Booting never depends on the database: serve on a PostgreSQL registry,
/// with the real dnsmasq, rpcbind and ganesha in a namespace, and a
/// PostgreSQL of the test's own that it stops and starts.
@Suite(.serialized) struct RegistryOutageTests {
    static let mac = "02:95:00:00:00:01"

    /// PostgreSQL stopped: the registered node still gets its lease, its iPXE
    /// script and its kernel, heartbeats get a retryable 503, a CLI write
    /// fails with one clear error; serve restarted during the outage boots
    /// the node from its replica; PostgreSQL back: heartbeats and writes work
    /// again without restarting serve.
    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func bootingGoesOnWhilePostgresIsDown() throws {
        let pg = try PostgresTestServer()
        var pgRunning = true
        defer { if pgRunning { try? pg.stop() } }
        let url = try pg.database()
        let site = try ServedSite(["--registry", url])
        defer { site.close() }
        let home = site.home, net = site.net, base = site.base, nodeIP = site.subnet.host(2)
        // The node API: HTTPS, checked against the site CA.
        let api = "--cacert \(home.dir)/tls/ca.pem \(site.secureBase)"
        /// A read of the inventory (metrics, status page): the operator listener, with the site's token.
        func inventory(_ path: String) throws -> String {
            try net.exec(net.server, "curl -s -m 5 --cacert \(home.dir)/tls/ca.pem -H 'Authorization: Bearer \(try ServeTests.apiToken(home))' \(site.operatorBase)\(path)").stdout
        }
        try #require(try home.run(["node", "add", "n1", "--mac", Self.mac]).status == 0)
        let kernel = try standInGeneration(home)
        let apply = try home.run(["apply"])
        try #require(apply.status == 0, "\(apply.stderr)")

        let serveArgs = ["--heartbeat", "1", "--lost-after", "5"]
        var serve = try site.startServe(serveArgs)
        let step = StepClock("registry outage test")

        func curl(_ args: String) throws -> CLI.Result { try net.exec(net.client, "curl -s -m 5 --interface \(nodeIP) \(args)") }
        func lease() throws -> CLI.Result {
            try net.exec(net.client, "busybox udhcpc -i \(net.clientIf) -n -q -f -t 6 -T 1 -V PXEClient:Arch:00000:UNDI:002001 -s /bin/true")
        }
        let dashed = Self.mac.replacingOccurrences(of: ":", with: "-")
        /// What a booting node fetches: its script and its kernel; both must come whole.
        func boots() throws -> (script: String, kernelOK: Bool) {
            let script = try curl("\(base)/boot/\(dashed).ipxe").stdout
            let got = try curl("-o \(home.dir)/k -w %{http_code} \(base)/images/default/g1/vmlinuz")
            return (script, got.stdout == "200" && FileManager.default.contents(atPath: home.dir + "/k") == kernel)
        }

        step("boot and enroll with the database up")
        try net.exec(net.client, "ip link set \(net.clientIf) address \(Self.mac)")
        #expect(try lease().stderr.contains("lease of \(nodeIP) obtained"))
        try net.exec(net.client, "ip addr add \(nodeIP)/24 dev \(net.clientIf)")
        let up = try boots()
        #expect(up.script.contains("#!ipxe") && up.kernelOK, "\(up.script)")
        /// A new boot credential as the node controller asks for it, nil when refused.
        func asked() throws -> String? {
            let f = home.dir + "/ask.json"
            try #"{"mac":"\#(Self.mac)"}"#.write(toFile: f, atomically: true, encoding: .utf8)
            let answer = try curl("-H 'Content-Type: application/json' --data-binary @\(f) \(api)/api/v1/node-token").stdout
            return answer.components(separatedBy: #""token":""#).dropFirst().first.map { String($0.prefix(32)) }
        }
        let token = try #require(try asked())
        #expect(token.count == 32 && !up.script.contains("provisioner.token"), "\(up.script)")
        let capacity = #"{"coresMax":2,"coresFree":2,"memoryMiBMax":1024,"memoryMiBFree":900,"diskMiBMax":100,"diskMiBFree":50,"hypervisor":"qemu-tcg","hardwareVirtualization":false,"hardwareVirtualizationReason":"no vmx","libvirtVersion":"9.0.0"}"#
        let body = home.dir + "/enroll.json"
        /// The enrollment's credential, or nil when it was refused.
        func enroll(with token: String) throws -> Substring? {
            try #"{"mac":"\#(Self.mac)","hostname":"n1","ip":"\#(nodeIP)","token":"\#(token)","image":"default/g1","capacity":\#(capacity),"instances":[],"uptimeSeconds":12.5,"controllerVersion":"test"}"#
                .write(toFile: body, atomically: true, encoding: .utf8)
            let answer = try curl("-H 'Content-Type: application/json' --data-binary @\(body) \(api)/api/v1/enroll").stdout
            guard answer.contains("\"credential\":\"") else { return nil }
            let c = answer.components(separatedBy: "\"credential\":\"").last?.prefix(64) ?? ""
            return c.count == 64 ? c : nil
        }
        var credential = try #require(try enroll(with: token))
        func beat(_ seq: Int) throws -> String {
            let f = home.dir + "/beat.json"
            try #"{"capacity":\#(capacity),"instances":[],"sequence":\#(seq)}"#.write(toFile: f, atomically: true, encoding: .utf8)
            return try curl("-o /dev/null -w %{http_code} -H 'Authorization: Bearer \(credential)' --data-binary @\(f) \(api)/api/v1/heartbeat").stdout
        }
        var sequence = 0
        /// The next heartbeat, with the next count (a count is never sent twice: that is a replay).
        func nextBeat() throws -> String { sequence += 1; return try beat(sequence) }
        #expect(try nextBeat() == "200")

        step("PostgreSQL hung")
        // The database host stops answering without refusing (SIGSTOP): the boot path
        // answers from the replica within its half-second deadline, and the follower
        // stops asking the registry after two seconds without an answer.
        try pg.freeze(true)
        var frozen = true
        defer { if frozen { try? pg.freeze(false) } }
        let started = ContinuousClock.now
        let hungScript = try curl("-m 3 \(base)/boot/\(dashed).ipxe").stdout
        let took = ContinuousClock.now - started
        print("boot script with PostgreSQL hung: \(took)")
        #expect(hungScript.contains("#!ipxe"), "no boot script while the database hangs (\(took)): \(hungScript)")
        #expect(waitFor(10) { serve.output.contains("registry unreachable") }, "the follower did not notice the hung database: \(serve.output.suffix(2000))")
        let hung = try boots()
        #expect(hung.script.contains("#!ipxe") && hung.kernelOK, "no boot while the database hangs: \(hung.script)")
        #expect(try lease().stderr.contains("lease of \(nodeIP) obtained"), "no lease while the database hangs")
        try pg.freeze(false)
        frozen = false
        #expect(waitFor(15) { (try? nextBeat()) == "200" }, "heartbeats did not come back after the database answered again: \(serve.output.suffix(2000))")
        #expect(waitFor(5) { serve.output.contains("registry reachable again") }, "\(serve.output.suffix(2000))")

        step("PostgreSQL stopped")
        try pg.stop()
        pgRunning = false
        #expect(try lease().stderr.contains("lease of \(nodeIP) obtained"), "no lease with the database down")
        let down = try boots()
        #expect(down.script.contains("#!ipxe") && down.kernelOK, "no boot with the database down: \(down.script)\n\(serve.output.suffix(2000))")
        #expect(try nextBeat() == "503", "a heartbeat the registry cannot take must be retryable")
        #expect(try enroll(with: token) == nil, "an enrollment the registry cannot record must be refused")
        let metrics = try inventory("/metrics")
        #expect(metrics.contains("provisioner_registry_up 0") && metrics.contains("provisioner_boot_replica_nodes 1")
                && metrics.contains("provisioner_daemon_up{daemon=\"dnsmasq\"} 1"), "\(metrics)")
        let write = try home.run(["node", "add", "n2", "--no-apply"])
        #expect(write.status == 6 && write.stderr.contains("unreachable") && write.stderr.split(separator: "\n").count == 1, "\(write.status) \(write.stderr)")

        step("serve restarted during the outage")
        #expect(site.stopServe() == 0, "\(serve.output)")
        serve = try site.startServe(serveArgs)
        let again = try boots()
        #expect(again.script.contains("#!ipxe") && again.kernelOK, "a restarted boot server lost its replica: \(again.script)\n\(serve.output.suffix(2000))")

        step("PostgreSQL back")
        try pg.start()
        pgRunning = true
        // The restarted serve never issued this node's credential: it finds it in the
        // registry once the database answers, and the heartbeats go on without a new enrollment.
        #expect(waitFor(15) { (try? nextBeat()) == "200" }, "the restarted serve did not take the node's credential: \(serve.output.suffix(2000))")
        #expect(try nextBeat() == "200", "heartbeats did not recover without a restart")
        // A new boot's enrollment still works: a new boot credential, once the node is down (5 beats of 1 s).
        #expect(waitFor(30) { (try? asked()).flatMap { $0 }.flatMap { try? enroll(with: $0) }.map { credential = $0 } != nil },
                "no new enrollment after the outage: \(serve.output.suffix(2000))")
        #expect(try nextBeat() == "200")
        #expect(try home.run(["node", "add", "n2", "--no-apply"]).status == 0)
        #expect(try inventory("/metrics").contains("provisioner_registry_up 1"))
        #expect(try home.run(["node", "show", "n1", "--json"]).object["state"] as? String == "ready")
        #expect(waitFor(5) { serve.output.contains("registry reachable again") } && serve.output.contains("registry unreachable"), "\(serve.output)")
        step("done")
    }
}
}
