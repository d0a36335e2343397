import Foundation
import ProvisionerAPI
import ProvisionerCore

/// A VM instance as the registry keeps it: what was asked (desired) and what
/// the node last reported (state).
public struct InstanceRecord: Codable, Sendable, Equatable {
    public var id: String
    public var node: String?
    public var type: String
    public var vcpus: Int
    public var memoryMiB: Int
    public var spec: InstanceSpec
    /// Last reported by its node (pending until then).
    public var state: InstanceState
    public var desired: DesiredInstanceState
    public var message: String?
    public var createdAt: String
    public var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case id, node, type, vcpus, spec, state, desired, message
        case memoryMiB = "memory_mib"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(id: String, node: String?, type: String, vcpus: Int, memoryMiB: Int, spec: InstanceSpec, state: InstanceState,
                desired: DesiredInstanceState, message: String?, createdAt: String, updatedAt: String) {
        self.id = id
        self.node = node
        self.type = type
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.spec = spec
        self.state = state
        self.desired = desired
        self.message = message
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decode(String.self, forKey: .id), node: try c.decodeIfPresent(String.self, forKey: .node),
                  type: try c.decode(String.self, forKey: .type), vcpus: try c.decode(Int.self, forKey: .vcpus),
                  memoryMiB: try c.decode(Int.self, forKey: .memoryMiB), spec: try c.decode(SnakeCased<InstanceSpec>.self, forKey: .spec).value,
                  state: try c.decode(InstanceState.self, forKey: .state), desired: try c.decode(DesiredInstanceState.self, forKey: .desired),
                  message: try c.decodeIfPresent(String.self, forKey: .message),
                  createdAt: try c.decode(String.self, forKey: .createdAt), updatedAt: try c.decode(String.self, forKey: .updatedAt))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encodeIfPresent(node, forKey: .node)
        try c.encode(type, forKey: .type)
        try c.encode(vcpus, forKey: .vcpus)
        try c.encode(memoryMiB, forKey: .memoryMiB)
        try c.encode(SnakeCased(spec), forKey: .spec)
        try c.encode(state, forKey: .state)
        try c.encode(desired, forKey: .desired)
        try c.encodeIfPresent(message, forKey: .message)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }
}

extension SQLRegistry {
    static var instanceSQL: String { """
        SELECT i.id, n.hostname, i.type, i.vcpus, i.memory_mib, i.spec, i.state, i.desired, i.message, i.created_at, i.updated_at
        FROM instances i LEFT JOIN nodes n ON n.id = i.node_id
        """ }

    static func instance(_ row: SQLRow) throws -> InstanceRecord {
        let spec = try JSONDecoder().decode(InstanceSpec.self, from: Data((row[5] as String).utf8))
        return InstanceRecord(id: row[0], node: row[1], type: row[2], vcpus: row[3], memoryMiB: row[4], spec: spec,
                              state: InstanceState(rawValue: row[6]) ?? .pending, desired: DesiredInstanceState(rawValue: row[7]) ?? .running,
                              message: row[8], createdAt: row[9], updatedAt: row[10])
    }

    /// Every instance, newest first.
    public func instances() throws -> [InstanceRecord] {
        try read { db in try db.rows(Self.instanceSQL + " ORDER BY i.created_at DESC, i.id").map(Self.instance) }
    }

    /// Places and records a new instance in one transaction, so two runs at
    /// once cannot both take the last room on a node.
    /// - Throws: `ConflictError` when no node has room (or the chosen one is not ready).
    public func runInstance(id: String, type: VMType, spec: InstanceSpec, only: String?, now: String) throws -> InstanceRecord {
        try write { db in
            let rows = try db.rows("""
                SELECT n.id, n.hostname, n.state, s.capacity, s.instances, n.drained FROM nodes n LEFT JOIN node_status s ON s.node_id = n.id
                """)
            var candidates: [Placement.Candidate] = []
            var ids: [String: Int64] = [:]
            for r in rows {
                let hostname: String = r[1]
                ids[hostname] = r[0]
                let capacity = Self.decodeJSON(NodeCapacity.self, r[3])
                let reported = Set((Self.decodeJSON([InstanceStatus].self, r[4]) ?? []).map(\.id))
                // Placed here, wanted running, not yet in the node's report: reserve it.
                let pending = try db.rows("SELECT id, vcpus, memory_mib FROM instances WHERE node_id = ? AND desired = 'running'", [r[0] as Int64])
                    .filter { !reported.contains($0[0] as String) }
                candidates.append(Placement.Candidate(hostname: hostname, ready: (r[2] as String) == NodeState.ready.rawValue, capacity: capacity,
                                                      pendingCores: pending.reduce(0) { $0 + ($1[1] as Int) },
                                                      pendingMemoryMiB: pending.reduce(0) { $0 + ($1[2] as Int) },
                                                      drained: (r[5] as Int) != 0))
            }
            let node: String
            switch Placement.choose(type, among: candidates, only: only) {
            case .success(let n): node = n
            case .failure(let e): throw e
            }
            let specJSON = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
            try db.execute("""
                INSERT INTO instances (id, node_id, type, vcpus, memory_mib, spec, state, desired, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', 'running', ?, ?)
                """, [id, ids[node], type.name, type.cpus, type.memoryMiB, specJSON, now, now])
            try db.execute("INSERT INTO audit (at, action, subject, old, new, actor) VALUES (?, 'instance.run', ?, NULL, ?, ?)",
                           [now, id, specJSON, AuditActor.value])
            return try Self.instance(try db.row(Self.instanceSQL + " WHERE i.id = ?", [id])!)
        }
    }

