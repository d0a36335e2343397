import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore
import Synchronization

/// A registry that fails on demand (matchbox's `BrokenStore`): it forwards
/// every call to a real `SQLiteRegistry` unless that operation is set to
/// fail, and then throws the given error without touching the store. Proves
/// the error paths a healthy SQLite file rarely takes.
final class FailingRegistry: Registry {
    enum Operation: Hashable, Sendable {
        case read, add, update, claim, remove, bootEvent, enrollment, heartbeats, markLost, instances
    }

    let base: SQLiteRegistry
    private let failing = Mutex<[Operation: RegistryError]>([:])

    init(_ base: SQLiteRegistry) { self.base = base }

    /// Makes `operations` throw `error` until `heal()`.
    func fail(_ operations: Set<Operation>, with error: RegistryError = RegistryError("database unreachable (injected)", kind: .unavailable)) {
        failing.withLock { for op in operations { $0[op] = error } }
    }

    func heal() { failing.withLock { $0.removeAll() } }

    private func check(_ op: Operation) throws {
        if let error = failing.withLock({ $0[op] }) { throw error }
    }

    func nodes() throws -> [Node] { try check(.read); return try base.nodes() }
    func count() throws -> Int { try check(.read); return try base.count() }
    func node(_ key: String) throws -> Node? { try check(.read); return try base.node(key) }
    func node(mac: MACAddress) throws -> Node? { try check(.read); return try base.node(mac: mac) }
    func node(ip: IPv4Address) throws -> Node? { try check(.read); return try base.node(ip: ip) }

