/// Where a node is in its life, from registration to a running cluster member.
public enum NodeState: String, Codable, Sendable, CaseIterable {
    /// Registered without a MAC: waits for a machine to be discovered for it.
    case discoverable
    /// Has a MAC, hostname and IP; has not booted (or not been seen booting) yet.
    case registered
    case booting
    case enrolled
    case ready
    case lost
}

/// A node of the registry: the MAC → hostname/IP pair and its boot profile.
public struct Node: Equatable, Sendable, Codable {
    public var hostname: Hostname
    /// nil while the node waits for discovery.
    public var mac: MACAddress?
    public var ip: IPv4Address
    public var profile: ProfileName
    public var state: NodeState
    /// ISO 8601, UTC.
    public var createdAt: String
    public var updatedAt: String
    /// The generation of its profile's image the node boots instead of the
    /// active one (a pin: a canary, or a node held back); nil follows the active one.
    public var generation: GenerationID?

    public init(hostname: Hostname, mac: MACAddress?, ip: IPv4Address, profile: ProfileName, state: NodeState, createdAt: String, updatedAt: String,
                generation: GenerationID? = nil) {
        self.hostname = hostname
        self.mac = mac
        self.ip = ip
        self.profile = profile
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.generation = generation
    }

    enum CodingKeys: String, CodingKey {
        case hostname, mac, ip, profile, state, generation
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hostname, forKey: .hostname)
        try c.encode(mac, forKey: .mac) // null, not absent, while waiting for discovery
        try c.encode(ip, forKey: .ip)
        try c.encode(profile, forKey: .profile)
        try c.encode(state, forKey: .state)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encodeIfPresent(generation, forKey: .generation) // absent when it follows the active generation
    }
}

/// A node to be added: what the operator gave. IP and profile may be left to
/// the registry (next free address, the default profile).
public struct NodeSpec: Equatable, Sendable {
    public var hostname: Hostname
    public var mac: MACAddress?
    public var ip: IPv4Address?
    public var profile: ProfileName?
    /// Where it came from, for errors ("line 7").
    public var location: String?

    public init(hostname: Hostname, mac: MACAddress?, ip: IPv4Address? = nil, profile: ProfileName? = nil, location: String? = nil) {
        self.hostname = hostname
        self.mac = mac
        self.ip = ip
        self.profile = profile
        self.location = location
    }
}

/// A change of a node's generation pin.
public enum PinChange: Equatable, Sendable {
    /// Boot this generation whatever is active.
    case pin(GenerationID)
    /// Follow the active generation again.
    case unpin

    public var generation: GenerationID? {
        if case .pin(let g) = self { return g }
        return nil
    }
}

/// A change to one node (`node set`, `node pin`); nil fields stay as they are.
public struct NodeChange: Equatable, Sendable {
    public var hostname: Hostname?
    public var mac: MACAddress?
    public var ip: IPv4Address?
    public var profile: ProfileName?
    public var pin: PinChange?

    public init(hostname: Hostname? = nil, mac: MACAddress? = nil, ip: IPv4Address? = nil, profile: ProfileName? = nil, pin: PinChange? = nil) {
        self.hostname = hostname
        self.mac = mac
        self.ip = ip
        self.profile = profile
        self.pin = pin
    }

    public var isEmpty: Bool { hostname == nil && mac == nil && ip == nil && profile == nil && pin == nil }

    /// A change from fields as given (nil: left as it is), each parsed.
    /// - Throws: `ValidationError` naming the first bad field and its value.
    public init(parsingHostname hostname: String?, mac: String?, ip: String?, profile: String?) throws(ValidationError) {
        self.init(hostname: try hostname.map { h throws(ValidationError) in try Hostname(parsing: h) },
                  mac: try mac.map { m throws(ValidationError) in try MACAddress(parsing: m) },
                  ip: try ip.map { i throws(ValidationError) in try IPv4Address(parsing: i) },
                  profile: try profile.map { p throws(ValidationError) in try ProfileName(parsing: p) })
    }
}

extension Node {
    /// The node as compact JSON for the audit log. Every field is a validated
    /// token (no quotes, no control characters), so no escaping is needed.
    public var auditJSON: String {
        let macJSON = mac.map { "\"\($0)\"" } ?? "null"
        let pin = generation.map { ",\"generation\":\"\($0)\"" } ?? ""
        return "{\"hostname\":\"\(hostname)\",\"mac\":\(macJSON),\"ip\":\"\(ip)\",\"profile\":\"\(profile)\",\"state\":\"\(state.rawValue)\"\(pin)}"
    }
}
