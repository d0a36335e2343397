import ProvisionerCore

/// The audit log's actor column, the API tokens' table and the discovered
/// machines' leases, the same in both stores.
enum TokenSchema {
    static func statements(text: String) -> [String] {
        [
            "ALTER TABLE audit ADD COLUMN actor \(text)",
            """
            CREATE TABLE api_tokens (
                name \(text) PRIMARY KEY, digest \(text) NOT NULL UNIQUE, scopes \(text) NOT NULL,
                created_at \(text) NOT NULL, rotated_at \(text) NOT NULL, last_used_at \(text)
            )
            """,
            // The address serve's DHCP last leased a discovered machine, and when (`DiscoveryRules`).
            "ALTER TABLE discovered ADD COLUMN lease_ip \(text)",
            "ALTER TABLE discovered ADD COLUMN lease_at \(text)",
        ]
    }
}

extension SQLRegistry {
    static func tokenRecord(_ row: SQLRow) -> APIToken {
        let scopes = (row[1] as String).split(separator: ",").compactMap { APIScope(rawValue: String($0)) }
        return APIToken(name: row[0], scopes: scopes, createdAt: row[2], rotatedAt: row[3], lastUsedAt: row[4])
    }

    static var tokenColumns: String { "name, scopes, created_at, rotated_at, last_used_at" }

    /// Keeps a new named token (its digest), with an audit record (never the value).
    /// - Throws: `ConflictError` when the name is taken.
    public func addAPIToken(name: APITokenName, digest: String, scopes: [APIScope], now: String) throws -> APIToken {
        try write { db in
            if try db.value(String.self, "SELECT name FROM api_tokens WHERE name = ?", [name.value]) != nil {
                throw ConflictError(field: "name", value: name.value, holder: "token \(name.value)",
                                    "a token named \(name.value) exists (`provisioner token rotate \(name.value)` gives it a new value)")
            }
            let scopeText = scopes.map(\.rawValue).joined(separator: ",")
            try db.execute("INSERT INTO api_tokens (name, digest, scopes, created_at, rotated_at) VALUES (?, ?, ?, ?, ?)",
                           [name.value, digest, scopeText, now, now])
            try db.execute("INSERT INTO audit (at, action, subject, new, actor) VALUES (?, 'token.add', ?, ?, ?)",
                           [now, name.value, "scopes " + scopeText, AuditActor.value])
            return APIToken(name: name.value, scopes: scopes, createdAt: now, rotatedAt: now)
        }
    }

    /// Every named token, by name.
    public func apiTokens() throws -> [APIToken] {
        try read { db in try db.rows("SELECT \(Self.tokenColumns) FROM api_tokens ORDER BY name").map(Self.tokenRecord) }
    }

    /// The token whose digest is `digest`, if one is kept.
    public func apiToken(digest: String) throws -> APIToken? {
        try read { db in try db.row("SELECT \(Self.tokenColumns) FROM api_tokens WHERE digest = ?", [digest]).map(Self.tokenRecord) }
    }

    /// Forgets a token: it authorizes nothing from now on.
    /// - Throws: `NotFoundError` for an unknown name.
    public func revokeAPIToken(name: APITokenName, now: String) throws {
        try write { db in
            guard try db.execute("DELETE FROM api_tokens WHERE name = ?", [name.value]) == 1 else { throw NotFoundError("token", name.value) }
            try db.execute("INSERT INTO audit (at, action, subject, actor) VALUES (?, 'token.revoke', ?, ?)", [now, name.value, AuditActor.value])
        }
    }

    /// Gives a token a new value (its digest); the old value stops working.
    /// - Throws: `NotFoundError` for an unknown name.
    public func rotateAPIToken(name: APITokenName, digest: String, now: String) throws -> APIToken {
        try write { db in
            guard try db.execute("UPDATE api_tokens SET digest = ?, rotated_at = ? WHERE name = ?", [digest, now, name.value]) == 1,
                  let row = try db.row("SELECT \(Self.tokenColumns) FROM api_tokens WHERE name = ?", [name.value]) else {
                throw NotFoundError("token", name.value)
            }
            try db.execute("INSERT INTO audit (at, action, subject, actor) VALUES (?, 'token.rotate', ?, ?)", [now, name.value, AuditActor.value])
            return Self.tokenRecord(row)
        }
    }

    /// Records a change made outside the registry (the site token's file rotated) in the audit log.
    public func recordAudit(action: String, subject: String, now: String) throws {
        _ = try write { db in
            try db.execute("INSERT INTO audit (at, action, subject, actor) VALUES (?, ?, ?, ?)", [now, action, subject, AuditActor.value])
        }
    }

    /// Notes that a token authorized a request (at most once a minute each: `now` is compared as text).
    public func touchAPIToken(name: String, now: String, after: String) throws {
        _ = try write { db in
            try db.execute("UPDATE api_tokens SET last_used_at = ? WHERE name = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                           [now, name, after])
        }
    }

    /// The audit log, oldest first: rows at or after `since` (all when nil), the last `limit`.
    public func audit(since: String?, limit: Int) throws -> [AuditEntry] {
        try read { db in
            let rows = try db.rows("""
                SELECT id, at, actor, action, subject, old, new FROM audit WHERE at >= ? ORDER BY id DESC LIMIT ?
                """, [since ?? "", max(0, limit)])
            return rows.reversed().map { AuditEntry(id: $0[0], at: $0[1], actor: $0[2], action: $0[3], subject: $0[4], old: $0[5], new: $0[6]) }
        }
    }
}
