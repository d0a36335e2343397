import Foundation
import ProvisionerAPI
import ProvisionerCore

/// What serve learned about a node at run time: its current boot, its
/// capacity and heartbeats. JSON keys are snake_case, the capacity's and
/// instances' too (the node controllers' own wire format stays theirs).
public struct NodeStatus: Codable, Sendable, Equatable {
    public var hostname: String
    public var mac: String?
    public var ip: String
    public var state: NodeState
    /// "<image>/<generation>" the node booted (from its enrollment).
    public var image: String?
    /// When the current boot started (its first DHCP answer).
    public var bootStarted: String?
    /// Boot phase → ISO time, for the current boot.
    public var phases: [BootPhase: String]
    /// The node's last capacity report, if any.
    public var capacity: NodeCapacity?
    /// The node's instances as it last reported them, if any.
    public var instances: [InstanceStatus]?
    public var lastHeartbeat: String?
    public var enrolledAt: String?
    /// Where the node's own boot went, as its controller measured it.
    public var bootTimings: BootTimings?
    /// The node's firmware as its controller reported it.
    public var platform: NodePlatform?
    /// How the current boot began: the firmware path of its DHCP request and the loader handed out.
    public var bootPath: BootPath?
    /// Out of placement: no new instance goes to it (a rollout drains it, or the operator).
    public var drained: Bool = false
    /// The generation it is pinned to, if any (else it follows the active one).
    public var pinned: String?

    public init(hostname: String, mac: String?, ip: String, state: NodeState, image: String?, bootStarted: String?, phases: [BootPhase: String],
                capacity: NodeCapacity?, instances: [InstanceStatus]?, lastHeartbeat: String?, enrolledAt: String?, bootTimings: BootTimings? = nil,
                platform: NodePlatform? = nil, bootPath: BootPath? = nil) {
        self.bootTimings = bootTimings
        self.platform = platform
        self.bootPath = bootPath
        self.hostname = hostname
        self.mac = mac
        self.ip = ip
        self.state = state
        self.image = image
        self.bootStarted = bootStarted
        self.phases = phases
        self.capacity = capacity
        self.instances = instances
        self.lastHeartbeat = lastHeartbeat
        self.enrolledAt = enrolledAt
    }

    enum CodingKeys: String, CodingKey {
        case hostname, mac, ip, state, image, phases, capacity, instances
        case bootStarted = "boot_started"
        case lastHeartbeat = "last_heartbeat"
        case enrolledAt = "enrolled_at"
        case bootTimings = "boot_timings"
        case platform
        case bootPath = "boot_path"
        case drained, pinned
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hostname = try c.decode(String.self, forKey: .hostname)
        mac = try c.decodeIfPresent(String.self, forKey: .mac)
        ip = try c.decode(String.self, forKey: .ip)
        state = try c.decode(NodeState.self, forKey: .state)
        image = try c.decodeIfPresent(String.self, forKey: .image)
        bootStarted = try c.decodeIfPresent(String.self, forKey: .bootStarted)
        phases = try c.decodeIfPresent([BootPhase: String].self, forKey: .phases) ?? [:]
        capacity = try c.decodeIfPresent(SnakeCased<NodeCapacity>.self, forKey: .capacity)?.value
        instances = try c.decodeIfPresent([SnakeCased<InstanceStatus>].self, forKey: .instances)?.map(\.value)
        lastHeartbeat = try c.decodeIfPresent(String.self, forKey: .lastHeartbeat)
        enrolledAt = try c.decodeIfPresent(String.self, forKey: .enrolledAt)
        bootTimings = try c.decodeIfPresent(SnakeCased<BootTimings>.self, forKey: .bootTimings)?.value
        platform = try c.decodeIfPresent(NodePlatform.self, forKey: .platform)
        bootPath = try c.decodeIfPresent(BootPath.self, forKey: .bootPath)
        drained = try c.decodeIfPresent(Bool.self, forKey: .drained) ?? false
        pinned = try c.decodeIfPresent(String.self, forKey: .pinned)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hostname, forKey: .hostname)
        try c.encodeIfPresent(mac, forKey: .mac)
        try c.encode(ip, forKey: .ip)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(image, forKey: .image)
        try c.encodeIfPresent(bootStarted, forKey: .bootStarted)
        try c.encode(phases, forKey: .phases)
        try c.encodeIfPresent(capacity.map(SnakeCased.init), forKey: .capacity)
        try c.encodeIfPresent(instances?.map(SnakeCased.init), forKey: .instances)
        try c.encodeIfPresent(lastHeartbeat, forKey: .lastHeartbeat)
        try c.encodeIfPresent(enrolledAt, forKey: .enrolledAt)
        try c.encodeIfPresent(bootTimings.map(SnakeCased.init), forKey: .bootTimings)
        try c.encodeIfPresent(platform, forKey: .platform)
        try c.encodeIfPresent(bootPath, forKey: .bootPath)
        try c.encode(drained, forKey: .drained)
        try c.encodeIfPresent(pinned, forKey: .pinned)
    }
}

