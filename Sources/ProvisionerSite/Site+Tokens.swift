import Foundation
import ProvisionerCore
import ProvisionerPlatform
import ProvisionerStore

/// The operator API's tokens: the site's own (`<home>/api.token`, every
/// scope, made on first serve) and named ones with scopes, kept in the
/// registry as digests (so every boot server sharing the registry takes
/// them); and the audit log that records which token did what.
extension Site {
    /// A token as `token list` shows it: a named one, or the site's own.
    public struct TokenInfo: Sendable, Encodable {
        public var name: String
        public var scopes: [APIScope]
        /// "registry" or the site token's file.
        public var keptIn: String
        public var createdAt: String?
        public var rotatedAt: String?
        public var lastUsedAt: String?

        enum CodingKeys: String, CodingKey {
            case name, scopes, keptIn = "kept_in", createdAt = "created_at", rotatedAt = "rotated_at", lastUsedAt = "last_used_at"
        }
    }

    /// Makes a named token with `scopes`.
    /// - Returns: the token and its value (shown once; only its digest is kept).
    /// - Throws: `ValidationError` for a bad or reserved name, `ConflictError` when the name is taken.
    public func addToken(name: String, scopes: [APIScope], now: String) throws -> (token: APIToken, value: String) {
        let name = try Self.namedToken(name)
        guard !scopes.isEmpty else { throw ValidationError(field: "scope", value: "", reason: "a token needs at least one scope") }
        let value = APIToken.makeValue()
        return (try openRegistry().addAPIToken(name: name, digest: Secret.digest(value), scopes: scopes, now: now), value)
    }

    /// The site's own token and every named one.
    public func tokens() throws -> [TokenInfo] {
        let modified = (try? FileManager.default.attributesOfItem(atPath: apiTokenPath))?[.modificationDate] as? Date
        let site = FileManager.default.fileExists(atPath: apiTokenPath)
            ? [TokenInfo(name: APITokenName.site.value, scopes: APIScope.allCases, keptIn: apiTokenPath, rotatedAt: modified.map(Timestamp.iso))] : []
        return site + (try openRegistry().apiTokens()).map {
            TokenInfo(name: $0.name, scopes: $0.scopes, keptIn: "registry", createdAt: $0.createdAt, rotatedAt: $0.rotatedAt, lastUsedAt: $0.lastUsedAt)
        }
    }

    /// Revokes a named token at once (the site's own is rotated, not revoked).
    public func revokeToken(name: String, now: String) throws {
        try openRegistry().revokeAPIToken(name: try Self.namedToken(name, revoking: true), now: now)
    }

    /// A new value for a token (`site`: a new `<home>/api.token`); the old one stops working at once.
    /// - Returns: the new value.
    public func rotateToken(name: String, now: String) throws -> String {
        if name == APITokenName.site.value {
            let value = lowercaseHex(try SecretFile.renew(path: apiTokenPath))
            try openRegistry().recordAudit(action: "token.rotate", subject: name, now: now)
            return value
        }
        let value = APIToken.makeValue()
        _ = try openRegistry().rotateAPIToken(name: try Self.namedToken(name), digest: Secret.digest(value), now: now)
        return value
    }

    /// The audit log: rows at or after `since`, the last `limit`, oldest first.
    public func audit(since: String?, limit: Int) throws -> [AuditEntry] {
        try openRegistry().audit(since: since, limit: limit)
    }

    /// A named token's name: valid, and not the site's own.
    static func namedToken(_ text: String, revoking: Bool = false) throws -> APITokenName {
        let name = try APITokenName(parsing: text)
        guard name != .site else {
            throw ValidationError(field: "name", value: text, reason: revoking
                ? "the site's own token cannot be revoked: `provisioner token rotate site` replaces it"
                : "reserved for the site's own token (<home>/api.token)")
        }
        return name
    }
}
