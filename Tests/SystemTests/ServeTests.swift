import Foundation
import ProvisionerCore
import ProvisionerBoot
import ProvisionerPlatform
import Testing
import TestSupport

/// A stand-in generation g1 of image default, published: enough for HTTP and
/// NFS (image build is tested with a real root elsewhere). Returns the kernel's bytes.
func standInGeneration(_ home: Home) throws -> Data {
    let gen = home.dir + "/images/default/g1"
    try FileManager.default.createDirectory(atPath: gen + "/root/etc", withIntermediateDirectories: true)
    try "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n".write(toFile: gen + "/root/etc/os-release", atomically: true, encoding: .utf8)
    let kernel = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
    try kernel.write(to: URL(fileURLWithPath: gen + "/vmlinuz"))
    try Data(repeating: 1, count: 1000).write(to: URL(fileURLWithPath: gen + "/initrd.img"))
    try #"{"architecture":"amd64","base_digest":"x","build_seconds":1,"created":"2026-11-21T00:00:00Z","from_cache":false,"id":"g1","image":"default","kernel_version":"6.1.0-test","package_count":1,"size_bytes":1,"suite":"bookworm"}"#.write(toFile: gen + "/meta.json", atomically: true, encoding: .utf8)
    symlink("g1", home.dir + "/images/default/current")
    for d in ["http/images/default/g1", "tftp/images/default/g1"] {
        try FileManager.default.createDirectory(atPath: home.dir + "/" + d, withIntermediateDirectories: true)
        try kernel.write(to: URL(fileURLWithPath: home.dir + "/" + d + "/vmlinuz"))
        try Data(repeating: 1, count: 1000).write(to: URL(fileURLWithPath: home.dir + "/" + d + "/initrd.img"))
    }
    return kernel
}