/// A machine that PXE-booted with a MAC the registry does not know.
public struct DiscoveredMachine: Codable, Sendable, Equatable {
    public var mac: String
    public var ip: String?
    public var firstSeen: String
    public var lastSeen: String
    public var seen: Int
    /// What saw it: "dhcp" or "ipxe".
    public var via: String

    enum CodingKeys: String, CodingKey {
        case mac, ip, seen, via
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }
}

extension SQLRegistry {
    static var statusSQL: String { """
        SELECT n.hostname, n.mac, n.ip, n.state, s.image, s.boot_started, s.phases, s.capacity, s.instances, s.last_heartbeat, s.enrolled_at,
               s.boot_timings, s.platform, s.boot_path, n.drained, n.generation
        FROM nodes n LEFT JOIN node_status s ON s.node_id = n.id
        """ }

    static func status(_ row: SQLRow) -> NodeStatus {
        let phases = decodePhases(row[6])
        var status = NodeStatus(
            hostname: row[0], mac: row[1], ip: IPv4Address(UInt32(truncatingIfNeeded: row[2] as Int64)).description,
            state: NodeState(rawValue: row[3]) ?? .registered, image: row[4], bootStarted: row[5], phases: phases,
            capacity: decodeJSON(NodeCapacity.self, row[7]), instances: decodeJSON([InstanceStatus].self, row[8]),
            lastHeartbeat: row[9], enrolledAt: row[10], bootTimings: decodeJSON(BootTimings.self, row[11]),
            platform: decodeJSON(NodePlatform.self, row[12]), bootPath: decodeJSON(BootPath.self, row[13]))
        status.drained = (row[14] as Int? ?? 0) != 0
        status.pinned = row[15]
        return status
    }

