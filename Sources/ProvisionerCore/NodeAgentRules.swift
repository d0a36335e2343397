import ProvisionerAPI

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

    /// Admits an enrollment: the MAC is a registered node's, the credential
    /// is the boot credential serve gave it this boot, not used yet, not
    /// expired, presented (when `checksSourceIP`, authoritative DHCP) from
    /// the node's own address, while the node is not up: a second enrollment
    /// of one boot, or one in the name of a node that is sending heartbeats,
    /// never replaces the live credential.
    /// - Parameters:
    ///   - minted: the node's last boot credential (nil: none).
    ///   - secondsSinceMint: since it was minted.
    ///   - secondsSinceHeartbeat: since the node's last heartbeat (nil: none this boot or ever).
    /// - Returns: the node.
    /// - Throws: `Refusal`: forbidden, or conflict (used already, or the node is up).
    public static func admitEnrollment(node: Node?, mac: MACAddress, credential: String, minted: BootCredentialRecord?,
                                       secondsSinceMint: Double?, clientIP: IPv4Address?, checksSourceIP: Bool,
                                       secondsSinceHeartbeat: Double?, aliveWithin: Double) throws(Refusal) -> Node {
        guard let node else { throw Refusal(.forbidden, "MAC \(mac) is not registered (accept it from discovery first)") }
        guard !credential.isEmpty else {
            throw Refusal(.forbidden, "no boot credential for \(node.hostname) (\(mac)): ask for one (POST \(NodeAPI.tokenPath))")
        }
        guard let minted, minted.mac == mac, BootCredential.matches(credential, digest: minted.digest) else {
            throw Refusal(.forbidden, "not the boot credential serve gave \(node.hostname) (\(mac)) for this boot")
        }
        if let usedAt = minted.usedAt {
            throw Refusal(.conflict, "the boot credential of \(node.hostname) (\(mac)) was used at \(usedAt) from \(minted.usedFrom ?? "?"): one boot enrolls once")
        }
        guard let age = secondsSinceMint, age <= BootCredential.lifetime else {
            throw Refusal(.forbidden, "the boot credential of \(node.hostname) (\(mac)) expired (minted at \(minted.mintedAt), good for \(Int(BootCredential.lifetime)) s)")
        }
        if checksSourceIP, clientIP != node.ip {
            throw Refusal(.forbidden, "\(node.hostname) must enroll from its address \(node.ip), not \(clientIP?.description ?? "?")")
        }
        // Proxy DHCP: serve does not know the node's address, but a credential
        // enrolls only from the address it was given to.
        if !checksSourceIP, let givenTo = minted.givenTo, clientIP?.description != givenTo {
            throw Refusal(.forbidden, "the boot credential of \(node.hostname) was given to \(givenTo), not \(clientIP?.description ?? "?")")
        }
        try notUp(node, secondsSinceHeartbeat: secondsSinceHeartbeat, aliveWithin: aliveWithin)
        return node
    }

    /// Admits a node's request for a boot credential (the node's boot files
    /// carry none: pxelinux and GRUB over TFTP, a copy of its iPXE script
    /// served elsewhere, a controller restarted in the boot): a registered
    /// node, from its own address (authoritative DHCP; in proxy mode serve
    /// does not know the nodes' addresses), that is not up and sending
    /// heartbeats. A running node's controller holds its credential, so a
    /// request in its name while it runs is someone else's.
    /// - Parameter secondsSinceHeartbeat: since its last heartbeat (nil: none this boot or ever).
    /// - Returns: the node.
    /// - Throws: `Refusal`: forbidden, or conflict while the node is alive.
    public static func admitTokenRequest(node: Node?, mac: MACAddress, clientIP: IPv4Address?, checksSourceIP: Bool,
                                         secondsSinceHeartbeat: Double?, aliveWithin: Double) throws(Refusal) -> Node {
        guard let node else { throw Refusal(.forbidden, "MAC \(mac) is not registered (accept it from discovery first)") }
        if checksSourceIP, clientIP != node.ip {
            throw Refusal(.forbidden, "the boot credential of \(node.hostname) is only given to its address \(node.ip), not \(clientIP?.description ?? "?")")
        }
        try notUp(node, secondsSinceHeartbeat: secondsSinceHeartbeat, aliveWithin: aliveWithin)
        return node
    }

    /// Whether a node whose last heartbeat was `secondsSinceHeartbeat` ago is up.
    public static func isUp(secondsSinceHeartbeat: Double?, aliveWithin: Double) -> Bool {
        secondsSinceHeartbeat.map { $0 <= aliveWithin } ?? false
    }

    /// Refuses (conflict) while `node` sent a heartbeat within `aliveWithin`
    /// seconds: its controller holds its credential.
    static func notUp(_ node: Node, secondsSinceHeartbeat: Double?, aliveWithin: Double) throws(Refusal) {
        if isUp(secondsSinceHeartbeat: secondsSinceHeartbeat, aliveWithin: aliveWithin), let since = secondsSinceHeartbeat {
            throw Refusal(.conflict, "\(node.hostname) is up (its last heartbeat \(Int(max(0, since))) s ago): its controller holds its credential")
        }
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
