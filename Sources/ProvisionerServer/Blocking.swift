import Foundation
import NIOPosix
import Synchronization

/// Runs a short blocking call (a registry query: SQLite, or a PostgreSQL
/// `.wait()`; a file written with fsync) on serve's own thread pool, never on
/// Swift's cooperative pool (two threads on two cores: one stuck call there
/// stalls half the server). A PostgreSQL registry serializes its calls on one
/// connection, so a database that hangs can still fill this pool; boots then
/// go on from the replica once the follower finds the registry unreachable.
/// Calls that wait on other machines for seconds (BMC fan-outs) use
/// `onOwnThread` instead, so they cannot take the pool from boots.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingPool.shared.runIfActive(work)
}

/// Runs a long blocking call (a BMC fan-out: seconds to minutes of waiting
/// on BMCs) on a thread of its own.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// The pool behind `blocking`: started once, lives as long as the process.
enum BlockingPool {
    static let shared: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()
}

/// The answer of `work`, or nil once `deadline` has passed without one: the
/// caller never waits longer. An answer that comes later is handed to
/// `late` (to undo what the caller was never told of); a call that hangs
/// is left behind to finish or not.
func withDeadline<T: Sendable>(_ deadline: Duration, late: @escaping @Sendable (T) -> Void = { _ in },
                               _ work: @escaping @Sendable () async -> T) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let once = LateAnswer(continuation, late: late)
        Task { once.answer(await work()) }
        Task {
            try? await Task.sleep(for: deadline)
            once.expire()
        }
    }
}

/// A blocking call on serve's blocking pool, answered within `deadline`:
/// `fallback()` when it has not answered by then, or failed.
func firstOf<T: Sendable>(_ deadline: Duration, fallback: @escaping @Sendable () -> T,
                          _ work: @escaping @Sendable () -> T) async -> T {
    await withDeadline(deadline) { (try? await blocking(work)) ?? fallback() } ?? fallback()
}

/// Resumes its continuation once: with the answer, or with nil at the deadline (a later answer goes to `late`).
private final class LateAnswer<T: Sendable>: Sendable {
    private let continuation: CheckedContinuation<T?, Never>
    private let late: @Sendable (T) -> Void
    private let resumed = Mutex(false)
    init(_ continuation: CheckedContinuation<T?, Never>, late: @escaping @Sendable (T) -> Void) {
        self.continuation = continuation
        self.late = late
    }

    private func first() -> Bool { resumed.withLock { r in defer { r = true }; return !r } }

    func answer(_ value: T) {
        if first() { continuation.resume(returning: value) } else { late(value) }
    }

    func expire() {
        if first() { continuation.resume(returning: nil) }
    }
}