    /// A JSON column as a value; nil when NULL or unreadable.
    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        text.flatMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }

    static func encodeJSON(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    /// A node's current boot phases (phase → time); empty when none or unreadable.
    static func phases(_ db: any SQLSession, nodeID: Int64) throws -> [BootPhase: String] {
        decodePhases(try db.value(String.self, "SELECT phases FROM node_status WHERE node_id = ?", [nodeID]))
    }

    /// Phases as stored (phase name → time); names this version does not know are left out.
    static func decodePhases(_ json: String?) -> [BootPhase: String] {
        let raw = decodeJSON([String: String].self, json) ?? [:]
        return Dictionary(uniqueKeysWithValues: raw.compactMap { k, v in BootPhase(rawValue: k).map { ($0, v) } })
    }

    /// Every node with its run-time status, by hostname.
    public func statuses() throws -> [NodeStatus] {
        try read { db in try db.rows(Self.statusSQL + " ORDER BY n.hostname").map(Self.status) }
    }

    /// One node's status, by hostname or MAC.
    public func status(_ key: String) throws -> NodeStatus? {
        try read { db in
            guard let node = try Self.find(db, key) else { return nil }
            return try db.row(Self.statusSQL + " WHERE n.hostname = ?", [node.hostname.value]).map(Self.status)
        }
    }

    /// The most machines the discovery queue holds (a flood of made-up MACs
    /// stops there; the ones queued stay until accepted or removed).
    public static var discoveryLimit: Int { 1024 }

    /// Records a boot event of the machine with `mac` at `now`. A `dhcp`
    /// event from the PXE firmware starts a new boot (phases reset, state
    /// `booting`). An unknown MAC lands in the discovery queue instead.
    /// - Returns: the node's hostname, or nil when the MAC is unknown.
    @discardableResult
    public func recordBootEvent(mac: MACAddress, ip: String?, phase: BootPhase, now: String, newBoot: Bool, bootPath: BootPath?) throws -> String? {
        try write { db in
            guard let row = try db.row("SELECT id, hostname, state FROM nodes WHERE mac = ?", [mac.description]) else {
                // A MAC already queued is seen again; a new one only while the
                // queue holds fewer than `discoveryLimit` (anyone can make up MACs).
                try db.execute("""
                    INSERT INTO discovered (mac, ip, first_seen, last_seen, seen, via) SELECT ?, ?, ?, ?, 1, ?
                    WHERE (SELECT count(*) FROM discovered) < ? OR EXISTS (SELECT 1 FROM discovered WHERE mac = ?)
                    ON CONFLICT(mac) DO UPDATE SET ip = coalesce(excluded.ip, discovered.ip), last_seen = excluded.last_seen, seen = discovered.seen + 1
                    """, [mac.description, ip, now, now, phase.rawValue, Self.discoveryLimit, mac.description])
                if DiscoveryRules.isLease(phase), let ip {
                    try db.execute("UPDATE discovered SET lease_ip = ?, lease_at = ? WHERE mac = ?", [ip, now, mac.description])
                }
                return nil
            }
            let id: Int64 = row[0]
            try db.execute("INSERT INTO node_status (node_id) VALUES (?) ON CONFLICT DO NOTHING", [id])
            // Early fetches of the last minute belong to this boot (see BootRules.merge).
            let recent = Timestamp.parse(now).map { Timestamp.iso($0.addingTimeInterval(-60)) } ?? now
            let (phases, started) = BootRules.merge(try Self.phases(db, nodeID: id), event: phase, at: now, newBoot: newBoot, keepSince: recent)
            let json = try Self.encodeJSON(phases)
            if let started {
                try db.execute("UPDATE node_status SET phases = ?, boot_started = ?, boot_path = ? WHERE node_id = ?",
                               [json, started, try bootPath.map(Self.encodeJSON), id])
                try db.execute("UPDATE nodes SET state = 'booting', updated_at = ? WHERE id = ?", [now, id])
            } else {
                try db.execute("UPDATE node_status SET phases = ? WHERE node_id = ?", [json, id])
            }
            return row[1]
        }
    }

    /// The address serve's DHCP last leased the discovered machine `mac`, and when.
    public func lease(mac: MACAddress) throws -> (ip: String, at: String)? {
        try read { db in
            try db.row("SELECT lease_ip, lease_at FROM discovered WHERE mac = ? AND lease_ip IS NOT NULL AND lease_at IS NOT NULL",
                       [mac.description]).map { (ip: $0[0], at: $0[1]) }
        }
    }

    /// The node registered with this MAC, if any.
    public func node(mac: MACAddress) throws -> Node? {
        try read { db in
            try db.row("SELECT \(Self.nodeColumns) FROM nodes WHERE mac = ?", [mac.description]).map(Self.node)
        }
    }

    /// The node registered with this IP, if any.
    public func node(ip: IPv4Address) throws -> Node? {
        try read { db in
            try db.row("SELECT \(Self.nodeColumns) FROM nodes WHERE ip = ?", [Int64(ip.value)]).map(Self.node)
        }
    }

    /// Marks a node enrolled: its image, capacity and instances, the `enrolled` phase.
    public func recordEnrollment(hostname: Hostname, image: String?, capacity: NodeCapacity, instances: [InstanceStatus], bootTimings: BootTimings?,
                                 platform: NodePlatform?, now: String) throws {
        try write { db in
            try Self.recordEnrollment(db, hostname: hostname, image: image, capacity: capacity, instances: instances,
                                      bootTimings: bootTimings, platform: platform, now: now)
        }
    }

    static func recordEnrollment(_ db: any SQLSession, hostname: Hostname, image: String?, capacity: NodeCapacity, instances: [InstanceStatus],
                                 bootTimings: BootTimings?, platform: NodePlatform?, now: String) throws {
        guard let id = try db.value(Int64.self, "SELECT id FROM nodes WHERE hostname = ?", [hostname.value]) else { return }
        try db.execute("INSERT INTO node_status (node_id) VALUES (?) ON CONFLICT DO NOTHING", [id])
        let phases = BootRules.merge(try Self.phases(db, nodeID: id), event: .enrolled, at: now, newBoot: false, keepSince: now).phases
        try db.execute("""
            UPDATE node_status SET image = ?, capacity = ?, instances = ?, enrolled_at = ?, last_heartbeat = ?, phases = ?,
                boot_started = coalesce(boot_started, ?), boot_timings = ?, platform = ? WHERE node_id = ?
            """, [image, try Self.encodeJSON(capacity), try Self.encodeJSON(instances), now, now, try Self.encodeJSON(phases), now,
                             try bootTimings.map(Self.encodeJSON), try platform.map(Self.encodeJSON), id])
        try db.execute("UPDATE nodes SET state = 'ready', updated_at = ? WHERE id = ?", [now, id])
    }

    /// Marks `lost` every enrolled or ready node whose last heartbeat is older than `before`.
    /// - Returns: the hostnames newly lost.
    @discardableResult
    public func markLost(heartbeatBefore before: String, now: String) throws -> [String] {
        try write { db in
            let names = try db.values(String.self, """
                SELECT n.hostname FROM nodes n JOIN node_status s ON s.node_id = n.id
                WHERE n.state IN ('enrolled', 'ready') AND s.last_heartbeat IS NOT NULL AND s.last_heartbeat < ?
                """, [before])
            for name in names {
                try db.execute("UPDATE nodes SET state = 'lost', updated_at = ? WHERE hostname = ?", [now, name])
            }
            return names
        }
    }

    /// The discovery queue, oldest first.
    public func discovered() throws -> [DiscoveredMachine] {
        try read { db in
            try db.rows("SELECT mac, ip, first_seen, last_seen, seen, via FROM discovered ORDER BY first_seen, mac").map {
                DiscoveredMachine(mac: $0[0], ip: $0[1], firstSeen: $0[2], lastSeen: $0[3], seen: $0[4], via: $0[5])
            }
        }
    }
}

/// Timestamps of run-time events: ISO 8601 UTC with milliseconds, so they
/// sort as text and phases a few milliseconds apart stay apart.
public enum Timestamp {
    public static func iso(_ d: Date) -> String {
        d.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    public static func parse(_ s: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(s)) ?? (try? Date.ISO8601FormatStyle().parse(s))
    }
}

extension NodeStatus {
    /// Per-phase durations of the current boot: each phase's time since the
    /// one before it, in boot order.
    public func phaseDurations() -> [(phase: BootPhase, seconds: Double)] {
        guard let start = bootStarted.flatMap(Timestamp.parse) else { return [] }
        var last = start
        var out: [(BootPhase, Double)] = []
        for p in BootPhase.order {
            guard let t = phases[p].flatMap(Timestamp.parse) else { continue }
            out.append((p, max(0, t.timeIntervalSince(last))))
            last = t
        }
        return out
    }

    /// Seconds from the start of the boot to enrollment, when it enrolled.
    public var secondsToEnroll: Double? {
        guard let s = bootStarted.flatMap(Timestamp.parse), let e = phases[.enrolled].flatMap(Timestamp.parse) else { return nil }
        return e.timeIntervalSince(s)
    }
}
