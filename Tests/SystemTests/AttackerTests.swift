import Foundation
import ProvisionerPlatform
import ProvisionerSite
import Testing
import TestSupport

extension SystemTests {
/// A hostile machine on the node network, against serve in a namespace with
/// its real dnsmasq, and a node whose real node controller (the static
/// release binary) has a TPM (swtpm) and speaks TLS to the node API. Each
/// way the security review found to take a node's identity or read the
/// inventory is tried from the attacker's own address, then from the
/// node's address while the node is down; each is refused, and the node's
/// binding, state and audit log are as they were.
@Suite(.serialized) struct AttackerTests {
    static let mac = "02:93:00:00:00:01"

    @Test(.enabled(if: TestNetwork.unavailableReason == nil && ImageBuildTests.nodeController != nil
                   && FileManager.default.isExecutableFile(atPath: "/usr/bin/swtpm"),
                   "\(TestNetwork.unavailableReason ?? "needs the static node controller (make node-controller) and swtpm")"))
    func aHostileMachineTakesNoIdentityAndReadsNothing() throws {
        let site = try ServedSite()
        defer { site.close() }
        let home = site.home, net = site.net, base = site.base, api = site.secureBase
        let nodeIP = site.subnet.host(2), attackerIP = site.subnet.host(66)
        try Site(home: home.dir).setConfigValue("nfs.server", to: "none")
        try #require(try home.run(["node", "add", "n1", "--mac", Self.mac, "--ip", nodeIP]).status == 0)
        _ = try standInGeneration(home)
        try #require(try home.run(["apply"]).status == 0)
        try site.startServe(["--heartbeat", "1", "--lost-after", "2"])
        let step = StepClock("attacker test")
        let dashed = Self.mac.replacingOccurrences(of: ":", with: "-")
        let siteCA = try #require(SiteTLS(dir: home.dir + "/tls").caFingerprint())

        // The node: its MAC on the client side, its own address, a TPM, the real controller.
        try net.exec(net.client, "ip link set \(net.clientIf) address \(Self.mac)")
        try net.exec(net.client, "ip addr add \(nodeIP)/24 dev \(net.clientIf)")
        let tpmDir = home.dir + "/tpm"
        try FileManager.default.createDirectory(atPath: tpmDir, withIntermediateDirectories: true)
        let swtpm = try net.exec(net.client, "swtpm socket --tpm2 --tpmstate dir=\(tpmDir) --server type=tcp,port=2321,bindaddr=127.0.0.1 "
                                 + "--ctrl type=tcp,port=2322,bindaddr=127.0.0.1 --flags not-need-init,startup-clear --daemon --pid file=\(tpmDir)/pid")
        try #require(swtpm.status == 0, "\(swtpm.stderr)")
        // swtpm returns as it forks away, a moment before it listens.
        try #require(waitFor(5) { (try? net.exec(net.client, "bash -c 'echo > /dev/tcp/127.0.0.1/2322'"))?.status == 0 }, "swtpm did not listen")
        defer { _ = try? net.exec(net.client, "kill -9 $(cat \(tpmDir)/pid)") }
        let cmdline = home.dir + "/cmdline"
        try "BOOTIF=01-\(dashed) provisioner.server=\(api) provisioner.ca=\(siteCA) provisioner.image=default/g1\n"
            .write(toFile: cmdline, atomically: true, encoding: .utf8)
        /// One boot of the node: the controller asks for its credential, enrolls with its TPM's proof, beats once.
        /// Its own UTS namespace: it renames "its" host to the registered name.
        func nodeBoots() throws -> CLI.Result {
            try net.exec(net.client, "unshare --uts \(ImageBuildTests.nodeController!) --once --cmdline \(cmdline) "
                         + "--libvirt-uri test:///default --tpm swtpm:host=127.0.0.1,port=2321")
        }
        var boot = try nodeBoots()
        try #require(boot.status == 0, "the node did not enroll: \(boot.stderr.suffix(2000))\n\(site.serve?.output.suffix(2000) ?? "")")
        let bound = try #require(home.run(["node", "tpm", "n1", "--json"]).object["fingerprint"] as? String, "the node's TPM key was not bound: \(boot.stderr.suffix(1500))")
        step("the node enrolled over TLS with its TPM")

        // What the attacker sees and tries from its own address.
        try net.exec(net.client, "ip addr add \(attackerIP)/24 dev \(net.clientIf)")
        func curl(_ args: String, from ip: String) throws -> String {
            try net.exec(net.client, "curl -s -m 5 --interface \(ip) -w '\\n%{http_code}' \(args)").stdout
        }
        let audit = try home.run(["audit", "--json"]).stdout
        // TFTP answers anyone: the node's boot file holds no secret.
        let tftp = home.dir + "/stolen.cfg"
        try net.exec(net.client, "busybox tftp -g -r pxelinux.cfg/01-\(dashed) -l \(tftp) \(site.subnet.server)")
        let pxelinux = (try? String(contentsOfFile: tftp, encoding: .utf8)) ?? ""
        #expect(pxelinux.contains("BOOTIF=01-\(dashed)") && !pxelinux.contains("token"), "\(pxelinux)")
        // Its iPXE script, a credential for it, an enrollment or a heartbeat in its name: refused.
        #expect(try curl("\(base)/boot/\(dashed).ipxe", from: attackerIP).hasSuffix("\n403"))
        let ask = #"{"mac":"\#(Self.mac)"}"#
        #expect(try curl("--cacert \(home.dir)/tls/ca.pem -H 'Content-Type: application/json' -d '\(ask)' \(api)/api/v1/node-token", from: attackerIP)
            .hasSuffix("\n403"), "a credential given to another address")
        let forged = #"{"mac":"\#(Self.mac)","hostname":"n1","ip":"\#(nodeIP)","token":"00000000000000000000000000000000","image":"default/g1","capacity":{"coresMax":64,"coresFree":64,"memoryMiBMax":1,"memoryMiBFree":1,"diskMiBMax":1,"diskMiBFree":1,"hypervisor":"kvm","hardwareVirtualization":true,"libvirtVersion":"9"},"instances":[],"controllerVersion":"evil"}"#
        try forged.write(toFile: home.dir + "/forged.json", atomically: true, encoding: .utf8)
        #expect(try curl("--cacert \(home.dir)/tls/ca.pem -H 'Content-Type: application/json' --data-binary @\(home.dir)/forged.json \(api)/api/v1/enroll",
                         from: attackerIP).hasSuffix("\n403"))
        #expect(try curl("--cacert \(home.dir)/tls/ca.pem -H 'Authorization: Bearer \(String(repeating: "ab", count: 32))' -d '{}' \(api)/api/v1/heartbeat",
                         from: attackerIP).hasSuffix("\n401"))
        // The inventory: none on the node network, over plain HTTP or HTTPS; the operator listener is off it.
        for path in ["/api/v1/nodes", "/", "/metrics"] {
            let plain = try curl("\(base)\(path)", from: attackerIP), secure = try curl("--cacert \(home.dir)/tls/ca.pem \(api)\(path)", from: attackerIP)
            #expect(plain.hasSuffix("\n403") && secure.hasSuffix("\n403") && !(plain + secure).contains(Self.mac), "\(path): \(plain) | \(secure)")
        }
        #expect(try curl("-k https://\(site.subnet.server):8444/api/v1/nodes", from: attackerIP).hasSuffix("\n000"), "the operator listener answers on the node network")
        step("refused from the attacker's address")

        // The node goes down; the attacker takes its address. It gets a boot credential (the
        // address is all serve can check), but the node is bound to its TPM: no enrollment.
        #expect(waitFor(15) { (try? home.run(["node", "show", "n1", "--json"]))?.object["state"] as? String == "lost" }, "the node was not marked lost")
        let given = try curl("--cacert \(home.dir)/tls/ca.pem -H 'Content-Type: application/json' -d '\(ask)' \(api)/api/v1/node-token", from: nodeIP)
        let token = given.components(separatedBy: #""token":""#).dropFirst().first.map { String($0.prefix(32)) } ?? ""
        #expect(token.count == 32, "\(given)")
        try forged.replacingOccurrences(of: "00000000000000000000000000000000", with: token).write(toFile: home.dir + "/forged.json", atomically: true, encoding: .utf8)
        let taken = try curl("--cacert \(home.dir)/tls/ca.pem -H 'Content-Type: application/json' --data-binary @\(home.dir)/forged.json \(api)/api/v1/enroll",
                             from: nodeIP)
        #expect(taken.hasSuffix("\n403") && taken.contains("bound to TPM key \(bound)"), "\(taken)")
        #expect(try home.run(["node", "show", "n1", "--json"]).object["state"] as? String == "lost", "the attacker's enrollment changed the node")
        #expect(try home.run(["node", "tpm", "n1", "--json"]).object["fingerprint"] as? String == bound)
        // Nothing the attacker did is in the audit log (it changed nothing).
        #expect(try home.run(["audit", "--json"]).stdout == audit)
        step("the node's address taken while it is down: still refused")

        // The real node boots again: its TPM proves the key, it enrolls.
        boot = try nodeBoots()
        #expect(boot.status == 0, "the real node could not enroll again: \(boot.stderr.suffix(2000))")
        #expect(try home.run(["node", "tpm", "n1", "--json"]).object["fingerprint"] as? String == bound)
        step("the node enrolled again")
    }
}
}
