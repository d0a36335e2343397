import Foundation
import ProvisionerAPI

/// Asks the hypervisor what the node can run and runs, on a thread of its own,
/// one question at a time, and waits only so long for the answer.
///
/// libvirtd answers its first capabilities question only after probing QEMU
/// (about 30 s on a TCG node), and a stuck libvirtd may never answer: the
/// enrollment and the heartbeats must not wait for it, or the node enrolls
/// late and looks lost. A question still in flight is not asked again: the
/// next read waits on the same one.
final class HypervisorReader: @unchecked Sendable {
    struct Answer: Sendable {
        var capacity: NodeCapacity
        var instances: Result<[InstanceStatus], any Error>
    }

    /// The hypervisor did not answer in time.
    struct NoAnswer: Error, CustomStringConvertible {
        var seconds: Double
        var description: String { "the hypervisor has not answered within \(NodeController.seconds(seconds))" }
    }

    let hypervisor: any Hypervisor
    private let lock = NSLock()
    private var asking = false
    private var waiters: [UInt64: CheckedContinuation<Answer?, Never>] = [:]
    private var nextWaiter: UInt64 = 0

    init(hypervisor: any Hypervisor) { self.hypervisor = hypervisor }

    /// The hypervisor's answer, or nil when it has not come within `seconds`
    /// (the question stays in flight; a later read gets its answer or waits on it).
    func read(within seconds: Double) async -> Answer? {
        await withCheckedContinuation { (waiter: CheckedContinuation<Answer?, Never>) in
            let (id, ask): (UInt64, Bool) = lock.withLock {
                nextWaiter += 1
                waiters[nextWaiter] = waiter
                defer { asking = true }
                return (nextWaiter, !asking)
            }
            if ask {
                Thread.detachNewThread { [self] in
                    let answer = Answer(capacity: hypervisor.capacity(), instances: Result { try hypervisor.instances() })
                    let waiting = lock.withLock {
                        defer { asking = false; waiters = [:] }
                        return Array(waiters.values)
                    }
                    for w in waiting { w.resume(returning: answer) }
                }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + max(0, seconds)) { [self] in
                if let w = lock.withLock({ waiters.removeValue(forKey: id) }) { w.resume(returning: nil) }
            }
        }
    }
}
