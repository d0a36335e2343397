// `Registry` is what the rest of the code sees of the registry (the target's
// overview is ProvisionerStore.swift): `SQLiteRegistry` keeps it in one
// SQLite file through GRDB, the embedded default for one server;
// `PostgresRegistry` keeps it in PostgreSQL for several boot servers. Both
// pass the same tests (ProvisionerStoreTests runs each test on both).
import ProvisionerAPI
import ProvisionerCore

/// The registry of nodes, their run-time status, the discovery queue and VM
/// instances. Every write is one transaction: all of it or none.
///
/// Writes that change nodes take `beforeCommit`, which runs inside the
/// transaction with the changes made (serve and the CLI write the nodes' boot
/// files there); if it throws, nothing is committed. Errors: `ValidationError`,
/// `ConflictError`, `NotFoundError` for the input; `RegistryError` (with its
/// kind) for the store itself.
public protocol Registry: Sendable {
    // MARK: nodes

    /// Every node, ordered by hostname.
    func nodes() throws -> [Node]
    /// The number of nodes.
    func count() throws -> Int
    /// The node with this hostname or MAC address (any accepted MAC form).
    func node(_ key: String) throws -> Node?
    /// The node registered with this MAC, if any.
    func node(mac: MACAddress) throws -> Node?
    /// The node registered with this IP, if any.
    func node(ip: IPv4Address) throws -> Node?

