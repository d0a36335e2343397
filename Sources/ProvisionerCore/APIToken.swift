/// What an operator API token may do. `read`: the inventory (nodes,
/// discovered machines, instances, rollouts); `write`: node changes;
/// `power`: power and boot devices through the BMCs. Every scope reads.
public enum APIScope: String, CaseIterable, Sendable, Codable, Comparable {
    case read, write, power

    public static func < (a: APIScope, b: APIScope) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Scopes from `read,write` (comma-separated, at least one, each once).
    /// - Throws: `ValidationError` on the `scope` field naming the bad value.
    public static func parse(_ text: String) throws(ValidationError) -> [APIScope] {
        var scopes: [APIScope] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let word = String(part)
            guard let scope = APIScope(rawValue: word) else {
                throw ValidationError(field: "scope", value: text, reason: "expected read, write or power (comma-separated)")
            }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        return scopes.sorted()
    }
}

/// An operator API token's name: 1-32 of lowercase letters, digits, `-`,
/// `_` and `.`, starting with a letter or digit. `site` is the token in the
/// site's `api.token` file (every scope), never one kept in the registry.
public struct APITokenName: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String
    public static let site = APITokenName(unchecked: "site")

    private init(unchecked value: String) { self.value = value }

    /// - Throws: `ValidationError` on the `name` field.
    public init(parsing text: String) throws(ValidationError) {
        let bytes = Array(text.utf8)
        let ok = (1...32).contains(bytes.count)
            && bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e }
            && bytes.first.map { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) } == true
        guard ok else {
            throw ValidationError(field: "name", value: text, reason: "expected 1-32 of a-z, 0-9, '-', '_', '.', starting with a letter or digit")
        }
        value = text
    }

    public var description: String { value }
}

/// An operator API token as the registry keeps it: never its value, only
/// its digest (`Secret.digest`), which is not part of this record.
public struct APIToken: Sendable, Equatable, Codable {
    public var name: String
    public var scopes: [APIScope]
    public var createdAt: String
    /// When its value last changed (created or rotated).
    public var rotatedAt: String
    /// When it last authorized a request (nil: never).
    public var lastUsedAt: String?

    public init(name: String, scopes: [APIScope], createdAt: String, rotatedAt: String, lastUsedAt: String? = nil) {
        self.name = name
        self.scopes = scopes
        self.createdAt = createdAt
        self.rotatedAt = rotatedAt
        self.lastUsedAt = lastUsedAt
    }

    enum CodingKeys: String, CodingKey {
        case name, scopes
        case createdAt = "created_at", rotatedAt = "rotated_at", lastUsedAt = "last_used_at"
    }

    /// Whether the token may do what needs `scope` (every scope reads).
    public func allows(_ scope: APIScope) -> Bool { scope == .read ? !scopes.isEmpty : scopes.contains(scope) }

    /// The actor the audit log records for what it did.
    public var actor: String { "token:" + name }

    /// A new token value: 256 random bits as hex.
    public static func makeValue() -> String { Secret.random(bytes: 32) }
}

/// One row of the audit log: who changed what, when.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var id: Int
    public var at: String
    /// `token:NAME` (over the API), `cli:USER` (the CLI on the server), `serve` (serve itself).
    public var actor: String?
    public var action: String
    public var subject: String
    public var old: String?
    public var new: String?

    public init(id: Int, at: String, actor: String?, action: String, subject: String, old: String?, new: String?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.old = old
        self.new = new
    }
}
