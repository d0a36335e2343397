import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import ProvisionerAPI
import ProvisionerCore
import ProvisionerBoot
import ProvisionerCloud
import ProvisionerPlatform
import ProvisionerSite
import ProvisionerStore

/// What every controller shares: the site, the registry, the heartbeat
/// credentials known here, the counters.
public final class ServeState: Sendable {
    public let config: SiteConfig
    public let registry: Registry
    public let heartbeatSeconds: Double
    /// Heartbeats missed before a node is lost.
    public let lostAfterBeats: Double
    public let logger: Logger
    /// Seconds since the epoch, for timestamps; injectable for tests.
    let clock: @Sendable () -> Date

    /// The heartbeat credentials known here (the registry keeps their digests).
    let credentials = CredentialStore()
    let counters = Mutex(ServeMetrics())
    /// Heartbeats are written in batches, one transaction per batch.
    let heartbeats: HeartbeatBatcher
    /// Boot phases and DHCP events, written beside the boots that make them.
    let telemetry = TelemetryQueue()

    /// The supervisor of the boot daemons (none started until `ServeRunner` starts them).
    let supervisor: Supervisor

    /// Set once the boot daemons are up: the services beside the server wait for it.
    let daemonsUp = Atomic<Bool>(false)

    /// Returns once the boot daemons are up (or the task is cancelled).
    func waitForDaemons() async {
        while !daemonsUp.load(ordering: .acquiring) && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The boot daemons and their restarts; empty when serve runs without them (handler tests).
    var daemons: [Supervisor.DaemonStatus] { supervisor.status() }

    /// Writes the boot files of node changes made through the API; nil: registry only.
    public let applier: Applier?
    /// The site's own API token (every scope; `<home>/api.token`, read at
    /// each request, so a rotation takes effect at once); nil: none.
    let siteToken: @Sendable () -> String?
    /// The nodes as last read from the registry: boots go on from it while the registry is down.
    let replica: NodeReplica
    /// This boot server's name in the registry (`boot_server.name`, else the machine's hostname).
    public let serverName: String
    let startedAt: String

    /// The site's Incus cluster, when it has one: the client, or why there is none.
    let cloud: Result<IncusClient, SystemError>?
    /// When each node may next be given a join: a pending node retries every 30 s, one
    /// that waited for a join slot every 2 s.
    let cloudAttempts = Mutex<[String: Date]>([:])
    /// Nodes given a join that have not reported yet: three at a time (`JoinSlots` says why).
    let cloudJoining = Mutex(JoinSlots(slots: 3, expiry: 60))

    public init(config: SiteConfig, registry: Registry, heartbeatSeconds: Double = 5, lostAfterBeats: Double = 3,
                logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }, applier: Applier? = nil, apiToken: String? = nil, apiTokenFile: String? = nil,
                replicaPath: String? = nil, cloud: Result<IncusClient, SystemError>? = nil) {
        self.cloud = cloud
        replica = NodeReplica(file: replicaPath)
        supervisor = Supervisor(logger: logger)
        serverName = config.bootServerName?.value ?? Site.machineName()
        startedAt = Timestamp.iso(clock())
        self.applier = applier
        siteToken = { apiTokenFile.map(Self.readToken) ?? apiToken }
        heartbeats = HeartbeatBatcher(registry: registry, now: { Timestamp.iso(clock()) })
        self.config = config
        self.registry = registry
        self.heartbeatSeconds = heartbeatSeconds
        self.lostAfterBeats = lostAfterBeats
        self.logger = logger
        self.clock = clock
    }

    /// Node changes with their boot files, as the CLI makes them.
    var nodeOperations: NodeOperations {
        NodeOperations(registry: registry, config: config, applier: applier)
    }

    public var metrics: ServeMetrics { counters.withLock { $0 } }
    func count(_ body: (inout ServeMetrics) -> Void) { counters.withLock { body(&$0) } }

    /// ISO 8601 UTC with milliseconds: sorts as text, and phases a few ms apart stay apart.
    func now() -> String { Timestamp.iso(clock()) }

    /// Whether the node API must see requests from the node's own address:
    /// in proxy mode the site's DHCP server chooses addresses, so it cannot.
    var checksSourceIP: Bool { config.dhcpMode == .authoritative }

    /// The node with this MAC, for a boot: the registry's answer, or the
    /// replica's while the registry cannot be reached.
    func bootNode(mac: MACAddress) throws -> Node? {
        // Known down (the follower checks each second): no boot waits on it.
        if !replica.isReachable { return replica.node(mac: mac) }
        do {
            return try registry.node(mac: mac)
        } catch where FailureKind(of: error) == .unavailable {
            return replica.node(mac: mac)
        }
    }

