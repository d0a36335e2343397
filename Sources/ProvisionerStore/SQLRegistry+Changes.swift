import Foundation
import ProvisionerCore

/// The nodes changed since a point of the registry's change log.
public struct NodeChanges: Sendable, Equatable {
    /// The change log's last sequence number: where the next call starts.
    public var latest: Int64
    /// Each changed node as it is now, by hostname; nil for one that is gone
    /// (removed, or renamed: its new name is in here too).
    public var changed: [String: Node?]
}

/// A boot server as it last reported itself to the registry (`serve` does,
/// every heartbeat interval): what `cluster status` shows per boot server.
public struct BootServerRecord: Codable, Sendable, Equatable {
    public var name: String
    /// Its address on the node network (nfsroot, HTTP, next-server).
    public var address: String
    public var subnet: String
    /// primary or secondary of its subnet, or nil when it serves it alone.
    public var role: String?
    /// The part of the dynamic range it hands out.
    public var dhcpRange: String?
    public var startedAt: String
    public var lastContact: String
    /// The change log's sequence number its replica and boot files are at.
    public var appliedSequence: Int64
    public var replicaNodes: Int
    /// Its boot daemons: name → running.
    public var daemons: [String: Bool]

    public init(name: String, address: String, subnet: String, role: String?, dhcpRange: String?, startedAt: String, lastContact: String,
                appliedSequence: Int64, replicaNodes: Int, daemons: [String: Bool]) {
        self.name = name
        self.address = address
        self.subnet = subnet
        self.role = role
        self.dhcpRange = dhcpRange
        self.startedAt = startedAt
        self.lastContact = lastContact
        self.appliedSequence = appliedSequence
        self.replicaNodes = replicaNodes
        self.daemons = daemons
    }
}

extension SQLRegistry {
    /// The nodes whose boot files changed after `sequence` (added, removed,
    /// or a new hostname, MAC, IP, profile or pin), read in one transaction.
    /// - Returns: nil when the log cannot say: it was pruned past
    ///   `sequence`, the registry is not the one `sequence` came from (it is
    ///   behind it), or more than `limit` nodes changed. Read in full then.
    public func nodeChanges(since sequence: Int64, limit: Int = 5_000) throws -> NodeChanges? {
        try read { db in
            let latest = try Self.latestChange(db)
            if latest == sequence { return NodeChanges(latest: latest, changed: [:]) }
            guard latest > sequence else { return nil }
            let oldest = try db.value(Int64.self, "SELECT min(seq) FROM node_changes") ?? 0
            guard oldest <= sequence + 1 else { return nil }
            let names = try db.values(String.self, "SELECT DISTINCT hostname FROM node_changes WHERE seq > ? LIMIT ?", [sequence, limit + 1])
            guard names.count <= limit else { return nil }
            var changed: [String: Node?] = Dictionary(uniqueKeysWithValues: names.map { ($0, nil) })
            for start in stride(from: 0, to: names.count, by: 500) {
                let chunk = Array(names[start..<min(start + 500, names.count)])
                for row in try db.rows("SELECT \(Self.nodeColumns) FROM nodes WHERE hostname IN (\(Self.marks(chunk.count)))", chunk) {
                    let node = try Self.node(row)
                    changed[node.hostname.value] = node
                }
            }
            return NodeChanges(latest: latest, changed: changed)
        }
    }

    /// Every node and the change log's sequence number they are at, read in one transaction.
    public func nodesAtSequence() throws -> (sequence: Int64, nodes: [Node]) {
        try read { db in
            (try Self.latestChange(db), try Self.allNodes(db))
        }
    }

    /// The change log's last sequence number.
    public func latestChange() throws -> Int64 {
        try read { db in try Self.latestChange(db) }
    }

    static func latestChange(_ db: any SQLSession) throws -> Int64 {
        try db.value(Int64.self, "SELECT coalesce(max(seq), 0) FROM node_changes") ?? 0
    }

    /// Records what a boot server reports of itself (one row per name).
    public func reportBootServer(_ r: BootServerRecord) throws {
        let daemons = try Self.encodeJSON(r.daemons)
        try write { db in
            _ = try db.execute("""
                INSERT INTO boot_servers (name, address, subnet, role, dhcp_range, started_at, last_contact, applied_seq, replica_nodes, daemons)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET address = excluded.address, subnet = excluded.subnet, role = excluded.role,
                    dhcp_range = excluded.dhcp_range, started_at = excluded.started_at, last_contact = excluded.last_contact,
                    applied_seq = excluded.applied_seq, replica_nodes = excluded.replica_nodes, daemons = excluded.daemons
                """, [r.name, r.address, r.subnet, r.role, r.dhcpRange, r.startedAt, r.lastContact, r.appliedSequence, r.replicaNodes, daemons])
        }
    }

    /// Every boot server that ever reported, by name.
    public func bootServers() throws -> [BootServerRecord] {
        try read { db in
            try db.rows("""
                SELECT name, address, subnet, role, dhcp_range, started_at, last_contact, applied_seq, replica_nodes, daemons
                FROM boot_servers ORDER BY name
                """).map { row in
                BootServerRecord(name: row[0], address: row[1], subnet: row[2], role: row[3], dhcpRange: row[4],
                                 startedAt: row[5], lastContact: row[6], appliedSequence: row[7], replicaNodes: row[8],
                                 daemons: Self.decodeJSON([String: Bool].self, row[9] as String) ?? [:])
            }
        }
    }

    /// Forgets a boot server (taken out of the site); false when none has that name.
    public func removeBootServer(_ name: String) throws -> Bool {
        try write { db in try db.execute("DELETE FROM boot_servers WHERE name = ?", [name]) == 1 }
    }
}
