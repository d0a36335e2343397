import Foundation
import ProvisionerCore

/// Where a PostgreSQL registry is, from a URL as libpq takes it:
/// `postgres://[USER[:PASSWORD]@][HOST][:PORT][/DATABASE][?host=SOCKETDIR]`.
/// A host that is a path (`?host=/run/postgresql`, or `%2Frun%2Fpostgresql`
/// in the host part) is the directory of the server's Unix socket; no host
/// at all means Debian's socket directory, `/var/run/postgresql`.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    /// A host name or address, or (starting with `/`) the directory of the Unix socket.
    public var host: String
    public var port: Int
    public var database: String

    /// - Throws: `ValidationError` (field `registry`) naming what is wrong, never echoing a password.
    public init(url: String) throws(ValidationError) {
        func bad(_ why: String) -> ValidationError {
            ValidationError(field: "registry URL", value: Self.redacted(url), reason: why)
        }
        guard !url.contains(where: { $0.isNewline || $0 == "\0" }) else { throw bad("it contains a line break") }
        guard let c = URLComponents(string: url) else { throw bad("not a URL") }
        guard let scheme = c.scheme, ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw bad("the scheme must be postgres:// (or a path for SQLite)")
        }
        let query = Dictionary((c.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        if let unknown = query.keys.first(where: { !["host", "port", "user", "dbname"].contains($0) }) {
            throw bad("unknown parameter \(quoted(unknown)) (host, port, user, dbname)")
        }
        user = query["user"] ?? c.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? ProcessInfo.processInfo.userName
        password = c.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let hostPart = c.percentEncodedHost.flatMap { $0.removingPercentEncoding } ?? ""
        host = query["host"] ?? (hostPart.isEmpty ? "/var/run/postgresql" : hostPart)
        if let p = query["port"] {
            guard let n = Int(p), (1...65535).contains(n) else { throw bad("port \(quoted(p)) is not a port number") }
            port = n
        } else {
            port = c.port ?? 5432
        }
        guard (1...65535).contains(port) else { throw bad("port \(port) is not a port number") }
        let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        database = query["dbname"] ?? (path.isEmpty ? user : path)
        guard !database.contains("/") else { throw bad("database name \(quoted(database)) contains a slash") }
        guard !user.isEmpty else { throw bad("no user") }
    }

    /// The Unix socket's path, when the host is a directory.
    public var socketPath: String? { host.hasPrefix("/") ? "\(host)/.s.PGSQL.\(port)" : nil }

    /// The URL with the password left out: what logs and errors show.
    public var description: String {
        let h = host.hasPrefix("/") ? "" : (host.contains(":") ? "[\(host)]" : host)
        let q = host.hasPrefix("/") ? "?host=\(host)" : ""
        return "postgres://\(user)\(password == nil ? "" : ":***")@\(h):\(port)/\(database)\(q)"
    }

    /// A URL as it may be shown: any password replaced by `***`, however
    /// malformed the URL (what a parser cannot read is cut by hand: whatever
    /// follows the user name up to the last `@` of the authority).
    public static func redacted(_ url: String) -> String {
        if let c = URLComponents(string: url), c.host != nil || c.percentEncodedPassword != nil {
            guard c.percentEncodedPassword != nil else { return url }
            var r = c
            r.percentEncodedPassword = "***"
            if let s = r.string { return s }
        }
        guard let schemeEnd = url.range(of: "://") else {
            // Not even a scheme: show nothing that could be a password.
            return url.contains("@") || url.contains(":") ? "(an unreadable URL)" : url
        }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userInfo = authority[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    /// Whether `text` names a PostgreSQL registry (else it is an SQLite path).
    public static func isURL(_ text: String) -> Bool {
        let t = text.lowercased()
        return t.hasPrefix("postgres://") || t.hasPrefix("postgresql://")
    }
}
