import Foundation
import Synchronization
import Testing
import TestSupport
import ProvisionerCore
@testable import ProvisionerStore

/// The change log boot servers follow, and their reports, on both stores.
@Suite struct ChangeLogTests {
    let dir = tempDir()

    /// Every change of what a node's boot files are made of is logged once
    /// per node (a rename under both names); run-time status is not.
    @Test(arguments: Store.allCases) func theLogNamesEachChangedNode(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()
        let start = try r.latestChange()
        #expect(try r.nodeChanges(since: start, limit: 100) == NodeChanges(latest: start, changed: [:]))
        try r.add([try spec("a", "02:00:00:00:00:01"), try spec("b", "02:00:00:00:00:02")], config: c, now: "t0")
        let added = try #require(try r.nodeChanges(since: start, limit: 100))
        #expect(Set(added.changed.keys) == ["a", "b"] && added.changed["a"]??.mac?.description == "02:00:00:00:00:01")
        #expect(added.latest > start)

        // Boot telemetry changes no boot file: nothing logged.
        _ = try r.recordBootEvent(mac: try MACAddress(parsing: "02:00:00:00:00:01"), ip: "10.0.0.2", phase: .dhcp, now: "t1", newBoot: true, bootPath: nil)
        #expect(try r.nodeChanges(since: added.latest, limit: 100)?.changed.isEmpty == true)

        _ = try r.update("a", NodeChange(ip: try IPv4Address(parsing: "10.0.0.77")), config: c, now: "t2")
        _ = try r.update("b", NodeChange(hostname: try Hostname(parsing: "b2")), config: c, now: "t3")
        let changed = try #require(try r.nodeChanges(since: added.latest, limit: 100))
        #expect(Set(changed.changed.keys) == ["a", "b", "b2"])
        #expect(changed.changed["a"]??.ip.description == "10.0.0.77")
        #expect(changed.changed["b"]! == nil, "the old name of a renamed node is gone")
        #expect(changed.changed["b2"]??.mac?.description == "02:00:00:00:00:02")

        try r.remove(["a"], now: "t4")
        let removed = try #require(try r.nodeChanges(since: changed.latest, limit: 100))
        #expect(removed.changed.count == 1 && removed.changed["a"]! == nil)

        // A whole read is at the same point of the log.
        let all = try r.nodesAtSequence()
        #expect(all.sequence == removed.latest && all.nodes.map(\.hostname.value) == ["b2"])
        // Too many changed nodes, or a sequence number from another registry: read in full.
        #expect(try r.nodeChanges(since: start, limit: 2) == nil)
        #expect(try r.nodeChanges(since: removed.latest + 10, limit: 100) == nil)
    }

    /// A log pruned past a follower's sequence number cannot tell it what it missed.
    @Test(arguments: Store.allCases) func aFollowerBehindThePrunedLogReadsInFull(_ store: Store) throws {
        let r = try store.open(dir)
        try r.add([try spec("a", "02:00:00:00:00:01")], config: try config(), now: "t0")
        try r.add([try spec("b", "02:00:00:00:00:02")], config: try config(), now: "t0")
        let latest = try r.latestChange()
        try r.write { db in _ = try db.execute("DELETE FROM node_changes WHERE seq < ?", [latest]) }
        #expect(try r.nodeChanges(since: latest - 2, limit: 100) == nil)
        #expect(try r.nodeChanges(since: latest - 1, limit: 100)?.changed.keys.sorted() == ["b"])
    }

    @Test(arguments: Store.allCases) func bootServersReportThemselves(_ store: Store) throws {
        let r = try store.open(dir)
        var record = BootServerRecord(name: "bs1", address: "10.0.0.1", subnet: "10.0.0.0/24", role: "primary", dhcpRange: "10.0.0.200-10.0.0.224",
                                      startedAt: "t0", lastContact: "t1", appliedSequence: 3, replicaNodes: 2, daemons: ["dnsmasq": true, "ganesha": false])
        try r.reportBootServer(record)
        record.lastContact = "t2"
        record.appliedSequence = 5
        try r.reportBootServer(record)
        try r.reportBootServer(BootServerRecord(name: "bs0", address: "10.0.0.3", subnet: "10.0.0.0/24", role: nil, dhcpRange: nil,
                                                startedAt: "t0", lastContact: "t0", appliedSequence: 0, replicaNodes: 0, daemons: [:]))
        let servers = try r.bootServers()
        #expect(servers.map(\.name) == ["bs0", "bs1"])
        #expect(servers.last == record)
        // A node never gets a boot server's address, handed out or asked for.
        let c = try config()
        try r.reportBootServer(BootServerRecord(name: "bs2", address: "10.0.0.2", subnet: "10.0.0.0/24", role: "secondary", dhcpRange: nil,
                                                startedAt: "t0", lastContact: "t0", appliedSequence: 0, replicaNodes: 0, daemons: [:]))
        #expect(try r.add([try spec("n1", "02:00:00:00:00:01")], config: c, now: "t0").first?.ip.description == "10.0.0.4", "10.0.0.2 and .3 are boot servers' (bs2, bs0)")
        let asked = #expect(throws: ConflictError.self) { try r.add([try spec("n2", "02:00:00:00:00:02", ip: "10.0.0.2")], config: c, now: "t0") }
        #expect(asked?.holder == "bs2", "\(String(describing: asked))")
        #expect(throws: ConflictError.self) { try r.update("n1", NodeChange(ip: try IPv4Address(parsing: "10.0.0.2")), config: c, now: "t1") }
        _ = try r.removeBootServer("bs2")
        #expect(try r.removeBootServer("bs0") && !(try r.removeBootServer("bs0")))
        #expect(try r.bootServers().map(\.name) == ["bs1"])
    }
}

/// The doorbell only PostgreSQL has.
@Suite struct ChangeNotificationTests {
    /// A commit made through another connection rings the listener; so does its (re)connect.
    @Test func aCommitRingsEveryListener() async throws {
        let url = try PostgresTestServer.shared.get().database()
        let follower = try PostgresRegistry(url: url)
        let writer = try PostgresRegistry(url: url)
        final class Rings: Sendable {
            let count = Atomic<Int>(0)
            var value: Int { count.load(ordering: .relaxed) }
        }
        let rings = Rings()
        let watch = Task { await follower.watchChanges { rings.count.add(1, ordering: .relaxed) } }
        defer { watch.cancel() }
        func waitFor(_ n: Int) async -> Bool {
            for _ in 0..<200 where rings.value < n { try? await Task.sleep(for: .milliseconds(25)) }
            return rings.value >= n
        }
        #expect(await waitFor(1), "no ring once listening")
        let before = rings.value
        try writer.add([try spec("a", "02:00:00:00:00:01")], config: try config(), now: "t0")
        #expect(await waitFor(before + 1), "no ring after a commit")
        // Boot telemetry logs no change, and rings nothing.
        let after = rings.value
        try writer.recordBootEvent(mac: try MACAddress(parsing: "02:00:00:00:00:01"), ip: nil, phase: .dhcp, now: "t1", newBoot: true, bootPath: nil)
        try await Task.sleep(for: .milliseconds(300))
        #expect(rings.value == after)
        watch.cancel()
        _ = await watch.value
    }
}
