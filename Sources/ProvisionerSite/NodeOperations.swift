import ProvisionerCore
import ProvisionerStore
import ProvisionerBoot

/// The node changes of the CLI and of serve's API, with their boot files:
/// once the site has been applied, each change writes (or removes) only the
/// files of the nodes it touched, inside the registry transaction, so the
/// registry and the files never disagree (a failed write rolls the change back).
public struct NodeOperations: Sendable {
    public let registry: Registry
    public let config: SiteConfig
    /// nil when the site is not applied yet (or the caller wants the registry only).
    public let applier: Applier?

    public init(registry: Registry, config: SiteConfig, applier: Applier?) {
        self.registry = registry
        self.config = config
        self.applier = applier
    }

    /// What a change did to the boot files.
    public struct FileReport: Sendable, Codable, Equatable {
        /// false: the site is not applied, nothing was written.
        public var applied: Bool
        public var written: Int
        public var removed: Int
        /// Reloads done, such as "dnsmasq: SIGHUP".
        public var actions: [String]

        /// One line for people.
        public var summary: String {
            guard applied else { return "boot files: not written (site not applied yet; run `provisioner apply`)" }
            var s = "boot files: \(written) written, \(removed) removed"
            if !actions.isEmpty { s += "; " + actions.joined(separator: "; ") }
            return s
        }
    }

    /// Registers nodes, all or none.
    public func add(_ specs: [NodeSpec], now: String, action: String = "node.add") throws -> (nodes: [Node], files: FileReport) {
        var files = Files(self)
        let added = try registry.add(specs, config: config, now: now, action: action) { try files.apply($0) }
        return (added, files.report)
    }

    /// Registers the nodes of a hostname or hostlist (with MACs in order and
    /// sequential addresses), all or none.
    public func add(_ batch: NodeBatch, now: String, action: String = "node.add") throws -> (nodes: [Node], files: FileReport) {
        try add(try batch.specs(config: config), now: now, action: action)
    }

    /// Registers nodes from CSV or JSON text (`node import`), all or none.
    /// - Parameter json: JSON (what `node list --json` prints) or CSV; nil: JSON when the text starts with `[` or `{`.
    public func importNodes(_ text: String, json: Bool? = nil, now: String) throws -> (nodes: [Node], files: FileReport) {
        let first = text.first { !$0.isWhitespace }
        let specs = json ?? (first == "[" || first == "{") ? try NodeImport.parse(json: Array(text.utf8), config: config) : try NodeImport.parse(csv: text, config: config)
        return try add(specs, now: now, action: "node.import")
    }

    /// Changes one node (by hostname or MAC).
    public func update(_ key: String, _ change: NodeChange, now: String) throws -> (old: Node, new: Node, files: FileReport) {
        var files = Files(self)
        let (old, new) = try registry.update(key, change, config: config, now: now) { try files.apply($0) }
        return (old, new, files.report)
    }

    /// Removes nodes by hostname, MAC or hostlist (`n[001-010]`), all or none.
    public func remove(_ keys: [String], now: String) throws -> (nodes: [Node], files: FileReport) {
        var files = Files(self)
        let removed = try registry.remove(try Hostlist.expandKeys(keys), now: now) { try files.apply($0) }
        return (removed, files.report)
    }

    /// Registers a discovered MAC: as a new node named `hostname`, or into the
    /// node `hostname` added without a MAC, or (no hostname) into the first
    /// node waiting for discovery. Then it leaves the discovery queue.
    /// - Throws: `ConflictError` when there is no slot, or the slot has a MAC already.
    public func accept(mac: MACAddress, hostname: Hostname?, profile: ProfileName?, now: String) throws -> (node: Node, files: FileReport) {
        var files = Files(self)
        if let hostname, try registry.node(hostname.value) == nil {
            let spec = NodeSpec(hostname: hostname, mac: mac, ip: nil, profile: profile)
            let node = try registry.add([spec], config: config, now: now, action: "node.accept") { try files.apply($0) }[0]
            return (node, files.report)
        }
        // One transaction picks the slot and takes it: machines accepted at once get different nodes.
        let node = try registry.claim(mac: mac, into: hostname, now: now) { try files.apply($0) }.new
        return (node, files.report)
    }

    /// The files of one operation, accumulated across its transaction.
    struct Files {
        let ops: NodeOperations
        var report: FileReport

        init(_ ops: NodeOperations) {
            self.ops = ops
            report = FileReport(applied: ops.applier != nil, written: 0, removed: 0, actions: [])
        }

        /// Writes the files of the changed nodes, or throws (and the transaction rolls back).
        mutating func apply(_ changes: [NodeChangeRecord]) throws {
            guard let applier = ops.applier else { return }
            let site = BootSite(config: ops.config, nodes: [], generations: Generations.active(ops.config))
            let plan = try applier.nodePlan(changes.map { (old: $0.old, new: $0.new) }, site: site)
            let done = try applier.execute(plan)
            report.written += done.plan.count(.add) + done.plan.count(.change)
            report.removed += done.plan.count(.remove)
            report.actions += done.actions
        }
    }
}
