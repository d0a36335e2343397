import Foundation
import ProvisionerAPI

/// Which cloud the booted nodes join.
public enum CloudEngine: String, Codable, Sendable, CaseIterable {
    /// Our own small instance layer over libvirt on each node (frozen as it is).
    case libvirt
    /// An Incus cluster: each booted node joins it as a member by itself.
    case incus
}

/// The site's cloud (`cloud:` in the site config): the engine, and for Incus
/// the cluster the provisioning server talks to and how it knows it.
public struct CloudSettings: Equatable, Sendable {
    public var engine: CloudEngine
    /// `https://HOST:PORT` of a member of the cluster (the REST API).
    public var endpoint: String?
    /// The SHA-256 of the cluster's certificate (lowercase hex): the only
    /// certificate the provisioning server accepts from the cluster.
    public var fingerprint: String?
    /// The port each node's incusd listens on, at the node's address.
    public var memberPort: Int

    public static let defaultMemberPort = 8443

    public init(engine: CloudEngine, endpoint: String? = nil, fingerprint: String? = nil, memberPort: Int = defaultMemberPort) {
        self.engine = engine
        self.endpoint = endpoint
        self.fingerprint = fingerprint
        self.memberPort = memberPort
    }

    /// The endpoint's host and port, checked: `https://` and an IPv4 address or
    /// a host name, with a port (Incus's default, 8443, when none).
    /// - Throws: `ValidationError` naming `field`.
    public static func endpoint(_ text: String, field: String = "cloud.endpoint") throws(ValidationError) -> (host: String, port: Int) {
        guard text.hasPrefix("https://") else { throw ValidationError(field: field, value: text, reason: "expected https://HOST[:PORT]") }
        var rest = String(text.dropFirst(8))
        if rest.hasSuffix("/") { rest.removeLast() }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), !parts[0].isEmpty else {
            throw ValidationError(field: field, value: text, reason: "expected https://HOST[:PORT]")
        }
        let host = parts[0]
        let hostOK = (try? IPv4Address(parsing: host)) != nil || (try? Hostname(parsing: host)) != nil
            || host.split(separator: ".").allSatisfy { (try? Hostname(parsing: String($0))) != nil }
        guard hostOK else { throw ValidationError(field: field, value: text, reason: "the host is neither an IPv4 address nor a DNS name") }
        var port = defaultMemberPort
        if parts.count == 2 {
            guard let p = Int(parts[1]), (1...65535).contains(p) else { throw ValidationError(field: field, value: text, reason: "the port is not 1 to 65535") }
            port = p
        }
        return (host, port)
    }

    /// A certificate fingerprint as Incus prints it: 64 lowercase hex digits.
    public static func fingerprint(_ text: String, field: String = "cloud.fingerprint") throws(ValidationError) -> String {
        let hex = text.lowercased().replacingOccurrences(of: ":", with: "")
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw ValidationError(field: field, value: text, reason: "expected the certificate's SHA-256 as 64 hex digits")
        }
        return hex
    }
}

/// An Incus token (a cluster join token, or a trust token from `incus config
/// trust add`): base64 of a JSON object naming the member or client, the
/// cluster certificate's fingerprint, the addresses to reach it, a secret and
/// when it expires.
public struct IncusToken: Equatable, Sendable {
    /// The member (join token) or client (trust token) it was made for.
    public var name: String
    public var fingerprint: String
    public var addresses: [String]
    public var secret: String
    public var expiresAt: String?
    /// The token as given.
    public var text: String

    private struct Wire: Codable {
        var server_name: String?
        var client_name: String?
        var fingerprint: String
        var addresses: [String]
        var secret: String
        var expires_at: String?
    }

