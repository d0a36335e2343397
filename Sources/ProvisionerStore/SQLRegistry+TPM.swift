import ProvisionerCore

/// The nodes' TPM bindings, the same in both stores: the key each node is
/// bound to (its fingerprint), and a different one an enrollment was refused with.
enum TPMKeySchema {
    static func statements(text: String, key: String) -> [String] {
        [
            """
            CREATE TABLE tpm_keys (
                node_id \(key) PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
                fingerprint \(text) NOT NULL, pinned_at \(text) NOT NULL, pending \(text), pending_at \(text)
            )
            """,
        ]
    }
}

extension SQLRegistry {
    /// The TPM key `hostname` is bound to, if any.
    public func tpmKey(hostname: Hostname) throws -> TPMKeyRecord? {
        try read { db in
            try db.row("""
                SELECT t.fingerprint, t.pinned_at, t.pending, t.pending_at FROM tpm_keys t JOIN nodes n ON n.id = t.node_id WHERE n.hostname = ?
                """, [hostname.value]).map { row in TPMKeyRecord(fingerprint: row[0], pinnedAt: row[1], pending: row[2], pendingAt: row[3]) }
        }
    }

    /// Binds `hostname` to the key of `record` (nil unbinds it), in the audit log as `action`.
    /// - Throws: `NotFoundError` for an unknown node.
    public func setTPMKey(hostname: Hostname, _ record: TPMKeyRecord?, action: String, now: String) throws {
        try write { db in try Self.setTPMKey(db, hostname: hostname, record, action: action, now: now) }
    }

    static func setTPMKey(_ db: any SQLSession, hostname: Hostname, _ record: TPMKeyRecord?, action: String, now: String) throws {
        guard let id = try db.value(Int64.self, "SELECT id FROM nodes WHERE hostname = ?", [hostname.value]) else {
            throw NotFoundError("node", hostname.value)
        }
        let old = try db.value(String.self, "SELECT fingerprint FROM tpm_keys WHERE node_id = ?", [id])
        if let record {
            try db.execute("""
                INSERT INTO tpm_keys (node_id, fingerprint, pinned_at, pending, pending_at) VALUES (?, ?, ?, NULL, NULL)
                ON CONFLICT(node_id) DO UPDATE SET fingerprint = excluded.fingerprint, pinned_at = excluded.pinned_at, pending = NULL, pending_at = NULL
                """, [id, record.fingerprint, record.pinnedAt])
        } else {
            try db.execute("DELETE FROM tpm_keys WHERE node_id = ?", [id])
        }
        try db.execute("INSERT INTO audit (at, action, subject, old, new, actor) VALUES (?, ?, ?, ?, ?, ?)",
                       [now, action, hostname.value, old, record?.fingerprint, AuditActor.value])
    }

    /// Keeps the key an enrollment of the bound node `hostname` was refused with.
    public func offerTPMKey(hostname: Hostname, fingerprint: String, now: String) throws {
        _ = try write { db in
            try db.execute("""
                UPDATE tpm_keys SET pending = ?, pending_at = ? WHERE node_id = (SELECT id FROM nodes WHERE hostname = ?)
                """, [fingerprint, now, hostname.value])
        }
    }
}
