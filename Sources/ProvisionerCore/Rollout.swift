/// A rolling image rollout: a generation taken to a set of nodes batch by
/// batch (drain, power-cycle with PXE next, wait for the enrollment on the
/// target generation, un-drain), stopped and rolled back at the first batch
/// that does not come back. Its whole state is this value, kept in the
/// registry after every step, so a rollout whose CLI was killed resumes
/// where it was.
public struct Rollout: Codable, Sendable, Equatable {
    /// 0 until the registry records it.
    public var id: Int
    public var image: String
    public var target: GenerationID
    /// The image's active generation when the rollout began.
    public var previous: GenerationID?
    /// Hostnames, batch by batch, in the order they go.
    public var batches: [[String]]
    /// Every node of the rollout (batched or skipped at the start), by hostname.
    public var nodes: [String: RolloutNode]
    public var status: RolloutStatus
    public var options: RolloutSettings
    /// The batch being worked on (index into `batches`); `batches.count` when all are through.
    public var batch: Int
    /// When the current batch was power-cycled (enrollments before it do not count).
    public var batchPoweredAt: String?
    public var startedAt: String
    public var updatedAt: String
    /// Why it stopped, for a failed or aborted rollout.
    public var message: String?

    public init(image: String, target: GenerationID, previous: GenerationID?, batches: [[String]], nodes: [String: RolloutNode],
                options: RolloutSettings, now: String) {
        self.id = 0
        self.image = image
        self.target = target
        self.previous = previous
        self.batches = batches
        self.nodes = nodes
        self.status = .running
        self.options = options
        self.batch = 0
        self.startedAt = now
        self.updatedAt = now
    }

    enum CodingKeys: String, CodingKey {
        case id, image, target, previous, batches, nodes, status, options, batch, message
        case batchPoweredAt = "batch_powered_at"
        case startedAt = "started_at"
        case updatedAt = "updated_at"
    }

    /// Nodes in `state`, in batch order.
    public func hostnames(in state: RolloutNode.State) -> [String] {
        (batches.flatMap { $0 } + nodes.keys.filter { h in !batches.contains { $0.contains(h) } }.sorted())
            .filter { nodes[$0]?.state == state }
    }

    /// `2 done, 1 pending, 1 skipped`.
    public var summary: String {
        RolloutNode.State.allCases.compactMap { s in
            let n = nodes.values.filter { $0.state == s }.count
            return n == 0 ? nil : "\(n) \(s.rawValue)"
        }.joined(separator: ", ")
    }
}

public enum RolloutStatus: String, Codable, Sendable, CaseIterable {
    case running
    /// Every batch came back on the target generation.
    case done
    /// A batch did not come back: it was rolled back and the rollout stopped.
    case failed
    /// Stopped by the operator (`image rollout --abort`).
    case aborted
}

/// How a rollout goes, as asked for at its start (a resumed rollout keeps them).
public struct RolloutSettings: Codable, Sendable, Equatable {
    /// Seconds a power-cycled node has to enroll on the target generation.
    public var timeout: Double
    /// Seconds running instances get before they are terminated.
    public var grace: Double
    /// Wait for instances to end by themselves instead of terminating them.
    public var waitForInstances: Bool
    /// Seconds a node has to drain (instances stopped) before it is skipped.
    public var drainTimeout: Double
    /// Make the target the image's active generation when every batch is through
    /// (a rollout to all of the image's nodes); a rollout to named nodes pins them instead.
    public var activate: Bool

    public init(timeout: Double = 600, grace: Double = 30, waitForInstances: Bool = false, drainTimeout: Double = 300, activate: Bool = true) {
        self.timeout = timeout
        self.grace = grace
        self.waitForInstances = waitForInstances
        self.drainTimeout = drainTimeout
        self.activate = activate
    }

    enum CodingKeys: String, CodingKey {
        case timeout, grace, activate
        case waitForInstances = "wait_for_instances"
        case drainTimeout = "drain_timeout"
    }
}

/// One node in a rollout.
public struct RolloutNode: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Not reached yet.
        case pending
        /// Taken out of placement; its instances are being stopped.
        case draining
        /// Pinned to the target and power-cycled: waiting for its enrollment.
        case cycling
        /// Back, enrolled on the target generation.
        case done
        /// Did not come back on the target generation.
        case failed
        /// Its batch failed: put back on the generation it ran and power-cycled again.
        case rolledBack = "rolled-back"
        /// Not touched (see `note`): pinned elsewhere, not running, no BMC, instances that would not stop.
        case skipped
    }

    public var state: State
    /// Its generation pin before the rollout (nil: it followed the active generation); what a rollback restores.
    public var pinBefore: GenerationID?
    /// The generation it ran when the rollout reached it, from its enrollment.
    public var ranBefore: String?
    /// Why it was skipped or failed, or what happened to it ("drained 1 instance").
    public var note: String?
    /// Seconds from its power cycle to its enrollment on the target.
    public var seconds: Double?

    public init(state: State = .pending, pinBefore: GenerationID? = nil, ranBefore: String? = nil, note: String? = nil) {
        self.state = state
        self.pinBefore = pinBefore
        self.ranBefore = ranBefore
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case state, note, seconds
        case pinBefore = "pin_before"
        case ranBefore = "ran_before"
    }
}

/// How a rollout cuts its nodes into batches.
public enum RolloutBatching: Equatable, Sendable {
    /// N nodes per batch.
    case size(Int)
    /// P percent of the nodes per batch (at least one node).
    case percent(Int)

    /// From the CLI's `--batch` and `--percent` (neither: one node at a time).
    /// - Throws: `ValidationError` for both, or a value out of range.
    public init(batch: Int?, percent: Int?) throws(ValidationError) {
        switch (batch, percent) {
        case (.some, .some):
            throw ValidationError(field: "batch", value: "\(batch!) and \(percent!)%", reason: "give --batch or --percent, not both")
        case (let n?, nil):
            guard n >= 1 else { throw ValidationError(field: "batch", value: String(n), reason: "at least 1 node per batch") }
            self = .size(n)
        case (nil, let p?):
            guard (1...100).contains(p) else { throw ValidationError(field: "percent", value: String(p), reason: "1 to 100") }
            self = .percent(p)
        case (nil, nil):
            self = .size(1)
        }
    }

    /// The hostnames, in order, cut into batches: the first batch is the canary, never bigger than the others.
    public func batches(_ hostnames: [String]) -> [[String]] {
        guard !hostnames.isEmpty else { return [] }
        let size: Int
        switch self {
        case .size(let n): size = n
        case .percent(let p): size = max(1, hostnames.count * p / 100)
        }
        return stride(from: 0, to: hostnames.count, by: size).map { Array(hostnames[$0..<min($0 + size, hostnames.count)]) }
    }
}
