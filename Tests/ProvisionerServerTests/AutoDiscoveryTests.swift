import Foundation
import Hummingbird
import HummingbirdTesting
import ProvisionerCore
import ProvisionerStore
import Testing
@testable import ProvisionerServer

/// `discovery.mode: auto`: an unknown machine asking for its iPXE script takes
/// the first node added without a MAC, gets that node's script and files at
/// once, and two machines asking at the same time never get the same node;
/// only a machine serve's DHCP leased the address it asks from, moments ago.
/// Over a live listener on loopback: the client's address is 127.0.0.1.
struct AutoDiscoveryTests {
    let site = NodeWriteAPITests()

    /// serve's DHCP leased `mac` the address the test client asks from (as dnsmasq's lease script records it).
    func leased(_ state: ServeState, _ mac: String, ip: String = "127.0.0.1", at: String? = nil) throws {
        try state.registry.recordBootEvent(mac: try MACAddress(parsing: mac), ip: ip, phase: .dhcp, now: at ?? state.now())
    }

    func addSpares(_ state: ServeState, _ names: [String]) throws {
        try state.registry.add(try names.map { NodeSpec(hostname: try Hostname(parsing: $0), mac: nil) }, config: state.config, now: "2026-01-01T00:00:00Z")
    }

    func script(_ client: some TestClientProtocol, _ mac: String) async throws -> (HTTPResponse.Status, String) {
        let dashed = try MACAddress(parsing: mac).dashed
        return try await client.execute(uri: "/boot/\(dashed).ipxe", method: .get) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func anUnknownMachineTakesTheFirstWaitingNode() async throws {
        let state = try site.makeState(discovery: .auto)
        defer { try? FileManager.default.removeItem(atPath: site.dir) }
        try addSpares(state, ["spare2", "spare1"])
        try leased(state, "02:42:00:00:00:31")
        let app = try buildApplication(state, host: "127.0.0.1", port: 0)
        try await app.test(.live) { client in
            let (status, text) = try await script(client, "02:42:00:00:00:31")
            #expect(status == .ok)
            #expect(text.hasPrefix("#!ipxe") && text.contains("spare1 (02:42:00:00:00:31"), "\(text)")
            // No secret in it: the node controller asks for its boot credential over the node API's TLS.
            #expect(!text.contains("provisioner.token") && text.contains("provisioner.server=https://"), "\(text)")
            #expect(try state.registry.bootCredential(mac: try MACAddress(parsing: "02:42:00:00:00:31")) == nil)
        }
        let node = try #require(try state.registry.node("spare1"))
        #expect(node.mac?.description == "02:42:00:00:00:31" && node.state != .discoverable)
        #expect(try state.registry.node("spare2")?.mac == nil, "one machine takes one node")
        let entry = try String(contentsOfFile: site.dir + "/dhcp-hosts/spare1.conf", encoding: .utf8)
        #expect(entry.contains("02:42:00:00:00:31,spare1,\(node.ip)"), "\(entry)")
        #expect(FileManager.default.fileExists(atPath: site.dir + "/tftp/pxelinux.cfg/01-02-42-00-00-00-31"))
        #expect(try state.registry.discovered().isEmpty, "an accepted machine is not left in the queue")
        state.telemetry.drain()  // boot phases are written beside the boot, on the telemetry queue
        #expect(try state.registry.status("spare1")?.phases[.ipxe] != nil, "the boot is recorded from its script fetch")
        #expect(state.metrics.autoAccepted == 1)
    }

    @Test func machinesAskingAtOnceGetDifferentNodesAndTheRestWait() async throws {
        let state = try site.makeState(discovery: .auto)
        defer { try? FileManager.default.removeItem(atPath: site.dir) }
        try addSpares(state, ["s1", "s2", "s3"])
        let macs = (1...6).map { String(format: "02:42:00:00:01:%02x", $0) }
        for mac in macs { try leased(state, mac) }
        let app = try buildApplication(state, host: "127.0.0.1", port: 0)
        let answers = try await app.test(.live) { client in
            try await withThrowingTaskGroup(of: (String, String).self) { group in
                for mac in macs { group.addTask { (mac, try await script(client, mac).1) } }
                return try await group.reduce(into: [String: String]()) { $0[$1.0] = $1.1 }
            }
        }
        let nodes = try state.registry.nodes().filter { $0.hostname.value.hasPrefix("s") }
        let taken = nodes.compactMap(\.mac?.description)
        #expect(taken.count == 3 && Set(taken).count == 3, "three nodes, three different machines: \(nodes)")
        let waiting = try state.registry.discovered().map(\.mac)
        #expect(Set(waiting) == Set(macs).subtracting(taken), "the other three wait in discovery: \(waiting)")
        for mac in macs {
            let text = answers[mac] ?? ""
            if let node = nodes.first(where: { $0.mac?.description == mac }) {
                #expect(text.contains("\(node.hostname) (\(mac)"), "\(mac) got \(text)")
            } else {
                #expect(text.contains("is not registered"), "\(mac) should get the default script: \(text)")
            }
        }
        #expect(state.metrics.autoAccepted == 3)
    }

    /// A made-up MAC takes nothing: with no lease, a lease of another address,
    /// or a lease from long ago, the machine stays queued and the spare waits.
    @Test func onlyAMachineWithAFreshLeaseFromItsAddressTakesANode() async throws {
        let state = try site.makeState(discovery: .auto)
        defer { try? FileManager.default.removeItem(atPath: site.dir) }
        try addSpares(state, ["spare1"])
        try leased(state, "02:42:00:00:02:02", ip: "10.42.0.201")
        try leased(state, "02:42:00:00:02:03", at: Timestamp.iso(Date().addingTimeInterval(-DiscoveryRules.leaseFreshness - 60)))
        let app = try buildApplication(state, host: "127.0.0.1", port: 0)
        try await app.test(.live) { client in
            for mac in ["02:42:00:00:02:01", "02:42:00:00:02:02", "02:42:00:00:02:03"] {
                let (status, text) = try await script(client, mac)
                #expect(status == .ok && text.contains("is not registered"), "\(mac) took a node: \(text)")
            }
            #expect(try state.registry.node("spare1")?.mac == nil, "the spare still waits")
            // The same machine once serve's DHCP leased it this address: it takes the spare.
            try leased(state, "02:42:00:00:02:02")
            let (_, text) = try await script(client, "02:42:00:00:02:02")
            #expect(text.contains("spare1 (02:42:00:00:02:02"), "\(text)")
        }
        #expect(Set(try state.registry.discovered().map(\.mac)) == ["02:42:00:00:02:01", "02:42:00:00:02:03"])
        #expect(state.metrics.autoAccepted == 1)
    }

    @Test func manualDiscoveryOnlyQueues() async throws {
        let state = try site.makeState(discovery: .manual)
        defer { try? FileManager.default.removeItem(atPath: site.dir) }
        try addSpares(state, ["spare1"])
        let app = try buildApplication(state, host: "127.0.0.1", port: 0)
        try await app.test(.live) { client in
            let (status, text) = try await script(client, "02:42:00:00:00:41")
            #expect(status == .ok && text.contains("is not registered"), "\(text)")
        }
        #expect(try state.registry.node("spare1")?.mac == nil)
        #expect(try state.registry.discovered().map(\.mac) == ["02:42:00:00:00:41"])
    }
}
