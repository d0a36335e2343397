import ProvisionerCore

/// The boot credentials' and heartbeat credentials' tables, the same in both stores.
enum BootCredentialSchema {
    static func statements(text: String, key: String) -> [String] {
        [
            """
            CREATE TABLE boot_credentials (
                node_id \(key) PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
                mac \(text) NOT NULL, digest \(text) NOT NULL, given_to \(text), minted_at \(text) NOT NULL,
                used_at \(text), used_from \(text)
            )
            """,
            // Each node's heartbeat credential of its last enrollment (its digest): any boot
            // server sharing the registry, or one restarted, takes its heartbeats.
            """
            CREATE TABLE node_credentials (
                node_id \(key) PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
                digest \(text) NOT NULL UNIQUE, ip \(text) NOT NULL, issued_at \(text) NOT NULL
            )
            """,
        ]
    }
}

extension SQLRegistry {
    /// Keeps a node's new boot credential (its digest), replacing the one of
    /// its earlier boot, used or not: the last one minted is the one that enrolls.
    /// - Throws: `NotFoundError` when no node has the MAC.
    public func mintBootCredential(_ record: BootCredentialRecord) throws {
        try write { db in
            guard let id = try db.value(Int64.self, "SELECT id FROM nodes WHERE mac = ?", [record.mac.description]) else {
                throw NotFoundError("node", record.mac.description)
            }
            try db.execute("""
                INSERT INTO boot_credentials (node_id, mac, digest, given_to, minted_at, used_at, used_from) VALUES (?, ?, ?, ?, ?, NULL, NULL)
                ON CONFLICT(node_id) DO UPDATE SET mac = excluded.mac, digest = excluded.digest, given_to = excluded.given_to,
                    minted_at = excluded.minted_at, used_at = NULL, used_from = NULL
                """, [id, record.mac.description, record.digest, record.givenTo, record.mintedAt])
        }
    }

    /// The boot credential last minted for the node with `mac`, if any.
    public func bootCredential(mac: MACAddress) throws -> BootCredentialRecord? {
        try read { db in
            try db.row("""
                SELECT c.digest, c.given_to, c.minted_at, c.used_at, c.used_from FROM boot_credentials c JOIN nodes n ON n.id = c.node_id
                WHERE n.mac = ? AND c.mac = n.mac
                """, [mac.description]).map { row in
                BootCredentialRecord(mac: mac, digest: row[0], givenTo: row[1], mintedAt: row[2], usedAt: row[3], usedFrom: row[4])
            }
        }
    }

    /// Records a boot's enrollment in one transaction: the boot credential
    /// used up (once, whichever boot server gets there first), the node's
    /// status (`recordEnrollment`), its new heartbeat credential.
    /// - Returns: false, with nothing recorded, when the credential was used or replaced meanwhile.
    public func enroll(_ e: EnrollmentRecord, now: String) throws -> Bool {
        guard let mac = e.node.mac else { return false }
        return try write { db in
            guard try Self.useBootCredential(db, mac: mac, digest: e.bootDigest, now: now, from: e.from) else { return false }
            try Self.recordEnrollment(db, hostname: e.node.hostname, image: e.image, capacity: e.capacity, instances: e.instances,
                                      bootTimings: e.bootTimings, platform: e.platform, now: now)
            try Self.setNodeCredential(db, hostname: e.node.hostname, digest: e.heartbeatDigest, ip: e.node.ip, now: now)
            if let pin = e.tpmPin {
                try Self.setTPMKey(db, hostname: e.node.hostname, TPMKeyRecord(fingerprint: pin, pinnedAt: now), action: "node.tpm.pin", now: now)
            }
            return true
        }
    }

    /// Keeps `hostname`'s new heartbeat credential (its digest), replacing its earlier one.
    /// - Throws: `NotFoundError` for an unknown node.
    public func setNodeCredential(hostname: Hostname, digest: String, ip: IPv4Address, now: String) throws {
        try write { db in try Self.setNodeCredential(db, hostname: hostname, digest: digest, ip: ip, now: now) }
    }

    static func setNodeCredential(_ db: any SQLSession, hostname: Hostname, digest: String, ip: IPv4Address, now: String) throws {
        guard let id = try db.value(Int64.self, "SELECT id FROM nodes WHERE hostname = ?", [hostname.value]) else {
            throw NotFoundError("node", hostname.value)
        }
        try db.execute("""
            INSERT INTO node_credentials (node_id, digest, ip, issued_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(node_id) DO UPDATE SET digest = excluded.digest, ip = excluded.ip, issued_at = excluded.issued_at
            """, [id, digest, ip.description, now])
    }

    /// Revokes the heartbeat credential with `digest` (two parties used it): its node enrolls again.
    public func revokeNodeCredential(digest: String) throws {
        _ = try write { db in try db.execute("DELETE FROM node_credentials WHERE digest = ?", [digest]) }
    }

    /// The node whose current heartbeat credential has `digest`, and the address it was issued to.
    public func nodeCredential(digest: String) throws -> (hostname: Hostname, ip: IPv4Address)? {
        try read { db in
            guard let row = try db.row("SELECT n.hostname, c.ip FROM node_credentials c JOIN nodes n ON n.id = c.node_id WHERE c.digest = ?",
                                       [digest]),
                  let hostname = try? Hostname(parsing: row[0] as String), let ip = try? IPv4Address(parsing: row[1] as String) else { return nil }
            return (hostname, ip)
        }
    }

    /// Uses the credential with `digest` up, once, atomically: false when it
    /// was used already or a newer one replaced it (another boot server, or
    /// another request, got there first).
    public func useBootCredential(mac: MACAddress, digest: String, now: String, from: String?) throws -> Bool {
        try write { db in try Self.useBootCredential(db, mac: mac, digest: digest, now: now, from: from) }
    }

    static func useBootCredential(_ db: any SQLSession, mac: MACAddress, digest: String, now: String, from: String?) throws -> Bool {
        try db.execute("""
            UPDATE boot_credentials SET used_at = ?, used_from = ?
            WHERE mac = ? AND digest = ? AND used_at IS NULL AND node_id = (SELECT id FROM nodes WHERE mac = ?)
            """, [now, from, mac.description, digest, mac.description]) == 1
    }
}
