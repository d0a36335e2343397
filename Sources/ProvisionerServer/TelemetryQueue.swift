import Dispatch
import Synchronization

/// Boot telemetry (DHCP events, script and file fetches recorded as boot
/// phases) is written beside the boot, never in its way: a bounded queue
/// drained in order by one worker of its own, off Swift's cooperative pool
/// and off serve's blocking pool. A registry that hangs holds up only this
/// queue; once it is full, new records are dropped and counted, never waited for.
final class TelemetryQueue: Sendable {
    private let queue = DispatchQueue(label: "provisioner.boot-telemetry")
    private let pending = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)
    let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    /// Records dropped because the queue was full.
    var dropped: Int { droppedCount.load(ordering: .relaxed) }

    /// Queues `work`; false (and counted) when the queue is full.
    @discardableResult
    func submit(_ work: @escaping @Sendable () -> Void) -> Bool {
        guard pending.wrappingAdd(1, ordering: .relaxed).newValue <= capacity else {
            pending.wrappingSubtract(1, ordering: .relaxed)
            droppedCount.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        queue.async { [self] in
            work()
            pending.wrappingSubtract(1, ordering: .relaxed)
        }
        return true
    }

    /// Waits until everything queued so far is written (tests, shutdown).
    func drain() { queue.sync {} }
}
