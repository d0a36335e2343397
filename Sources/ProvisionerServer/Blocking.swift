import NIOPosix

/// Runs a blocking call (a registry query: SQLite, or a PostgreSQL `.wait()`;
/// a BMC fan-out; a process) on serve's own thread pool, never on Swift's
/// cooperative pool (two threads on two cores: one stuck call there stalls
/// half the server). Sixteen threads: a registry that hangs holds a few, the
/// rest go on answering.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingPool.shared.runIfActive(work)
}

/// The pool behind `blocking`: started once, lives as long as the process.
enum BlockingPool {
    static let shared: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()
}
