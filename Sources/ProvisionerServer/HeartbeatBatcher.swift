import Foundation
import ProvisionerAPI
import ProvisionerStore
import Synchronization

/// Group commit for heartbeats: handlers queue their heartbeat and wait; one
/// writer thread takes everything queued, records it in a single registry
/// transaction, and answers each with its own instance work. Under load one
/// commit serves hundreds of heartbeats, and no event loop ever blocks on
/// SQLite. Alone, a heartbeat is written at once (no timer, no added delay).
final class HeartbeatBatcher: Sendable {
    typealias Work = (run: [InstanceSpec], terminate: [String])
    private struct Pending: Sendable {
        var record: HeartbeatRecord
        var continuation: CheckedContinuation<Work, any Error>
    }

    private let registry: Registry
    private let now: @Sendable () -> String
    private let queue = Mutex<[Pending]>([])
    private let wake = DispatchSemaphore(value: 0)
    /// Largest batch written, for the log and tests.
    let largestBatch = Atomic<Int>(0)

    init(registry: Registry, now: @escaping @Sendable () -> String) {
        self.registry = registry
        self.now = now
        // The writer lives as long as serve (the batcher is never released while it waits).
        let thread = Thread { [self] in
            while true {
                wake.wait()
                drain()
            }
        }
        thread.name = "heartbeat-writer"
        thread.start()
    }

    /// Records a heartbeat; returns the node's instance work once committed.
    func submit(_ record: HeartbeatRecord) async throws -> Work {
        try await withCheckedThrowingContinuation { continuation in
            let first = queue.withLock { q in
                q.append(Pending(record: record, continuation: continuation))
                return q.count == 1
            }
            if first { wake.signal() }
        }
    }

    private func drain() {
        while true {
            let batch = queue.withLock { q in
                let taken = q
                q.removeAll(keepingCapacity: true)
                return taken
            }
            if batch.isEmpty { return }
            if batch.count > largestBatch.load(ordering: .relaxed) { largestBatch.store(batch.count, ordering: .relaxed) }
            do {
                let work = try registry.heartbeats(batch.map(\.record), now: now())
                for (p, w) in zip(batch, work) { p.continuation.resume(returning: w) }
            } catch {
                for p in batch { p.continuation.resume(throwing: error) }
            }
        }
    }
}
