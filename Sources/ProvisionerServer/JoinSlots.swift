import Foundation

/// How many nodes may be joining the cluster at once: Incus takes a few
/// joins together but refuses more ("a configuration change is already in
/// progress"; measured here: 4 at once all joined, 12 at once left 2 out),
/// and a daemon refused that way takes no other join until it restarts. A
/// node holds its slot from the join it is given until it reports (joined
/// or pending), or `expiry` seconds at most.
struct JoinSlots: Sendable {
    let slots: Int
    let expiry: TimeInterval
    private var holders: [String: Date] = [:]

    init(slots: Int, expiry: TimeInterval) {
        self.slots = slots
        self.expiry = expiry
    }

    /// Whether `node` may be given a join now (it takes a slot, or keeps its own).
    mutating func take(_ node: String, at now: Date) -> Bool {
        holders = holders.filter { now.timeIntervalSince($0.value) < expiry }
        guard holders[node] != nil || holders.count < slots else { return false }
        holders[node] = now
        return true
    }

    /// `node` reported, or its join was not given: its slot is free.
    mutating func release(_ node: String) { holders[node] = nil }

    var inUse: Int { holders.count }
}
