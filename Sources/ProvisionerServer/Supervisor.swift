import Foundation
import Logging
import ProvisionerBoot
import ProvisionerPlatform

/// Starts daemons as child processes, restarts them when they die (with a
/// growing delay), and stops them all on shutdown: SIGTERM, then SIGKILL
/// after a grace period. Each child is waited for on its own thread, so
/// nothing blocks the server's event loops.
public final class Supervisor: @unchecked Sendable {
    private let lock = NSLock()
    private var pids: [String: pid_t] = [:]
    private var restarts: [String: Int] = [:]
    private var started: [String] = []
    private var stopping = false
    private let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// The live pid of a daemon.
    public func pid(_ name: String) -> pid_t? { lock.withLock { pids[name] } }

    /// How many times a daemon was restarted.
    public func restartCount(_ name: String) -> Int { lock.withLock { restarts[name] ?? 0 } }

    /// One line per daemon started, in start order: its live pid (nil while
    /// it is down) and how often it was restarted.
    public struct DaemonStatus: Sendable, Equatable {
        public var name: String
        public var pid: pid_t?
        public var restarts: Int
    }

    public func status() -> [DaemonStatus] {
        lock.withLock { started.map { DaemonStatus(name: $0, pid: pids[$0], restarts: restarts[$0] ?? 0) } }
    }

    /// Starts a daemon and keeps it running.
    /// - Throws: `SystemError` when it cannot be started at all.
    public func start(_ spec: DaemonSpec) throws {
        let pid = try spawn(spec)
        lock.withLock { pids[spec.name] = pid; if !started.contains(spec.name) { started.append(spec.name) } }
        logger.info("started \(spec.name) (pid \(pid)): \(spec.argv.joined(separator: " "))")
        let thread = Thread { [weak self] in self?.watch(spec, pid: pid) }
        thread.name = "supervise-\(spec.name)"
        thread.start()
    }

    private func watch(_ spec: DaemonSpec, pid firstPID: pid_t) {
        var pid = firstPID
        var delay = 1.0
        var since = Date()
        while true {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // A daemon that ran a while before dying is restarted quickly again.
            if Date().timeIntervalSince(since) > 60 { delay = 1 }
            let how = (status & 0x7f) == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
            let stop: Bool = lock.withLock {
                if pids[spec.name] == pid { pids[spec.name] = nil }
                return stopping
            }
            if stop { logger.info("\(spec.name) (pid \(pid)) stopped"); return }
            logger.error("\(spec.name) (pid \(pid)) \(how); see \(spec.logFile)")
            guard spec.restart else { return }
            // It is tried again and again (the delay doubles to 30 s at most):
            // a boot daemon that cannot start now (a port still held, a
            // missing interface) may start later, and serve never gives up on it.
            while true {
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, Self.maxDelay)
                if lock.withLock({ stopping }) { return }
                do {
                    pid = try spawn(spec)
                    since = Date()
                    lock.withLock { pids[spec.name] = pid; restarts[spec.name, default: 0] += 1 }
                    logger.warning("restarted \(spec.name) (pid \(pid))")
                    break
                } catch {
                    logger.error("cannot restart \(spec.name): \(error); trying again in \(Int(delay)) s")
                }
            }
        }
    }

    /// The longest wait between two restarts of a daemon.
    static let maxDelay = 30.0

    private func spawn(_ spec: DaemonSpec) throws -> pid_t {
        let pid = try ProcessRunner.spawnLogged(spec.argv, log: spec.logFile)
        if let pidFile = spec.pidFile { try? FileSystem.writeAtomically("\(pid)\n", to: pidFile) }
        return pid
    }

    /// Sends a signal to a daemon (e.g. SIGHUP to reload).
    @discardableResult
    public func signal(_ name: String, _ sig: Int32) -> Bool {
        guard let pid = pid(name) else { return false }
        return kill(pid, sig) == 0
    }

    /// Stops every daemon: SIGTERM, then SIGKILL after `grace` seconds; returns when all are gone.
    public func stopAll(grace: Double = 5) {
        let children: [(String, pid_t)] = lock.withLock {
            stopping = true
            return pids.map { ($0.key, $0.value) }
        }
        for (name, pid) in children {
            logger.info("stopping \(name) (pid \(pid))")
            kill(pid, SIGTERM)
        }
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline, lock.withLock({ !pids.isEmpty }) { Thread.sleep(forTimeInterval: 0.05) }
        for (name, pid) in lock.withLock({ pids.map { ($0.key, $0.value) } }) {
            logger.warning("\(name) (pid \(pid)) ignored SIGTERM; killing it")
            kill(pid, SIGKILL)
        }
        let hard = Date().addingTimeInterval(5)
        while Date() < hard, lock.withLock({ !pids.isEmpty }) { Thread.sleep(forTimeInterval: 0.05) }
    }
}