    /// - Throws: `ValidationError` naming `field` (the secret is never echoed).
    public init(parsing text: String, field: String) throws(ValidationError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        func fail(_ reason: String) -> ValidationError {
            ValidationError(field: field, value: trimmed.count > 12 ? String(trimmed.prefix(8)) + "…" : "(\(trimmed.count) characters)", reason: reason)
        }
        guard let data = Data(base64Encoded: trimmed), let wire = try? JSONDecoder().decode(Wire.self, from: data) else {
            throw fail("is not an Incus token (base64 of a JSON object)")
        }
        guard let name = wire.server_name ?? wire.client_name, !name.isEmpty else { throw fail("names no member or client") }
        guard !wire.secret.isEmpty else { throw fail("holds no secret") }
        guard !wire.addresses.isEmpty else { throw fail("names no address of the cluster") }
        do { fingerprint = try CloudSettings.fingerprint(wire.fingerprint, field: field) } catch { throw fail("its fingerprint is not a SHA-256") }
        self.name = name
        addresses = wire.addresses
        secret = wire.secret
        expiresAt = wire.expires_at
        self.text = trimmed
    }
}

/// What the provisioning server gives a node at enrollment to join the
/// cluster, and the rules of who may join when.
public enum CloudRules {
    /// A member of the cluster, as the rules need it.
    public struct Member: Equatable, Sendable {
        public var name: String
        /// ONLINE, OFFLINE, EVACUATED, BLOCKED…
        public var status: String
        public var roles: [String]
        public init(name: String, status: String, roles: [String]) {
            self.name = name
            self.status = status
            self.roles = roles
        }
        public var isDatabase: Bool { roles.contains("database") || roles.contains("database-leader") }
    }

    /// A node's report of its standing, as it may be kept and shown: one of
    /// the states, a reason of printable text cut at 300 characters (a node
    /// could otherwise put terminal escapes into `node show`); nil for a state
    /// that is none of them.
    public static func checked(_ report: CloudMemberReport) -> CloudMemberReport? {
        guard ["joined", "joining", "pending"].contains(report.state) else { return nil }
        let reason = report.reason.map { text in
            String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f && !(0x80...0x9f).contains($0.value) }).prefix(300))
        }
        return CloudMemberReport(state: report.state, reason: reason)
    }

    /// What to do before minting a join token for `name`.
    public enum Before: Equatable, Sendable {
        /// No member of that name: mint.
        case mint
        /// A member of that name is OFFLINE (the node's last boot): force-remove it, then mint.
        case removeThenMint
        /// A member of that name is up: it is someone's live daemon, never removed here.
        case refuse(String)
    }

    public static func before(joining name: String, members: [Member]) -> Before {
        guard let existing = members.first(where: { $0.name == name }) else { return .mint }
        if existing.status.uppercased() == "OFFLINE" { return .removeThenMint }
        return .refuse("a member named \(name) is \(existing.status): a live member is never removed to let a boot join")
    }

    /// The quorum guard: a node whose cluster state is lost at every boot
    /// (`persist: none`) may join only where its comings and goings cannot
    /// take the database's quorum with them: at least three database members
    /// that keep their state (persistent) other than itself. Incus 6.0 cannot
    /// keep a member out of the database roles (`database-client` came in 6.17),
    /// so a diskless member may become a voter once fewer are online.
    /// - Parameters:
    ///   - persistent: the names of the members that keep their state (the
    ///     provisioning server, nodes with `persist: disk`, members not ours).
    /// - Returns: why the join is refused, or nil when it may go on.
    public static func quorumRefusal(joining name: String, members: [Member], persistent: Set<String>) -> String? {
        let voters = members.filter { $0.name != name && $0.isDatabase && persistent.contains($0.name) && $0.status.uppercased() == "ONLINE" }
        guard voters.count >= 3 else {
            let names = voters.map(\.name).sorted().joined(separator: ", ")
            return "a node without a disk for its cluster state (persist: none) joins only a cluster with at least three online "
                + "database members that keep their state; it has \(voters.count)\(names.isEmpty ? "" : " (\(names))")"
        }
        return nil
    }
}