    func add(_ specs: [NodeSpec], config: SiteConfig, now: String, action: String,
             beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> [Node] {
        try check(.add)
        return try base.add(specs, config: config, now: now, action: action, beforeCommit: beforeCommit)
    }

    func update(_ key: String, _ change: NodeChange, config: SiteConfig, now: String,
                beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> (old: Node, new: Node) {
        try check(.update)
        return try base.update(key, change, config: config, now: now, beforeCommit: beforeCommit)
    }

    func claim(mac: MACAddress, into hostname: Hostname?, now: String,
               beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> (old: Node, new: Node) {
        try check(.claim)
        return try base.claim(mac: mac, into: hostname, now: now, beforeCommit: beforeCommit)
    }

    func remove(_ keys: [String], now: String, beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> [Node] {
        try check(.remove)
        return try base.remove(keys, now: now, beforeCommit: beforeCommit)
    }

    func mintBootCredential(_ record: BootCredentialRecord) throws { try check(.bootEvent); try base.mintBootCredential(record) }
    func bootCredential(mac: MACAddress) throws -> BootCredentialRecord? { try check(.read); return try base.bootCredential(mac: mac) }
    func enroll(_ enrollment: EnrollmentRecord, now: String) throws -> Bool { try check(.enrollment); return try base.enroll(enrollment, now: now) }
    func tpmKey(hostname: Hostname) throws -> TPMKeyRecord? { try check(.read); return try base.tpmKey(hostname: hostname) }
    func setTPMKey(hostname: Hostname, _ record: TPMKeyRecord?, action: String, now: String) throws {
        try check(.update); try base.setTPMKey(hostname: hostname, record, action: action, now: now)
    }
    func offerTPMKey(hostname: Hostname, fingerprint: String, now: String) throws {
        try check(.enrollment); try base.offerTPMKey(hostname: hostname, fingerprint: fingerprint, now: now)
    }
    func cloudMember(hostname: Hostname) throws -> CloudMemberRecord? { try check(.read); return try base.cloudMember(hostname: hostname) }
    func cloudMembers() throws -> [String: CloudMemberRecord] { try check(.read); return try base.cloudMembers() }
    func setCloudMember(hostname: Hostname, state: String, reason: String?, now: String) throws {
        try check(.heartbeats); try base.setCloudMember(hostname: hostname, state: state, reason: reason, now: now)
    }
    func addAPIToken(name: APITokenName, digest: String, scopes: [APIScope], now: String) throws -> APIToken {
        try check(.update)
        return try base.addAPIToken(name: name, digest: digest, scopes: scopes, now: now)
    }
    func apiTokens() throws -> [APIToken] { try check(.read); return try base.apiTokens() }
    func apiToken(digest: String) throws -> APIToken? { try check(.read); return try base.apiToken(digest: digest) }
    func revokeAPIToken(name: APITokenName, now: String) throws { try check(.update); try base.revokeAPIToken(name: name, now: now) }
    func rotateAPIToken(name: APITokenName, digest: String, now: String) throws -> APIToken {
        try check(.update)
        return try base.rotateAPIToken(name: name, digest: digest, now: now)
    }
    func recordAudit(action: String, subject: String, now: String) throws { try check(.update); try base.recordAudit(action: action, subject: subject, now: now) }
    func touchAPIToken(name: String, now: String, after: String) throws { try check(.update); try base.touchAPIToken(name: name, now: now, after: after) }
    func audit(since: String?, limit: Int) throws -> [AuditEntry] { try check(.read); return try base.audit(since: since, limit: limit) }
    func lease(mac: MACAddress) throws -> (ip: String, at: String)? { try check(.read); return try base.lease(mac: mac) }
    func revokeNodeCredential(digest: String) throws { try check(.heartbeats); try base.revokeNodeCredential(digest: digest) }
    func nodeCredential(digest: String) throws -> (hostname: Hostname, ip: IPv4Address)? {
        try check(.heartbeats)
        return try base.nodeCredential(digest: digest)
    }
    func setBMC(_ key: String, _ bmc: BMCSettings?, now: String) throws -> Node { try check(.update); return try base.setBMC(key, bmc, now: now) }
    func bmcs() throws -> [String: BMCSettings] { try check(.read); return try base.bmcs() }
    func setDrained(_ keys: [String], _ drained: Bool, now: String) throws -> [String] { try check(.update); return try base.setDrained(keys, drained, now: now) }
    func createRollout(_ rollout: Rollout) throws -> Rollout { try check(.update); return try base.createRollout(rollout) }
    func saveRollout(_ rollout: Rollout) throws { try check(.update); try base.saveRollout(rollout) }
    func rollouts(image: String?) throws -> [Rollout] { try check(.read); return try base.rollouts(image: image) }
    func nodesToken() throws -> String { try check(.read); return try base.nodesToken() }
    func nodeChanges(since sequence: Int64, limit: Int) throws -> NodeChanges? { try check(.read); return try base.nodeChanges(since: sequence, limit: limit) }
    func nodesAtSequence() throws -> (sequence: Int64, nodes: [Node]) { try check(.read); return try base.nodesAtSequence() }
    func latestChange() throws -> Int64 { try check(.read); return try base.latestChange() }
    func reportBootServer(_ record: BootServerRecord) throws { try check(.update); try base.reportBootServer(record) }
    func bootServers() throws -> [BootServerRecord] { try check(.read); return try base.bootServers() }
    func removeBootServer(_ name: String) throws -> Bool { try check(.update); return try base.removeBootServer(name) }
    func statuses() throws -> [NodeStatus] { try check(.read); return try base.statuses() }
    func status(_ key: String) throws -> NodeStatus? { try check(.read); return try base.status(key) }

    func recordBootEvent(mac: MACAddress, ip: String?, phase: BootPhase, now: String, newBoot: Bool, bootPath: BootPath?) throws -> String? {
        try check(.bootEvent)
        return try base.recordBootEvent(mac: mac, ip: ip, phase: phase, now: now, newBoot: newBoot, bootPath: bootPath)
    }

    func recordEnrollment(hostname: Hostname, image: String?, capacity: NodeCapacity, instances: [InstanceStatus], bootTimings: BootTimings?,
                          platform: NodePlatform?, now: String) throws {
        try check(.enrollment)
        try base.recordEnrollment(hostname: hostname, image: image, capacity: capacity, instances: instances, bootTimings: bootTimings, platform: platform, now: now)
    }

    func heartbeats(_ beats: [HeartbeatRecord], now: String) throws -> [(run: [InstanceSpec], terminate: [String])] {
        try check(.heartbeats)
        return try base.heartbeats(beats, now: now)
    }

    func markLost(heartbeatBefore before: String, now: String) throws -> [String] {
        try check(.markLost)
        return try base.markLost(heartbeatBefore: before, now: now)
    }

    func discovered() throws -> [DiscoveredMachine] { try check(.read); return try base.discovered() }
    func nodesUsing(image: String, generation: GenerationID) throws -> [String] { try check(.read); return try base.nodesUsing(image: image, generation: generation) }
    func instances() throws -> [InstanceRecord] { try check(.instances); return try base.instances() }

    func runInstance(id: String, type: VMType, spec: InstanceSpec, only: String?, now: String) throws -> InstanceRecord {
        try check(.instances)
        return try base.runInstance(id: id, type: type, spec: spec, only: only, now: now)
    }

    func terminateInstance(_ id: String, now: String) throws -> InstanceRecord {
        try check(.instances)
        return try base.terminateInstance(id, now: now)
    }
}
