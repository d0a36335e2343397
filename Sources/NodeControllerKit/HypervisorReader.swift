import Dispatch
import FoundationEssentials
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
    /// How long an answer that came after its deadline may stand in for one that does not come.
    let keepLate: Double
    private let lock = Lock()
    private var asking = false
    private var waiters: [UInt64: CheckedContinuation<Answer?, Never>] = [:]
    private var nextWaiter: UInt64 = 0
    /// The last answer and when it came (monotonic seconds).
    private var last: (answer: Answer, at: Double)?

    init(hypervisor: any Hypervisor, keepLate: Double = 30) {
        self.hypervisor = hypervisor
        self.keepLate = keepLate
    }

    /// Some question has been answered (whether or not anyone still waited).
    var hasAnswered: Bool { lock.withLock { last != nil } }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// The hypervisor's answer; when it has not come within `seconds`, the last
    /// one if it is at most `keepLate` old (a libvirt that always answers just
    /// after the deadline is still heard), else nil. The question stays in
    /// flight; a later read gets its answer or waits on it.
    func read(within seconds: Double) async -> Answer? {
        let answer = await ask(within: seconds)
        return lock.withLock {
            if let answer { return answer }
            guard let last, Self.now() - last.at <= keepLate else { return nil }
            return last.answer
        }
    }

    private func ask(within seconds: Double) async -> Answer? {
        await withCheckedContinuation { (waiter: CheckedContinuation<Answer?, Never>) in
            let (id, ask): (UInt64, Bool) = lock.withLock {
                nextWaiter += 1
                waiters[nextWaiter] = waiter
                defer { asking = true }
                return (nextWaiter, !asking)
            }
            if ask {
                Posix.detachThread(name: "hypervisor-read") { [self] in
                    let answer = Answer(capacity: hypervisor.capacity(), instances: Result { try hypervisor.instances() })
                    let waiting = lock.withLock {
                        defer { asking = false; waiters = [:]; last = (answer, Self.now()) }
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