    /// Adds nodes, all or none; a spec without an IP gets the next free static address.
    func add(_ specs: [NodeSpec], config: SiteConfig, now: String, action: String,
             beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> [Node]
    /// Changes one node's hostname, MAC, IP or profile; returns it before and after.
    func update(_ key: String, _ change: NodeChange, config: SiteConfig, now: String,
                beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> (old: Node, new: Node)
    /// Gives `mac` to a node added without one (`hostname`, or the first waiting one), atomically.
    func claim(mac: MACAddress, into hostname: Hostname?, now: String,
               beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> (old: Node, new: Node)
    /// Removes nodes by hostname or MAC, all or none.
    func remove(_ keys: [String], now: String, beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> [Node]

    // MARK: BMCs

    /// Sets (or with nil, clears) a node's BMC; returns the node.
    /// - Throws: `NotFoundError` for an unknown node.
    func setBMC(_ key: String, _ bmc: BMCSettings?, now: String) throws -> Node
    /// Every node's BMC, by hostname (nodes without one are absent).
    func bmcs() throws -> [String: BMCSettings]

    // MARK: boot credentials

    /// Keeps a node's new single-use boot credential (its digest), replacing its earlier one.
    /// - Throws: `NotFoundError` when no node has the MAC.
    func mintBootCredential(_ record: BootCredentialRecord) throws
    /// The boot credential last minted for the node with `mac`, if any.
    func bootCredential(mac: MACAddress) throws -> BootCredentialRecord?
    /// Records a boot's enrollment in one transaction: its boot credential used
    /// up (once), its status, its heartbeat credential. False, with nothing
    /// recorded, when the credential was used or replaced meanwhile.
    func enroll(_ enrollment: EnrollmentRecord, now: String) throws -> Bool
    /// Revokes the heartbeat credential with `digest`: its node enrolls again.
    func revokeNodeCredential(digest: String) throws
    /// The node whose current heartbeat credential has `digest`, and the address it was issued to.
    func nodeCredential(digest: String) throws -> (hostname: Hostname, ip: IPv4Address)?
    /// The TPM key `hostname` is bound to, and a different one it was refused with, if any.
    func tpmKey(hostname: Hostname) throws -> TPMKeyRecord?
    /// Binds `hostname` to a TPM key (nil: unbinds it), audited as `action`; `NotFoundError` for an unknown node.
    func setTPMKey(hostname: Hostname, _ record: TPMKeyRecord?, action: String, now: String) throws
    /// Keeps the key an enrollment of a bound node was refused with, for the operator to accept.
    func offerTPMKey(hostname: Hostname, fingerprint: String, now: String) throws
    /// A node's standing in the site's cloud (joined, or pending and why), as last reported.
    func cloudMember(hostname: Hostname) throws -> CloudMemberRecord?
    /// Every node's standing in the cloud, by hostname.
    func cloudMembers() throws -> [String: CloudMemberRecord]
    /// Records a node's standing in the cloud.
    func setCloudMember(hostname: Hostname, state: String, reason: String?, now: String) throws

    // MARK: API tokens and the audit log

    /// Keeps a new named token (its digest); `ConflictError` when the name is taken.
    func addAPIToken(name: APITokenName, digest: String, scopes: [APIScope], now: String) throws -> APIToken
    /// Every named token, by name.
    func apiTokens() throws -> [APIToken]
    /// The token whose digest is `digest`, if one is kept.
    func apiToken(digest: String) throws -> APIToken?
    /// Forgets a token; `NotFoundError` for an unknown name.
    func revokeAPIToken(name: APITokenName, now: String) throws
    /// Gives a token a new value; `NotFoundError` for an unknown name.
    func rotateAPIToken(name: APITokenName, digest: String, now: String) throws -> APIToken
    /// Records a change made outside the registry (the site token's file rotated) in the audit log.
    func recordAudit(action: String, subject: String, now: String) throws
    /// Notes that a token authorized a request, unless it did since `after`.
    func touchAPIToken(name: String, now: String, after: String) throws
    /// The audit log, oldest first: rows at or after `since`, the last `limit`.
    func audit(since: String?, limit: Int) throws -> [AuditEntry]

    // MARK: generations and rollouts

    /// Takes nodes out of placement (true) or puts them back, all or none; returns the hostnames that changed.
    func setDrained(_ keys: [String], _ drained: Bool, now: String) throws -> [String]
    /// Records a new rollout and gives it its id; `ConflictError` while one of the same image runs.
    func createRollout(_ rollout: Rollout) throws -> Rollout
    /// Saves a rollout's state.
    func saveRollout(_ rollout: Rollout) throws
    /// Rollouts, newest first (of one image, when given).
    func rollouts(image: String?) throws -> [Rollout]

    /// A value that changes whenever what the nodes' boot files are made of changes
    /// (a node added or removed, its hostname, MAC, IP, profile or pin), and not otherwise.
    func nodesToken() throws -> String

    // MARK: boot servers

    /// The nodes whose boot files changed after `sequence` of the change log;
    /// nil when the log cannot say (pruned past it, another registry, more than `limit`).
    func nodeChanges(since sequence: Int64, limit: Int) throws -> NodeChanges?
    /// Every node and the change log's sequence number they are at.
    func nodesAtSequence() throws -> (sequence: Int64, nodes: [Node])
    /// The change log's last sequence number.
    func latestChange() throws -> Int64
    /// Records what a boot server reports of itself.
    func reportBootServer(_ record: BootServerRecord) throws
    /// Every boot server that reported, by name.
    func bootServers() throws -> [BootServerRecord]
    /// Forgets a boot server; false when none has that name.
    func removeBootServer(_ name: String) throws -> Bool
    /// Calls `doorbell` soon after every committed change of the change log,
    /// and after every (re)connect of its listener (what it missed meanwhile
    /// is in the log). Runs until cancelled. A registry without notifications
    /// returns at once: its followers poll.
    func watchChanges(_ doorbell: @escaping @Sendable () -> Void) async

    // MARK: run-time status

    /// Every node with its run-time status, by hostname.
    func statuses() throws -> [NodeStatus]
    /// One node's status, by hostname or MAC.
    func status(_ key: String) throws -> NodeStatus?
    /// Records a boot phase of the machine with `mac`; an unknown MAC is queued for discovery.
    /// - Returns: the node's hostname, or nil when the MAC is unknown.
    /// A new boot records how it began (`bootPath`, when known).
    func recordBootEvent(mac: MACAddress, ip: String?, phase: BootPhase, now: String, newBoot: Bool, bootPath: BootPath?) throws -> String?
    /// Marks a node enrolled: its image, capacity, instances, boot timings and firmware, the `enrolled` phase.
    func recordEnrollment(hostname: Hostname, image: String?, capacity: NodeCapacity, instances: [InstanceStatus], bootTimings: BootTimings?,
                          platform: NodePlatform?, now: String) throws
    /// Many heartbeats in one transaction (group commit); per heartbeat, the instances to start and to stop.
    func heartbeats(_ beats: [HeartbeatRecord], now: String) throws -> [(run: [InstanceSpec], terminate: [String])]
    /// Marks `lost` every enrolled or ready node silent since `before`; returns their hostnames.
    func markLost(heartbeatBefore before: String, now: String) throws -> [String]
    /// The discovery queue, oldest first.
    func discovered() throws -> [DiscoveredMachine]
    /// The address serve's DHCP last leased the discovered machine `mac`, and when.
    func lease(mac: MACAddress) throws -> (ip: String, at: String)?
    /// Hostnames of live nodes that booted `image/generation`.
    func nodesUsing(image: String, generation: GenerationID) throws -> [String]

    // MARK: instances

    /// Every instance, newest first.
    func instances() throws -> [InstanceRecord]
    /// Places and records a new instance in one transaction.
    func runInstance(id: String, type: VMType, spec: InstanceSpec, only: String?, now: String) throws -> InstanceRecord
    /// Marks an instance to be terminated.
    func terminateInstance(_ id: String, now: String) throws -> InstanceRecord
}

extension Registry {
    /// Followers poll a registry that cannot notify them.
    public func watchChanges(_ doorbell: @escaping @Sendable () -> Void) async {}

    /// Adds nodes, all or none (action `node.add`, no work inside the transaction).
    @discardableResult
    public func add(_ specs: [NodeSpec], config: SiteConfig, now: String, action: String = "node.add") throws -> [Node] {
        try add(specs, config: config, now: now, action: action, beforeCommit: { _ in })
    }

    public func update(_ key: String, _ change: NodeChange, config: SiteConfig, now: String) throws -> (old: Node, new: Node) {
        try update(key, change, config: config, now: now, beforeCommit: { _ in })
    }

    public func claim(mac: MACAddress, into hostname: Hostname?, now: String) throws -> (old: Node, new: Node) {
        try claim(mac: mac, into: hostname, now: now, beforeCommit: { _ in })
    }

    @discardableResult
    public func remove(_ keys: [String], now: String) throws -> [Node] {
        try remove(keys, now: now, beforeCommit: { _ in })
    }

    /// Marks a node enrolled, without boot timings (a controller that sends none).
    public func recordEnrollment(hostname: Hostname, image: String?, capacity: NodeCapacity, instances: [InstanceStatus], now: String) throws {
        try recordEnrollment(hostname: hostname, image: image, capacity: capacity, instances: instances, bootTimings: nil, platform: nil, now: now)
    }

    @discardableResult
    public func recordBootEvent(mac: MACAddress, ip: String?, phase: BootPhase, now: String) throws -> String? {
        try recordBootEvent(mac: mac, ip: ip, phase: phase, now: now, newBoot: false, bootPath: nil)
    }

    @discardableResult
    public func recordBootEvent(mac: MACAddress, ip: String?, phase: BootPhase, now: String, newBoot: Bool) throws -> String? {
        try recordBootEvent(mac: mac, ip: ip, phase: phase, now: now, newBoot: newBoot, bootPath: nil)
    }
}

/// A boot's enrollment, as `Registry.enroll(_:now:)` records it in one transaction.
public struct EnrollmentRecord: Sendable {
    public var node: Node
    /// The digest of the boot credential it presented (used up by the enrollment).
    public var bootDigest: String
    /// Where it enrolled from.
    public var from: String?
    /// The digest of the heartbeat credential it gets.
    public var heartbeatDigest: String
    public var image: String?
    public var capacity: NodeCapacity
    public var instances: [InstanceStatus]
    public var bootTimings: BootTimings?
    public var platform: NodePlatform?
    /// The TPM key to pin with this enrollment (its first that proves one).
    public var tpmPin: String?

    public init(node: Node, bootDigest: String, from: String?, heartbeatDigest: String, image: String?, capacity: NodeCapacity,
                instances: [InstanceStatus], bootTimings: BootTimings?, platform: NodePlatform?, tpmPin: String? = nil) {
        self.tpmPin = tpmPin
        self.node = node
        self.bootDigest = bootDigest
        self.from = from
        self.heartbeatDigest = heartbeatDigest
        self.image = image
        self.capacity = capacity
        self.instances = instances
        self.bootTimings = bootTimings
        self.platform = platform
    }
}

/// One node's heartbeat, as `Registry.heartbeats(_:now:)` takes them.
public struct HeartbeatRecord: Sendable {
    public var hostname: Hostname
    public var capacity: NodeCapacity
    /// The instances the node reports.
    public var reported: [InstanceStatus]
    /// The node's boot timings, when this heartbeat carries them.
    public var bootTimings: BootTimings?
    public init(hostname: Hostname, capacity: NodeCapacity, reported: [InstanceStatus], bootTimings: BootTimings? = nil) {
        self.bootTimings = bootTimings
        self.hostname = hostname
        self.capacity = capacity
        self.reported = reported
    }
}

/// One node before and after a change (nil: did not exist / no longer exists).
public struct NodeChangeRecord: Sendable {
    public var old: Node?
    public var new: Node?
}