extension SystemTests {
@Suite(.serialized) struct ServeTests {
    /// The site's own API token (every scope), once serve has made it.
    static func apiToken(_ home: Home) throws -> String {
        try String(contentsOfFile: home.dir + "/api.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let serverIP = "10.98.0.1"
    static let nodeIP = "10.98.0.2"
    static let mac = "02:98:00:00:00:01"

    /// `provisioner serve` in a namespace with the real dnsmasq, rpcbind and
    /// nfs-ganesha: DHCP with boot telemetry, the node's iPXE script only to
    /// its own address, kernel with Range, discovery of an unknown MAC, the
    /// NFS export read through libnfs (`image verify`), enrollment and
    /// heartbeats with every kind of bad request refused, metrics and status
    /// page; SIGTERM leaves no daemon behind. serve runs with the systemd
    /// unit's capability set and no new privileges, so all of it works there.
    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func serveRunsTheBootServices() throws {
        let net = try TestNetwork(serverIP: Self.serverIP, prefix: 24)
        defer { net.close() }
        let home = try Home(["--interface", net.serverIf, "--server-ip", Self.serverIP, "--subnet", "10.98.0.0/24", "--dhcp-range", "10.98.0.200-10.98.0.220"])
        try #require(try home.run(["node", "add", "n1", "--mac", Self.mac]).status == 0)
        let kernel = try standInGeneration(home)
        let apply = try home.run(["apply"])
        try #require(apply.status == 0, "\(apply.stderr)")

        // With the capabilities the systemd unit leaves it, and no new privileges.
        let serve = try Background(["/usr/sbin/ip", "netns", "exec", net.server] + ServiceUnit.setprivArgv()
                                   + [CLI.binary, "serve", "--home", home.dir, "--heartbeat", "1", "--lost-after", "3"], log: home.dir + "/serve.log")
        var stopped = false
        defer { if !stopped { _ = serve.stop() } }
        let base = "http://\(Self.serverIP):8080"
        try #require(waitFor(60) { (try? net.exec(net.server, "curl -sf -m 2 \(base)/healthz"))?.status == 0 }, "serve did not come up: \(serve.output)")
        let run = home.dir + "/run/provisioner"
        let daemons = ["dnsmasq", "rpcbind", "ganesha"].compactMap { name -> (String, pid_t)? in
            guard let t = try? String(contentsOfFile: "\(run)/\(name).pid", encoding: .utf8), let p = pid_t(t.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
            return (name, p)
        }
        #expect(daemons.count == 3, "pid files: \(daemons)")

        let step = StepClock("serve test")
        // DHCP as PXE firmware would ask: its address, and the boot recorded.
        step("DHCP as PXE firmware")
        try net.exec(net.client, "ip link set \(net.clientIf) address \(Self.mac)")
        let lease = try net.exec(net.client, "busybox udhcpc -i \(net.clientIf) -n -q -f -t 6 -T 1 -V PXEClient:Arch:00000:UNDI:002001 -s /bin/true")
        #expect(lease.status == 0, "\(lease.stderr)")
        try net.exec(net.client, "ip addr add \(Self.nodeIP)/24 dev \(net.clientIf)")
        try net.exec(net.client, "ip addr add 10.98.0.50/24 dev \(net.clientIf)")
        #expect(waitFor(10) { (try? home.run(["node", "show", "n1", "--json"]))?.stdout.contains("booting") == true }, "dhcp-event did not mark n1 booting: \(serve.output)")

        func curl(_ args: String, from ip: String = Self.nodeIP) throws -> CLI.Result {
            try net.exec(net.client, "curl -s -m 5 --interface \(ip) \(args)")
        }
        // The node's own iPXE script, only to its own address: no secret in it, the
        // node API's HTTPS address and the fingerprint of the site CA to check it with.
        step("iPXE script only to the node's address")
        let dashed = Self.mac.replacingOccurrences(of: ":", with: "-")
        let script = try curl("\(base)/boot/\(dashed).ipxe")
        let siteCA = try #require(SiteTLS(dir: home.dir + "/tls").caFingerprint())
        #expect(script.stdout.contains("#!ipxe") && !script.stdout.contains("provisioner.token"), "\(script.stdout)")
        #expect(script.stdout.contains("provisioner.server=https://\(Self.serverIP):8443 provisioner.ca=\(siteCA) "), "\(script.stdout)")
        let stolen = try curl("-o /dev/null -w %{http_code} \(base)/boot/\(dashed).ipxe", from: "10.98.0.50")
        #expect(stolen.stdout == "403", "script served to another address: \(stolen.stdout)")

        // Kernel over HTTP, whole and by Range.
        step("kernel over HTTP with Range")
        let whole = try curl("-o \(home.dir)/k -w %{http_code} \(base)/images/default/g1/vmlinuz")
        #expect(whole.stdout == "200" && FileManager.default.contents(atPath: home.dir + "/k") == kernel)
        let part = try curl("-o \(home.dir)/kr -w %{http_code} -r 1000-1999 \(base)/images/default/g1/vmlinuz")
        #expect(part.stdout == "206" && FileManager.default.contents(atPath: home.dir + "/kr") == kernel[1000..<2000])
        let tail = try curl("-o \(home.dir)/kt -w %{http_code} -r -500 \(base)/images/default/g1/vmlinuz")
        #expect(tail.stdout == "206" && FileManager.default.contents(atPath: home.dir + "/kt") == kernel.suffix(500), "bytes=-500 is the last 500 bytes")
        let past = try curl("-o /dev/null -w '%{http_code} %header{content-range}' -r \(kernel.count)- \(base)/images/default/g1/vmlinuz")
        #expect(past.stdout == "416 bytes */\(kernel.count)", "\(past.stdout)")

        // An unknown MAC asking for its script lands in discovery and gets the default script.
        step("unknown MAC queued for discovery")
        let unknown = try curl("\(base)/boot/02-98-00-00-00-99.ipxe", from: "10.98.0.50")
        #expect(unknown.stdout.contains("not registered"), "\(unknown.stdout)")
        let discovered = try home.run(["node", "discovered", "--json"])
        #expect(discovered.stdout.contains("02:98:00:00:00:99"), "\(discovered.stdout)\(discovered.stderr)")

        // Accepting a second discovered machine registers it and empties its queue entry.
        step("accept a discovered machine")
        _ = try curl("\(base)/boot/02-98-00-00-00-98.ipxe", from: "10.98.0.50")
        let accept = try home.run(["node", "accept", "02:98:00:00:00:98", "--hostname", "n9", "--json"])
        #expect(accept.status == 0 && accept.object["hostname"] as? String == "n9", "\(accept.stdout)\(accept.stderr)")
        let after = try home.run(["node", "discovered", "--json"]).stdout
        #expect(!after.contains("02:98:00:00:00:98") && after.contains("02:98:00:00:00:99"), "\(after)")
        #expect(FileManager.default.fileExists(atPath: home.dir + "/http/boot/02-98-00-00-00-98.ipxe"), "accept writes the node's boot files")

        // The export as a node sees it, through libnfs from user space.
        step("NFS export through libnfs")
        let verify = try net.exec(net.server, "\(CLI.binary) image verify --home \(home.dir) --json")
        #expect((verify.object["checks"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == "NFS: export is read-only" && $0["result"] as? String == "ok" },
                "\(verify.stdout)")
        #expect(verify.stdout.contains("PRETTY_NAME=\\\"Debian GNU/Linux 12"), "\(verify.stdout)")

        // TFTP answers anyone: the node's pxelinux file carries no credential. The
        // node asks serve for one instead, from its own address, before it is up.
        step("no credential over TFTP; the credential endpoint")
        let tftpFile = home.dir + "/pxelinux-node.cfg"
        let tftp = try net.exec(net.client, "busybox tftp -g -r pxelinux.cfg/01-\(dashed) -l \(tftpFile) \(Self.serverIP)")
        let pxelinux = (try? String(contentsOfFile: tftpFile, encoding: .utf8)) ?? ""
        #expect(tftp.status == 0 && pxelinux.contains("APPEND ") && pxelinux.contains("BOOTIF=01-\(dashed)"), "\(tftp.stderr)\(pxelinux)")
        #expect(!pxelinux.contains("provisioner.token"), "a token over TFTP: \(pxelinux)")
        // The node API is HTTPS, its certificate checked against the site CA.
        let api = "--cacert \(home.dir)/tls/ca.pem https://\(Self.serverIP):8443"
        // A JSON POST from `ip`: the status code and the body of the answer.
        func post(_ path: String, _ body: String, from ip: String, over base: String = api) throws -> (code: String, body: String) {
            let f = home.dir + "/body.json"
            try body.write(toFile: f, atomically: true, encoding: .utf8)
            let r = try curl("-w '\\n%{http_code}' -H 'Content-Type: application/json' --data-binary @\(f) \(base)\(path)", from: ip)
            let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
        }
        // Plain HTTP answers no API: the credential would cross the network in clear text.
        let inClear = try post("/api/v1/node-token", #"{"mac":"\#(Self.mac)"}"#, from: Self.nodeIP, over: base)
        #expect(inClear.code == "403" && inClear.body.contains("answers over HTTPS only: https://\(Self.serverIP):8443/api/v1/node-token"), "\(inClear)")
        func askToken(_ body: String, from ip: String = Self.nodeIP) throws -> (code: String, body: String) {
            try post("/api/v1/node-token", body, from: ip)
        }
        #expect(try askToken("{not json").code == "400")
        #expect(try askToken(#"{"mac":"\#(Self.mac)"}"#, from: "10.98.0.50").code == "403", "the token given to another address")
        #expect(try askToken(#"{"mac":"02:98:00:00:00:42"}"#).code == "403", "an unregistered MAC")
        let first = try askToken(#"{"mac":"\#(Self.mac)"}"#)
        let token = first.body.components(separatedBy: #""token":""#).last?.prefix(32).description ?? ""
        let given = try askToken(#"{"mac":"\#(Self.mac)"}"#)
        let asked = given.body.components(separatedBy: #""token":""#).last?.prefix(32).description ?? ""
        #expect(first.code == "200" && token.count == 32 && token.allSatisfy(\.isHexDigit), "\(first)")
        #expect(given.code == "200" && asked.count == 32 && asked != token, "a new credential each time: \(given)")

        // Enrollment: every bad request refused with a 4xx, then a good one.
        step("enrollment")
        func enroll(_ body: String, from ip: String = Self.nodeIP) throws -> (code: String, body: String) {
            try post("/api/v1/enroll", body, from: ip)
        }
        let capacity = #"{"coresMax":2,"coresFree":2,"memoryMiBMax":1024,"memoryMiBFree":900,"diskMiBMax":100,"diskMiBFree":50,"hypervisor":"qemu-tcg","hardwareVirtualization":false,"hardwareVirtualizationReason":"no vmx","libvirtVersion":"9.0.0"}"#
        func request(mac: String = Self.mac, token: String) -> String {
            #"{"mac":"\#(mac)","hostname":"n1","ip":"\#(Self.nodeIP)","token":"\#(token)","image":"default/g1","capacity":\#(capacity),"instances":[],"uptimeSeconds":12.5,"controllerVersion":"test"}"#
        }
        #expect(try enroll("{not json").code == "400")
        #expect(try enroll(String(repeating: "x", count: 70_000)).code == "413")
        #expect(try enroll(request(token: "00000000000000000000000000000000")).code == "403")
        let replaced = try enroll(request(token: token))
        #expect(replaced.code == "403" && replaced.body.contains("not the boot credential"), "the first credential, replaced by the one asked for next: \(replaced)")
        #expect(try enroll(request(mac: "02:98:00:00:00:42", token: asked)).code == "403")
        #expect(try enroll(request(token: asked), from: "10.98.0.50").code == "403")
        let good = try enroll(request(token: asked))
        #expect(good.code == "200", "\(good)")
        // The same boot again (a replay, or whoever read the credential): refused, the live credential stays.
        let again = try enroll(request(token: asked))
        #expect(again.code == "409" && again.body.contains("one boot enrolls once"), "\(again)")
        let credential = good.body.components(separatedBy: "\"credential\":\"").last?.prefix(64) ?? ""
        #expect(credential.count == 64, "\(good.body)")

        func beat(_ seq: Int, credential: Substring, from ip: String = Self.nodeIP) throws -> String {
            let f = home.dir + "/beat.json"
            try #"{"capacity":\#(capacity),"instances":[],"sequence":\#(seq)}"#.write(toFile: f, atomically: true, encoding: .utf8)
            return try curl("-o /dev/null -w %{http_code} -H 'Authorization: Bearer \(credential)' --data-binary @\(f) \(api)/api/v1/heartbeat", from: ip).stdout
        }
        #expect(try beat(1, credential: credential) == "200")
        #expect(try beat(2, credential: "nope") == "401")
        #expect(try beat(3, credential: credential, from: "10.98.0.50") == "403")
        #expect(try beat(4, credential: credential) == "200", "the second enrollment left the live credential alone")
        // A replay: two parties hold the credential, so it is revoked for both.
        #expect(try beat(4, credential: credential) == "409", "a replayed heartbeat must be refused")
        #expect(try beat(5, credential: credential) == "401", "a replayed credential must be revoked")
        // Up and sending heartbeats: its controller holds its credential; a request in its name is someone else's.
        let whileUp = try askToken(#"{"mac":"\#(Self.mac)"}"#)
        #expect(whileUp.code == "409" && whileUp.body.contains("is up"), "\(whileUp)")

        let show = try home.run(["node", "show", "n1", "--json"])
        #expect(show.object["state"] as? String == "ready", "\(show.stdout)")
        let phases = show.object["phases"] as? [String: Any] ?? [:]
        for phase in ["dhcp", "ipxe", "kernel", "enrolled"] { #expect(phases[phase] is String, "phase \(phase): \(show.stdout)") }
        // The metrics and the status page: reads of the inventory, over HTTPS with a token only.
        let apiToken = try String(contentsOfFile: home.dir + "/api.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // They are answered on the operator listener, off the node network (loopback by default).
        let secure = "https://127.0.0.1:8444", ca = home.dir + "/tls/ca.pem"
        func inventory(_ path: String) throws -> CLI.Result {
            try net.exec(net.server, "curl -s -m 5 --cacert \(ca) -H 'Authorization: Bearer \(apiToken)' \(secure)\(path)")
        }
        let metrics = try inventory("/metrics")
        #expect(metrics.stdout.contains("provisioner_nodes{state=\"ready\"} 1") && metrics.stdout.contains("provisioner_nodes_booting_or_booted 1"), "\(metrics.stdout)")
        #expect(metrics.stdout.contains("provisioner_enrollments_total 1"), "\(metrics.stdout)")
        let page = try inventory("/")
        #expect(page.stdout.contains("<td>n1</td>") && page.stdout.contains("02:98:00:00:00:99"), "\(page.stdout)")
        for path in ["/", "/metrics", "/api/v1/nodes"] {
            let inClear = try curl("-w '\\n%{http_code}' \(base)\(path)").stdout
            #expect(inClear.hasSuffix("\n403") && !inClear.contains("02:98:00:00:00:99") && inClear.contains("HTTPS only: \(secure)\(path)"),
                    "\(path) over plain HTTP: \(inClear)")
            // The node network's HTTPS listener answers the node API only, even with the token.
            let onNodeNetwork = try curl("-w '\\n%{http_code}' --cacert \(ca) -H 'Authorization: Bearer \(apiToken)' \(api)\(path)").stdout
            #expect(onNodeNetwork.hasSuffix("\n403") && !onNodeNetwork.contains("02:98:00:00:00:99")
                    && onNodeNetwork.contains("not answered on the node network: \(secure)\(path)"), "\(path) on the node network: \(onNodeNetwork)")
        }
        // And the operator listener is not on the node network at all.
        let unreachable = try curl("-s -o /dev/null -w %{http_code} --cacert \(ca) https://\(Self.serverIP):8444/")
        #expect(unreachable.stdout == "000", "\(unreachable.stdout)")

        // Readiness names each daemon; a killed one is restarted and shown so.
        step("readiness and a daemon restarted")
        let ready = try curl("-w '\\n%{http_code}' \(base)/readyz")
        #expect(ready.stdout.hasPrefix("ready\n") && ready.stdout.contains("ganesha up (pid ") && ready.stdout.hasSuffix("\n200"), "\(ready.stdout)")
        let ganesha = try #require(daemons.first { $0.0 == "ganesha" }?.1)
        kill(ganesha, SIGKILL)
        #expect(waitFor(20, every: 0.2) {
            let r = (try? curl("-w '\\n%{http_code}' \(base)/readyz"))?.stdout ?? ""
            return r.contains("ganesha up (pid ") && r.contains("ganesha up (pid \(ganesha))") == false && r.contains("restarted 1 times") && r.hasSuffix("\n200")
        }, "ganesha was not restarted and shown ready")
        let newGanesha = ProcessRunner.livePID(fromFile: "\(run)/ganesha.pid")
        #expect(newGanesha != nil && newGanesha != ganesha, "\(String(describing: newGanesha))")

        // The status page in a real browser: headless Chromium in the server's namespace; the screenshot is kept.
        step("status page in Chromium")
        let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("test-artifacts").path
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let shot = artifacts + "/status-page.png"
        try? FileManager.default.removeItem(atPath: shot)
        // Signed in as a browser's login prompt would (the token as the password); Chromium does not know the site CA.
        let chromium = try net.exec(net.server, "chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,700 "
                                    + "--ignore-certificate-errors --screenshot=\(shot) https://operator:\(apiToken)@127.0.0.1:8444/")
        let png = FileManager.default.contents(atPath: shot) ?? Data()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "no screenshot: \(chromium.stderr.suffix(1500))")

        // The write API, over HTTPS only: a node added gets its files and its lease from the running dnsmasq (no restart).
        step("write API over HTTPS, lease without a restart")
        // The site CA signed this server's certificate for its address (openssl as the oracle).
        let verified = try net.exec(net.server, "openssl verify -CAfile \(ca) \(home.dir)/tls/server.pem")
        #expect(verified.status == 0 && verified.stdout.contains(": OK"), "\(verified.stdout)\(verified.stderr)")
        let text = try net.exec(net.server, "openssl x509 -noout -text -in \(home.dir)/tls/server.pem").stdout
        #expect(text.contains("IP Address:\(Self.serverIP)") && text.contains("IP Address:127.0.0.1") && text.contains("TLS Web Server Authentication"), "\(text)")
        #expect(try net.exec(net.server, "openssl x509 -noout -text -in \(ca)").stdout.contains("CA:TRUE, pathlen:0"))
        for key in ["ca.key", "server.key"] {
            var st = stat()
            #expect(stat(home.dir + "/tls/" + key, &st) == 0 && st.st_mode & 0o777 == 0o600, "\(key) is not 0600")
        }
        let body = #"{"hostname":"n5","mac":"02:98:00:00:00:05"}"#
        // Over plain HTTP the operator API answers only where it is (a token sent there crossed the network in clear text).
        let plain = try net.exec(net.server, "curl -s -w '\\n%{http_code}' -H 'Authorization: Bearer \(apiToken)' --data-binary '\(body)' \(base)/api/v1/nodes")
        #expect(plain.stdout.hasSuffix("\n403") && plain.stdout.contains("answers over HTTPS only: \(secure)/api/v1/nodes") && plain.stdout.contains("rotate it"),
                "\(plain.stdout)")
        #expect(try home.run(["node", "show", "n5"]).status != 0, "a write over plain HTTP changed the registry")
        // A client that does not trust the site CA gets no answer at all.
        let untrusted = try net.exec(net.server, "curl -s -o /dev/null -w %{http_code} \(secure)/api/v1/nodes")
        #expect(untrusted.status != 0 && untrusted.stdout == "000", "\(untrusted.stdout)")
        let noToken = try net.exec(net.server, "curl -s --cacert \(ca) -o /dev/null -w %{http_code} --data-binary '\(body)' \(secure)/api/v1/nodes")
        #expect(noToken.stdout == "401", "\(noToken.stdout)")
        let added = try net.exec(net.server, "curl -s --cacert \(ca) -w '\\n%{http_code}' -H 'Authorization: Bearer \(apiToken)' --data-binary '\(body)' \(secure)/api/v1/nodes")
        #expect(added.stdout.hasSuffix("\n201") && added.stdout.contains(#""written":3"#), "\(added.stdout)")
        let shown = try JSONSerialization.jsonObject(with: Data(try home.run(["node", "show", "n5", "--json"]).stdout.utf8)) as? [String: Any]
        let n5IP = try #require(shown?["ip"] as? String)
        try net.exec(net.client, "ip link set \(net.clientIf) address 02:98:00:00:00:05")
        let lease5 = try net.exec(net.client, "busybox udhcpc -i \(net.clientIf) -n -q -f -t 6 -T 1 -s /bin/true")
        #expect(lease5.status == 0 && lease5.stderr.contains("lease of \(n5IP) obtained"), "\(lease5.stderr)")
        #expect(daemons.first { $0.0 == "dnsmasq" }.map { ProcessRunner.livePID(fromFile: "\(run)/dnsmasq.pid") == $0.1 } == true, "dnsmasq was restarted")

        // No heartbeats: lost after 3 missed beats (1 s each).
        step("lost after missed heartbeats")
        #expect(waitFor(15) { (try? home.run(["node", "show", "n1", "--json"]))?.object["state"] as? String == "lost" })

        // SIGTERM: serve exits 0 and no daemon is left.
        step("SIGTERM stops everything")
        let status = serve.stop(SIGTERM, seconds: 20)
        stopped = true
        #expect(status == 0, "serve exit: \(String(describing: status))\n\(serve.output)")
        for (name, pid) in daemons + [("ganesha, restarted", newGanesha ?? 0)] where pid > 0 {
            #expect(kill(pid, 0) != 0, "\(name) (pid \(pid)) still running after serve stopped")
        }
    }

    /// `discovery.mode: auto` with the real serve and dnsmasq: an unknown
    /// machine gets a dynamic lease, asks for its iPXE script from it and gets
    /// the first waiting node's script; its next DHCP (the initramfs') gets
    /// that node's own address and name from the running dnsmasq, no restart.
    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func autoDiscoveryBootsAnUnknownMachineAsAWaitingNode() throws {
        let serverIP = "10.96.0.1", mac = "02:96:00:00:00:01", dashed = "02-96-00-00-00-01"
        let net = try TestNetwork(serverIP: serverIP, prefix: 24)
        defer { net.close() }
        let home = try Home(["--interface", net.serverIf, "--server-ip", serverIP, "--subnet", "10.96.0.0/24", "--dhcp-range", "10.96.0.200-10.96.0.220"])
        let yaml = try String(contentsOfFile: home.config, encoding: .utf8)
        try #require(yaml.contains("discovery:\n  mode: manual"), "init writes the discovery mode")
        try yaml.replacingOccurrences(of: "discovery:\n  mode: manual", with: "discovery:\n  mode: auto").replacingOccurrences(of: "server: auto", with: "server: none")
            .write(toFile: home.config, atomically: true, encoding: .utf8)
        try #require(try home.run(["node", "add", "spare[1-2]"]).status == 0)
        let apply = try home.run(["apply"])
        try #require(apply.status == 0, "\(apply.stderr)")
        let pxelinux = try String(contentsOfFile: home.dir + "/tftp/pxelinux.cfg/default", encoding: .utf8)
        #expect(pxelinux.contains("KERNEL ipxe.lkrn") && FileManager.default.fileExists(atPath: home.dir + "/tftp/ipxe.lkrn"), "\(pxelinux)")

        let serve = try Background(["/usr/sbin/ip", "netns", "exec", net.server, CLI.binary, "serve", "--home", home.dir], log: home.dir + "/serve.log")
        defer { _ = serve.stop() }
        let base = "http://\(serverIP):8080"
        try #require(waitFor(60) { (try? net.exec(net.server, "curl -sf -m 2 \(base)/healthz"))?.status == 0 }, "serve did not come up: \(serve.output)")
        let dnsmasqPID = ProcessRunner.livePID(fromFile: home.dir + "/run/provisioner/dnsmasq.pid")

        // The firmware's DHCP: an address from the dynamic range.
        try net.exec(net.client, "ip link set \(net.clientIf) address \(mac)")
        let first = try net.exec(net.client, "busybox udhcpc -i \(net.clientIf) -n -q -f -t 6 -T 1 -V PXEClient:Arch:00000:UNDI:002001 -s /bin/true")
        let dynamic = first.stderr.components(separatedBy: "lease of ").last?.split(separator: " ").first.map(String.init) ?? ""
        #expect(first.status == 0 && dynamic.hasPrefix("10.96.0.2") && dynamic.count > 9, "\(first.stderr)")
        try net.exec(net.client, "ip addr add \(dynamic)/24 dev \(net.clientIf)")

        // dnsmasq's lease script records the lease (as the firmware loads iPXE, seconds before its script request).
        #expect(waitFor(10) { (try? home.run(["node", "discovered", "--json"]))?.stdout.contains(mac) == true }, "the lease was not recorded: \(serve.output)")
        // A made-up request for it from another address takes nothing.
        try net.exec(net.client, "ip addr add 10.96.0.99/24 dev \(net.clientIf)")
        let spoofed = try net.exec(net.client, "curl -s -m 5 --interface 10.96.0.99 \(base)/boot/\(dashed).ipxe")
        #expect(spoofed.stdout.contains("is not registered"), "\(spoofed.stdout)")
        // Its script request makes it spare1: that node's script and files.
        let script = try net.exec(net.client, "curl -s -m 5 --interface \(dynamic) \(base)/boot/\(dashed).ipxe")
        #expect(script.stdout.contains("# spare1 (\(mac),") && script.stdout.contains("provisioner.ca=sha256:"), "\(script.stdout)\n\(serve.output)")
        let shown = try JSONSerialization.jsonObject(with: Data(try home.run(["node", "show", "spare1", "--json"]).stdout.utf8)) as? [String: Any]
        #expect(shown?["mac"] as? String == mac, "\(String(describing: shown))")
        let spareIP = shown?["ip"] as? String ?? "?"
        #expect(try home.run(["node", "show", "spare2", "--json"]).object["state"] as? String == "discoverable", "spare2 still waits")
        #expect(!(try home.run(["node", "discovered", "--json"]).stdout.contains(mac)), "an accepted machine is not left in the queue")

        // The initramfs' DHCP: now the node's own address and name, from the same dnsmasq.
        let lease = try NetnsDHCPTests().dhcp(net, mac: mac, home: home)
        #expect(lease["ip"] == spareIP && lease["hostname"] == "spare1", "\(lease)")
        #expect(ProcessRunner.livePID(fromFile: home.dir + "/run/provisioner/dnsmasq.pid") == dnsmasqPID, "dnsmasq was restarted")
        let metrics = try net.exec(net.server, "curl -s -m 5 --cacert \(home.dir)/tls/ca.pem -H 'Authorization: Bearer \(try Self.apiToken(home))' https://127.0.0.1:8444/metrics").stdout
        #expect(metrics.contains("provisioner_auto_accepted_total 1"), "\(metrics)")
    }

    static let probeScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/dhcp_probe.py").path

    /// proxyDHCP beside the site's own DHCP server (a second dnsmasq in a
    /// third namespace on the same segment): the site hands out the address,
    /// serve's dnsmasq only the boot information, to a BIOS PXE ROM (offer,
    /// then the boot server request on port 4011, then TFTP) and to iPXE (the
    /// HTTP script, served to the address the site chose). Before that, serve
    /// refuses to start with a port taken and with dnsmasq missing; after it,
    /// a killed dnsmasq is restarted and answers again.
    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func proxyDHCPBesideTheSiteServer() throws {
        let serverIP = "10.97.0.1", mac = "02:97:00:00:00:01", dashed = "02-97-00-00-00-01"
        let net = try TestNetwork(serverIP: serverIP, prefix: 24, siteIP: "10.97.0.254")
        defer { net.close() }
        let home = try Home(["--interface", net.serverIf, "--server-ip", serverIP, "--subnet", "10.97.0.0/24", "--dhcp-range", "10.97.0.200-10.97.0.220"])
        let site = home.dir + "/site-dhcp"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        try net.startDaemon(net.site, "dnsmasq --port=0 --interface=\(net.siteIf) --bind-interfaces --dhcp-authoritative --dhcp-range=10.97.0.100,10.97.0.150,255.255.255.0,1h --dhcp-leasefile=\(site)/leases --pid-file=\(site)/pid --log-dhcp --log-facility=\(site)/log", pidFile: site + "/pid")
        let yaml = try String(contentsOfFile: home.config, encoding: .utf8)
        try yaml.replacingOccurrences(of: "mode: authoritative", with: "mode: proxy").replacingOccurrences(of: "server: auto", with: "server: none")
            .write(toFile: home.config, atomically: true, encoding: .utf8)
        try #require(try home.run(["node", "add", "n1", "--mac", mac]).status == 0)
        let apply = try home.run(["apply"])
        try #require(apply.status == 0, "\(apply.stderr)")
        let conf = try String(contentsOfFile: home.dir + "/etc/dnsmasq.d/provisioner.conf", encoding: .utf8)
        #expect(conf.contains("dhcp-range=10.97.0.0,proxy,255.255.255.0") && !conf.contains("dhcp-authoritative"), "\(conf)")
        let run = home.dir + "/run/provisioner"

        // Refusals, before anything starts: the HTTP port taken, then dnsmasq missing.
        let holder = try Background(["/usr/sbin/ip", "netns", "exec", net.server, "python3", "-c",
                                     "import socket,time; s=socket.socket(); s.bind(('\(serverIP)',8080)); s.listen(); time.sleep(120)"], log: home.dir + "/holder.log")
        try #require(waitFor(10) { (try? net.exec(net.server, "ss -ltnH 'sport = :8080'"))?.stdout.contains(serverIP) == true }, "port holder: \(holder.output)")
        let taken = try net.exec(net.server, "\(CLI.binary) serve --home \(home.dir)")
        #expect(taken.status != 0 && taken.stderr.contains("port 8080 (HTTP) on \(serverIP) is taken"), "\(taken.status) \(taken.stderr)")
        _ = holder.stop()
        #expect(!FileManager.default.fileExists(atPath: run + "/dnsmasq.pid"), "a refused serve started dnsmasq")
        // In a private mount namespace, /usr/sbin/dnsmasq is a plain, non-executable file.
        let fake = try home.file("not-a-program", "")
        let missing = try net.exec(net.server, "unshare --mount sh -c 'mount --bind \(fake) /usr/sbin/dnsmasq && exec \(CLI.binary) serve --home \(home.dir)'")
        #expect(missing.status != 0 && missing.stderr.contains("missing dnsmasq"), "\(missing.status) \(missing.stderr)")

        let serve = try Background(["/usr/sbin/ip", "netns", "exec", net.server, CLI.binary, "serve", "--home", home.dir, "--heartbeat", "1"], log: home.dir + "/serve.log")
        var stopped = false
        defer { if !stopped { _ = serve.stop() } }
        let base = "http://\(serverIP):8080"
        try #require(waitFor(60) { (try? net.exec(net.server, "curl -sf -m 2 \(base)/healthz"))?.status == 0 }, "serve did not come up: \(serve.output)")

        func probe(_ args: String) throws -> [[String: Any]] { try net.dhcpProbe(mac: mac, args) }
        func from(_ answers: [[String: Any]], _ server: String) -> [String: Any] {
            answers.first { $0["server_id"] as? String == server } ?? [:]
        }
        try net.exec(net.client, "ip link set \(net.clientIf) address \(mac)")

        // A BIOS PXE ROM: the address from the site, boot information from us.
        let bios = try probe("--wait 10 --expect 2")
        let siteOffer = from(bios, "10.97.0.254"), proxyOffer = from(bios, serverIP)
        let address = siteOffer["yiaddr"] as? String ?? ""
        #expect(address.hasPrefix("10.97.0.1") && Int(address.split(separator: ".").last ?? "") ?? 0 >= 100, "site offer: \(bios)")
        #expect(siteOffer["file"] as? String == "", "the site server names no boot file: \(siteOffer)")
        #expect(proxyOffer["yiaddr"] as? String == "0.0.0.0", "proxyDHCP must not offer an address: \(proxyOffer)")
        #expect(proxyOffer["vendor_class"] as? String == "PXEClient" && proxyOffer["file"] as? String == "pxelinux.0", "\(proxyOffer)")
        // PXE option 43, sub-option 8: boot server type 0x8000 at 10.97.0.1.
        #expect((proxyOffer["pxe"] as? [String: String])?["8"] == "8000010a610001", "\(proxyOffer)")
        try net.exec(net.client, "ip addr add \(address)/24 dev \(net.clientIf)")
        let ack = try probe("--server \(serverIP) --ciaddr \(address) --wait 5 --expect 1")
        #expect(ack.first?["type"] as? Int == 5 && ack.first?["file"] as? String == "pxelinux.0", "boot server answer: \(ack)")
        let got = home.dir + "/got"
        var r = try net.exec(net.client, "busybox tftp -g -r pxelinux.0 -l \(got) \(serverIP)")
        #expect(r.status == 0 && FileManager.default.contents(atPath: got) == FileManager.default.contents(atPath: "/usr/lib/PXELINUX/pxelinux.0"), "\(r.stderr)")
        r = try net.exec(net.client, "busybox tftp -g -r pxelinux.cfg/01-\(dashed) -l \(got) \(serverIP)")
        let proxyPXELinux = (try? String(contentsOfFile: got, encoding: .utf8)) ?? ""
        #expect(r.status == 0 && proxyPXELinux.contains("nfsroot=\(serverIP):"), "\(r.stderr)")
        // Proxy mode too: no boot file over TFTP carries a credential; the node asks for one.
        #expect(!proxyPXELinux.contains("provisioner.token"), "\(proxyPXELinux)")

        // iPXE: the script URL; the script and the node's own, served to the address the site chose.
        let ipxe = try probe("--ipxe --wait 10 --expect 2")
        #expect(from(ipxe, serverIP)["file"] as? String == "\(base)/boot.ipxe", "\(ipxe)")
        #expect(from(ipxe, "10.97.0.254")["yiaddr"] as? String == address, "\(ipxe)")
        let chain = try net.exec(net.client, "curl -s -m 5 --interface \(address) \(base)/boot.ipxe")
        #expect(chain.stdout.contains("chain \(base)/boot/${netX/mac:hexhyp}.ipxe"), "\(chain.stdout)")
        let script = try net.exec(net.client, "curl -s -m 5 --interface \(address) \(base)/boot/\(dashed).ipxe")
        // No secret in the script: the node controller asks for its credential over the node API's TLS.
        #expect(script.stdout.contains("#!ipxe") && !script.stdout.contains("provisioner.token") && script.stdout.contains("provisioner.ca=sha256:"),
                "\(script.stdout)")
        let leaseFile = conf.split(separator: "\n").first { $0.hasPrefix("dhcp-leasefile=") }.map { String($0.dropFirst(15)) } ?? ""
        #expect(((try? String(contentsOfFile: leaseFile, encoding: .utf8)) ?? "").isEmpty, "proxyDHCP wrote a lease")

        // dnsmasq killed: serve restarts it, and it answers again.
        let first = ProcessRunner.livePID(fromFile: run + "/dnsmasq.pid")
        try #require(first != nil, "no dnsmasq pid: \(serve.output)")
        kill(first!, SIGKILL)
        #expect(waitFor(15) { ProcessRunner.livePID(fromFile: run + "/dnsmasq.pid").map { $0 != first } ?? false }, "dnsmasq not restarted: \(serve.output)")
        let again = try probe("--ipxe --wait 10 --expect 2")
        #expect(from(again, serverIP)["file"] as? String == "\(base)/boot.ipxe", "after the restart: \(again)")
        let metrics = try net.exec(net.server, "curl -s -m 5 --cacert \(home.dir)/tls/ca.pem -H 'Authorization: Bearer \(try Self.apiToken(home))' https://127.0.0.1:8444/metrics").stdout
        #expect(metrics.contains("provisioner_daemon_restarts_total{daemon=\"dnsmasq\"} 1") && metrics.contains("provisioner_daemon_up{daemon=\"dnsmasq\"} 1"), "\(metrics)")

        let second = ProcessRunner.livePID(fromFile: run + "/dnsmasq.pid")
        let status = serve.stop(SIGTERM, seconds: 20)
        stopped = true
        #expect(status == 0, "serve exit: \(String(describing: status))\n\(serve.output)")
        if let second { #expect(kill(second, 0) != 0, "dnsmasq (pid \(second)) still running after serve stopped") }
    }
}
}