    /// The same, answered within `deadline` whatever the registry does: a
    /// registry that hangs (rather than refusing) is left to the follower's
    /// watchdog, and the boot goes on from the replica at once.
    func bootNode(mac: MACAddress, within deadline: Duration) async -> Node? {
        if !replica.isReachable { return replica.node(mac: mac) }
        let registry = self.registry, replica = self.replica
        return await firstOf(deadline, fallback: { replica.node(mac: mac) }) {
            do { return try registry.node(mac: mac) } catch { return replica.node(mac: mac) }
        }
    }

    /// The node at this address, for a boot (as `bootNode(mac:)`).
    func bootNode(ip: IPv4Address) -> Node? {
        if !replica.isReachable { return replica.node(ip: ip) }
        do {
            return try registry.node(ip: ip)
        } catch {
            return replica.node(ip: ip)
        }
    }

    /// Mints a single-use boot credential for `node` (handed to `clientIP`):
    /// its digest goes into the registry, replacing the node's earlier one.
    /// - Returns: the credential.
    func mintBootCredential(for mac: MACAddress, to clientIP: IPv4Address?) throws -> String {
        let value = BootCredential.make()
        try registry.mintBootCredential(BootCredentialRecord(mac: mac, digest: BootCredential.digest(value),
                                                             givenTo: clientIP?.description, mintedAt: now()))
        return value
    }

    /// Seconds from an ISO timestamp the registry keeps to now (nil: none, or unreadable).
    func secondsSince(_ timestamp: String?) -> Double? {
        timestamp.flatMap(Timestamp.parse).map { clock().timeIntervalSince($0) }
    }

    /// Seconds within which a node that sent a heartbeat is up.
    var aliveWithin: Double { lostAfterBeats * heartbeatSeconds }

    /// Records a boot phase when the registry can take it; a boot never waits
    /// for, or fails on, its telemetry.
    func recordBootPhase(_ record: @escaping @Sendable () throws -> Void) {
        // Known down: it would only fail (boots go on from the replica; telemetry is not kept).
        guard replica.isReachable else { return }
        let logger = self.logger
        telemetry.submit {
            do { try record() } catch {
                logger.debug("boot phase not recorded: \(error)")
            }
        }
    }

