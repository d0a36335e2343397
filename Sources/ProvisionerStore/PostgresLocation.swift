import Foundation
import ProvisionerCore

/// Where a PostgreSQL registry is, from a URL as libpq takes it:
/// `postgres://[USER[:PASSWORD]@][HOST][:PORT][/DATABASE][?host=SOCKETDIR]`
/// `[&sslmode=verify-full|require|disable][&sslrootcert=FILE]`.
/// A host that is a path (`?host=/run/postgresql`, or `%2Frun%2Fpostgresql`
/// in the host part) is the directory of the server's Unix socket; no host
/// at all means Debian's socket directory, `/var/run/postgresql`. Over TCP
/// the connection is TLS by default, the server's certificate checked
/// against the CA in `sslrootcert` and for the host named (`verify-full`);
/// `require` encrypts without checking, `disable` is plain (a trusted link).
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// How a TCP connection is protected (libpq's `sslmode`, the values this registry takes).
    public enum TLSMode: String, Sendable, Equatable {
        case verifyFull = "verify-full", require, disable
    }

    public var user: String
    public var password: String?
    /// A host name or address, or (starting with `/`) the directory of the Unix socket.
    public var host: String
    public var port: Int
    public var database: String
    /// TLS over TCP (nil over a Unix socket).
    public var tls: TLSMode?
    /// The CA file the server's certificate must chain to (`verify-full`).
    public var rootCertificate: String?

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
        if let unknown = query.keys.first(where: { !["host", "port", "user", "dbname", "sslmode", "sslrootcert"].contains($0) }) {
            throw bad("unknown parameter \(quoted(unknown)) (host, port, user, dbname, sslmode, sslrootcert)")
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
        if host.hasPrefix("/") {
            guard query["sslmode"] == nil || query["sslmode"] == "disable" else { throw bad("sslmode applies to TCP, not a Unix socket") }
            tls = nil
        } else {
            let mode = query["sslmode"] ?? TLSMode.verifyFull.rawValue
            guard let parsed = TLSMode(rawValue: mode) else { throw bad("sslmode \(quoted(mode)) (expected verify-full, require or disable)") }
            tls = parsed
            if parsed == .verifyFull {
                guard let file = query["sslrootcert"], file.hasPrefix("/") else {
                    throw bad("over TCP the server's certificate is checked: give sslrootcert=/path/to/ca.pem (or sslmode=disable on a trusted link)")
                }
                rootCertificate = file
            }
        }
    }

    /// The Unix socket's path, when the host is a directory.
    public var socketPath: String? { host.hasPrefix("/") ? "\(host)/.s.PGSQL.\(port)" : nil }

    /// The URL with the password left out: what logs and errors show.
    public var description: String {
        let h = host.hasPrefix("/") ? "" : (host.contains(":") ? "[\(host)]" : host)
        let q = host.hasPrefix("/") ? "?host=\(host)" : "?sslmode=\(tls?.rawValue ?? "disable")" + (rootCertificate.map { "&sslrootcert=\($0)" } ?? "")
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
