import ProvisionerAPI

/// Where a new VM instance goes: greedy first fit, as Eucalyptus'
/// `SCHEDPOLICY=GREEDY`. Candidates are the ready nodes in hostname order;
/// the first whose free cores and memory — its last report, minus what was
/// placed on it since and is not running yet — hold the type gets it.
/// Disk is not reserved: kernel-boot instances use none, and a diskless
/// node's scratch space is its RAM, already counted as memory.
public enum Placement {
    public struct Candidate: Sendable, Equatable {
        public var hostname: String
        public var ready: Bool
        public var capacity: NodeCapacity?
        /// Cores and memory of instances placed on it that its reports do not show yet.
        public var pendingCores: Int
        public var pendingMemoryMiB: Int
        /// Taken out of placement (a rollout or the operator drains it): no new instance goes there.
        public var drained: Bool

        public init(hostname: String, ready: Bool, capacity: NodeCapacity?, pendingCores: Int = 0, pendingMemoryMiB: Int = 0, drained: Bool = false) {
            self.hostname = hostname
            self.drained = drained
            self.ready = ready
            self.capacity = capacity
            self.pendingCores = pendingCores
            self.pendingMemoryMiB = pendingMemoryMiB
        }

        /// Free cores and memory after what is pending.
        public var free: (cores: Int, memoryMiB: Int) {
            guard let c = capacity else { return (0, 0) }
            return (c.coresFree - pendingCores, c.memoryMiBFree - pendingMemoryMiB)
        }

        public func fits(_ t: VMType) -> Bool {
            ready && !drained && capacity.map { $0.hypervisor != .none } == true && free.cores >= t.cpus && free.memoryMiB >= t.memoryMiB
        }
    }

    /// The node for an instance of `type`, or why there is none.
    /// - Parameter only: place only on this node (the operator's `--node`).
    public static func choose(_ type: VMType, among candidates: [Candidate], only: String? = nil) -> Result<String, ConflictError> {
        let pool = candidates.filter { only == nil || $0.hostname == only }.sorted { $0.hostname < $1.hostname }
        if let only, pool.isEmpty { return .failure(ConflictError("no node \(quoted(only))")) }
        if let chosen = pool.first(where: { $0.fits(type) }) { return .success(chosen.hostname) }
        if let only, let node = pool.first {
            if !node.ready { return .failure(ConflictError("node \(only) is not ready")) }
            if node.drained { return .failure(ConflictError("node \(only) is drained (`provisioner node undrain \(only)` puts it back)")) }
            return .failure(ConflictError("node \(only) has no room for \(type.name) (\(type.cpus) cpus, \(type.memoryMiB) MiB): \(node.free.cores) cores and \(node.free.memoryMiB) MiB free"))
        }
        let ready = pool.filter { $0.ready && !$0.drained }.count
        if ready == 0 { return .failure(ConflictError("no ready node to run \(type.name)\(pool.contains { $0.ready && $0.drained } ? " (the ready ones are drained)" : "")")) }
        return .failure(ConflictError("no room for \(type.name) (\(type.cpus) cpus, \(type.memoryMiB) MiB) on any of the \(ready) ready node(s)"))
    }
}
