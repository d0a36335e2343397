import ProvisionerCore

/// Each node's standing in the site's cloud, the same in both stores: as its
/// node controller last reported it (joined, or pending and why), and since when.
enum CloudMemberSchema {
    static func statements(text: String, key: String) -> [String] {
        [
            """
            CREATE TABLE cloud_members (
                node_id \(key) PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
                state \(text) NOT NULL, reason \(text), since \(text) NOT NULL
            )
            """,
        ]
    }
}

/// A node's standing in the cloud, as the registry keeps it.
public struct CloudMemberRecord: Sendable, Equatable, Codable {
    /// joined or pending.
    public var state: String
    public var reason: String?
    /// When it last changed.
    public var since: String
    public init(state: String, reason: String?, since: String) {
        self.state = state
        self.reason = reason
        self.since = since
    }
}

extension SQLRegistry {
    /// `hostname`'s standing in the cloud, if it has reported one.
    public func cloudMember(hostname: Hostname) throws -> CloudMemberRecord? {
        try read { db in
            try db.row("""
                SELECT c.state, c.reason, c.since FROM cloud_members c JOIN nodes n ON n.id = c.node_id WHERE n.hostname = ?
                """, [hostname.value]).map { row in CloudMemberRecord(state: row[0] ?? "", reason: row[1], since: row[2] ?? "") }
        }
    }

    /// Every node's standing in the cloud, by hostname.
    public func cloudMembers() throws -> [String: CloudMemberRecord] {
        try read { db in
            Dictionary(try db.rows("""
                SELECT n.hostname, c.state, c.reason, c.since FROM cloud_members c JOIN nodes n ON n.id = c.node_id
                """, []).map { row in (row[0] ?? "", CloudMemberRecord(state: row[1] ?? "", reason: row[2], since: row[3] ?? "")) },
                uniquingKeysWith: { a, _ in a })
        }
    }

    /// Records `hostname`'s standing (a node that is gone is no error: nothing to record).
    public func setCloudMember(hostname: Hostname, state: String, reason: String?, now: String) throws {
        _ = try write { db in
            try db.execute("""
                INSERT INTO cloud_members (node_id, state, reason, since) SELECT id, ?, ?, ? FROM nodes WHERE hostname = ?
                ON CONFLICT(node_id) DO UPDATE SET state = excluded.state, reason = excluded.reason, since = excluded.since
                """, [state, reason, now, hostname.value])
        }
    }
}
