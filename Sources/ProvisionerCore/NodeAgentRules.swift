/// Who may enroll and who may send a heartbeat: the rules of serve's node
/// agent API, with no I/O. serve looks the node and the credential up, then
/// asks these rules; a refusal says how to answer (its kind) and why.
public enum NodeAgentRules {
    /// Why a node agent request is refused, and the HTTP answer it gets.
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            /// Not a request of the API (400).
            case badRequest
            /// A body over the API's limit (413).
            case tooLarge
            /// No credential, or one serve never gave or has forgotten (401): enroll again.
            case unauthorized
            /// A request that names a node it may not speak for (403).
            case forbidden
            /// A heartbeat replayed or out of order (409).
            case conflict
        }
        public var kind: Kind
        public var reason: String
        public init(_ kind: Kind, _ reason: String) {
            self.kind = kind
            self.reason = reason
        }
        public var description: String { reason }
    }

    /// A heartbeat credential as serve handed it out at enrollment.
    public struct Credential: Sendable, Equatable {
        public var hostname: Hostname
        public var ip: IPv4Address
        /// The last heartbeat's sequence number (-1 before the first).
        public var sequence: Int
        public init(hostname: Hostname, ip: IPv4Address, sequence: Int = -1) {
            self.hostname = hostname
            self.ip = ip
            self.sequence = sequence
        }
    }

    /// The MAC an enrollment names.
    /// - Throws: `Refusal` (bad request) when it is not a MAC address.
    public static func enrollingMAC(_ text: String) throws(Refusal) -> MACAddress {
        guard let mac = try? MACAddress(parsing: text) else { throw Refusal(.badRequest, "invalid MAC address \(quoted(text))") }
        return mac
    }

    /// Admits an enrollment: the MAC is a registered node's, the token is
    /// that node's, and (when `checksSourceIP`, authoritative DHCP) the
    /// request comes from the node's own address.
    /// - Returns: the node.
    /// - Throws: `Refusal` (forbidden) naming what did not hold.
    public static func admitEnrollment(node: Node?, mac: MACAddress, token: String, secret: [UInt8],
                                       clientIP: IPv4Address?, checksSourceIP: Bool) throws(Refusal) -> Node {
        guard let node else { throw Refusal(.forbidden, "MAC \(mac) is not registered (accept it from discovery first)") }
        guard NodeToken.matches(token, secret: secret, mac: mac) else { throw Refusal(.forbidden, "bad token for \(node.hostname) (\(mac))") }
        if checksSourceIP, clientIP != node.ip {
            throw Refusal(.forbidden, "\(node.hostname) must enroll from its address \(node.ip), not \(clientIP?.description ?? "?")")
        }
        return node
    }

    /// Admits a node's request for its enrollment token (authoritative DHCP
    /// only: proxy mode's boot files carry the token): a registered node,
    /// from its own address, that is not up and sending heartbeats. A running
    /// node's controller holds its token (and keeps it on the node across
    /// its own restarts), so a request in its name while it runs is someone
    /// else's. A node that booted is asking before it enrolls, or after an
    /// outage that kept its boot from being recorded: neither is alive.
    /// - Parameter secondsSinceHeartbeat: since its last heartbeat (nil: none this boot or ever).
    /// - Returns: the node.
    /// - Throws: `Refusal`: forbidden, or conflict while the node is alive.
    public static func admitTokenRequest(node: Node?, mac: MACAddress, clientIP: IPv4Address?, checksSourceIP: Bool,
                                         secondsSinceHeartbeat: Double?, aliveWithin: Double) throws(Refusal) -> Node {
        guard checksSourceIP else {
            throw Refusal(.forbidden, "proxy DHCP: serve does not know the nodes' addresses, and their boot files carry their tokens")
        }
        guard let node else { throw Refusal(.forbidden, "MAC \(mac) is not registered (accept it from discovery first)") }
        guard clientIP == node.ip else {
            throw Refusal(.forbidden, "the token of \(node.hostname) is only given to its address \(node.ip), not \(clientIP?.description ?? "?")")
        }
        if let since = secondsSinceHeartbeat, since <= aliveWithin {
            throw Refusal(.conflict, "\(node.hostname) is up (its last heartbeat \(Int(max(0, since))) s ago): its controller holds its token")
        }
        return node
    }

    /// Admits a heartbeat's credential: one serve handed out, used from the
    /// node's own address (when `checksSourceIP`).
    /// - Returns: the credential.
    /// - Throws: `Refusal` (unauthorized or forbidden).
    public static func admitHeartbeat(credential: Credential?, clientIP: IPv4Address?, checksSourceIP: Bool) throws(Refusal) -> Credential {
        guard let credential else { throw Refusal(.unauthorized, "unknown or missing credential: enroll again") }
        if checksSourceIP, clientIP != credential.ip {
            throw Refusal(.forbidden, "credential of \(credential.hostname) used from \(clientIP?.description ?? "?")")
        }
        return credential
    }

    /// Whether a heartbeat numbered `sequence` is new: later than the last one
    /// taken. A replayed or reordered heartbeat is refused.
    public static func isFresh(_ sequence: Int, after last: Int) -> Bool { sequence > last }

    /// The refusal of a stale heartbeat.
    public static func stale(_ sequence: Int, of hostname: Hostname) -> Refusal {
        Refusal(.conflict, "heartbeat \(sequence) of \(hostname) replayed or out of order")
    }
}