    /// The token in a token file; nil when it cannot be read or is empty.
    static func readToken(_ path: String) -> String? {
        guard let data = FileSystem.read(path) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// Brings the replica and this boot server's node files up to the
    /// registry's change log (see `NodeReplica.follow`).
    @discardableResult
    func follow() -> Int {
        replica.follow(registry, files: writeNodeFiles, logger: logger)
    }

    /// Writes (or removes) the boot files of changed nodes with this boot
    /// server's config, as a node command does; nothing before the site is applied.
    func writeNodeFiles(_ changes: [(old: Node?, new: Node?)]) throws {
        guard let applier, applier.siteIsApplied else { return }
        let site = BootSite(config: config, nodes: [], generations: Generations.active(config))
        let plan = try applier.nodePlan(changes, site: site)
        if !plan.isEmpty { try applier.execute(plan) }
    }

    /// What this boot server reports of itself to the registry.
    func bootServerRecord() -> BootServerRecord {
        BootServerRecord(name: serverName, address: config.serverIP.description, subnet: config.subnet.description,
                         role: config.bootServerRole?.rawValue, dhcpRange: config.servedRange?.description, startedAt: startedAt,
                         lastContact: now(), appliedSequence: replica.sequence, replicaNodes: replica.count,
                         daemons: Dictionary(daemons.map { ($0.name, $0.pid != nil) }, uniquingKeysWith: { a, _ in a }))
    }

    /// Reports this boot server to the registry when it can.
    func reportBootServer() {
        do { try registry.reportBootServer(bootServerRecord()) } catch {
            logger.debug("boot server report not recorded: \(error)")
        }
    }

    /// Marks lost the nodes that missed `lostAfterBeats` heartbeats.
    public func sweepLost() {
        let before = Timestamp.iso(clock().addingTimeInterval(-heartbeatSeconds * lostAfterBeats))
        if let lost = try? registry.markLost(heartbeatBefore: before, now: now()), !lost.isEmpty {
            logger.warning("lost (no heartbeat for \(Int(heartbeatSeconds * lostAfterBeats)) s): \(lost.joined(separator: ", "))")
        }
    }

    /// What `node` is given to join the site's cloud at this boot: a join,
    /// or why it does not join now (nil, nil: the site has no Incus cloud).
    /// Never longer than 3 s: a cloud that hangs makes the node pending, and
    /// it retries through its heartbeats; booting never waits on the cloud.
    func cloudJoin(for node: Node) async -> (join: CloudJoin?, pending: String?) {
        guard let settings = config.cloud, settings.engine == .incus, let cloud else { return (nil, nil) }
        let now = clock(), hostname = node.hostname.value
        cloudAttempts.withLock { $0[hostname] = now.addingTimeInterval(30) }
        let incus: IncusClient
        switch cloud {
        case .success(let client): incus = client
        case .failure(let problem): return (nil, "the provisioning server cannot use the cloud: \(problem)")
        }
        guard cloudJoining.withLock({ $0.take(hostname, at: now) }) else {
            cloudAttempts.withLock { $0[hostname] = now.addingTimeInterval(2) }
            return (nil, "the cluster is taking other nodes' joins (\(cloudJoining.withLock { $0.slots }) at a time): this one joins in a moment")
        }
        let config = self.config, replica = self.replica, logger = self.logger
        let persistent = config.profile(node.profile)?.persist == .disk
        let name = node.hostname.value, address = "\(node.ip):\(settings.memberPort)"
        typealias Minted = Result<(join: CloudJoin, operation: String), Site.CloudRefusal>
        // On a thread of its own, 3 s at most (the enrollment's answer waits on it, and the node
        // controller gives up on an answer after 10 s): a cloud that is slow makes the node pending,
        // and a token minted after that is revoked (the node never had it), its slot then freed.
        let outcome: Minted? = await withDeadline(.seconds(3), late: { [self] (late: Minted) in
            if case .success(let minted) = late { incus.revoke(operation: minted.operation) }
            cloudJoining.withLock { $0.release(name) }
            logger.notice("cloud: the join of \(name) came after its enrollment was answered: revoked, retried through its heartbeats")
        }) {
            do {
                return try await onOwnThread {
                    try Site.cloudJoin(incus, node: name, address: address, persistent: persistent, persistentMembers: { members in
                        Site.persistentMembers(members, node: { replica.node(hostname: $0) }, config: config)
                    })
                }
            } catch {
                return .failure(Site.CloudRefusal("the cloud cannot be reached: \(error)"))
            }
        }
        switch outcome {
        case .success(let minted)?:
            logger.info("cloud: \(name) may join the Incus cluster through \(minted.join.clusterAddress) (a token for this boot)")
            return (minted.join, nil)
        case .failure(let refusal)?:
            cloudJoining.withLock { $0.release(name) }
            logger.warning("cloud: \(name) does not join now: \(refusal)")
            return (nil, refusal.description)
        case nil:
            // The slot stays taken until the late answer is undone (above).
            cloudAttempts.withLock { $0[name] = clock().addingTimeInterval(30) }
            logger.warning("cloud: \(name) does not join now: the cloud did not answer within 3 s")
            return (nil, "the cloud did not answer within 3 s")
        }
    }

    /// What was last recorded of each node's standing in the cloud: only a change is written.
    let cloudRecorded = Mutex<[String: CloudMemberReport]>([:])

    /// Records a node's standing in the cloud when it changed (on the telemetry queue).
    func recordCloud(_ hostname: Hostname, _ report: CloudMemberReport) {
        guard cloudRecorded.withLock({ $0[hostname.value] != report }) else { return }
        let now = self.now()
        recordBootPhase { [self] in
            try registry.setCloudMember(hostname: hostname, state: report.state, reason: report.reason, now: now)
            // Only once it is written: a write dropped or failed is tried again with the next report.
            cloudRecorded.withLock { $0[hostname.value] = report }
        }
    }

    /// A new join for a node whose heartbeat says it is pending: 30 s after the last, or 2 s after waiting for a slot.
    func cloudRetry(for hostname: String, report: CloudMemberReport?) async -> (join: CloudJoin?, pending: String?) {
        // A node that reported joined or pending has ended its join, either way: its slot is free.
        if let state = report?.state, state != "joining" { cloudJoining.withLock { $0.release(hostname) } }
        guard report?.state == "pending", config.cloud?.engine == .incus, let node = replica.node(hostname: hostname) else { return (nil, nil) }
        let now = clock()
        let due = cloudAttempts.withLock { attempts in (attempts[hostname] ?? .distantPast) <= now }
        guard due else { return (nil, nil) }
        return await cloudJoin(for: node)
    }
}