    /// Asks for an instance to be terminated (the node stops it at its next heartbeat).
    /// - Throws: `ConflictError` for an unknown id.
    public func terminateInstance(_ id: String, now: String) throws -> InstanceRecord {
        try write { db in
            guard try db.value(Int.self, "SELECT count(*) FROM instances WHERE id = ?", [id]) == 1 else {
                throw NotFoundError("instance", id)
            }
            try db.execute("UPDATE instances SET desired = 'terminated', updated_at = ? WHERE id = ?", [now, id])
            try db.execute("INSERT INTO audit (at, action, subject, actor) VALUES (?, 'instance.terminate', ?, ?)", [now, id, AuditActor.value])
            return try Self.instance(try db.row(Self.instanceSQL + " WHERE i.id = ?", [id])!)
        }
    }

    /// Many heartbeats in one transaction (group commit): each node's
    /// capacity, instances and time, back to ready if it was lost, the states
    /// it reports recorded; returns, per heartbeat, the instances that node
    /// must start and those it must stop. Four statements per 500 heartbeats,
    /// whatever their number (each is a round trip to PostgreSQL): the nodes'
    /// ids, their status rows (one UPDATE … FROM VALUES), the state of those
    /// not yet ready, and their instances.
    public func heartbeats(_ beats: [HeartbeatRecord], now: String) throws -> [(run: [InstanceSpec], terminate: [String])] {
        try write { db in
            var ids: [String: Int64] = [:]
            var wanted: [Int64: [InstanceReconcile.Wanted]] = [:]
            for start in stride(from: 0, to: beats.count, by: 500) {
                let chunk = beats[start..<min(start + 500, beats.count)]
                let names = Array(Set(chunk.map(\.hostname.value)))
                for row in try db.rows("SELECT hostname, id FROM nodes WHERE hostname IN (\(Self.marks(names.count)))", names) {
                    ids[row[0] as String] = row[1] as Int64
                }
                // The last heartbeat of a node in the batch is the one kept.
                var latest: [Int64: HeartbeatRecord] = [:]
                for b in chunk { if let id = ids[b.hostname.value] { latest[id] = b } }
                if latest.isEmpty { continue }
                var values: [any SQLBindable] = []
                for (id, b) in latest.sorted(by: { $0.key < $1.key }) {
                    values += [id, try Self.encodeJSON(b.capacity), try Self.encodeJSON(b.reported), try b.bootTimings.map(Self.encodeJSON)] as [any SQLBindable]
                }
                let tuples = Array(repeating: "(CAST(? AS BIGINT), ?, ?, ?)", count: latest.count).joined(separator: ", ")
                try db.execute("""
                    UPDATE node_status SET capacity = v.column2, instances = v.column3, last_heartbeat = ?,
                        boot_timings = coalesce(v.column4, node_status.boot_timings)
                    FROM (VALUES \(tuples)) AS v WHERE node_status.node_id = v.column1
                    """, [now] + values)
                let nodeIDs = latest.keys.sorted()
                try db.execute("UPDATE nodes SET state = 'ready', updated_at = ? WHERE state != 'ready' AND id IN (\(Self.marks(nodeIDs.count)))",
                               [now] + nodeIDs)
                for w in try db.rows("SELECT node_id, spec, desired, state FROM instances WHERE node_id IN (\(Self.marks(nodeIDs.count)))", nodeIDs) {
                    // A spec that cannot be read is left out (it could not be run anyway); it never fails the other heartbeats.
                    if let spec = Self.decodeJSON(InstanceSpec.self, w[1]) {
                        wanted[w[0] as Int64, default: []].append(InstanceReconcile.Wanted(
                            spec: spec, desired: DesiredInstanceState(rawValue: w[2]) ?? .terminated, state: InstanceState(rawValue: w[3] as String)))
                    }
                }
            }
            return try beats.map { b in
                guard let id = ids[b.hostname.value] else { return ([], []) }
                return try Self.reconcile(db, wanted: wanted[id] ?? [], reported: b.reported, now: now)
            }
        }
    }

    /// `?, ?, …` for an IN list.
    static func marks(_ n: Int) -> String { Array(repeating: "?", count: max(n, 1)).joined(separator: ", ") }

    /// Applies `InstanceReconcile` to one node's wanted instances: records the states that changed, returns its work.
    static func reconcile(_ db: any SQLSession, wanted: [InstanceReconcile.Wanted], reported: [InstanceStatus], now: String) throws
        -> (run: [InstanceSpec], terminate: [String]) {
        let outcome = InstanceReconcile.reconcile(wanted, reported: reported)
        for u in outcome.updates {
            if let message = u.reported {
                try db.execute("UPDATE instances SET state = ?, message = ?, updated_at = ? WHERE id = ?", [u.state.rawValue, message, now, u.id])
            } else {
                try db.execute("UPDATE instances SET state = ?, updated_at = ? WHERE id = ?", [u.state.rawValue, now, u.id])
            }
        }
        return (outcome.run, outcome.terminate)
    }
}
