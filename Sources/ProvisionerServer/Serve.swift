import Foundation
import Hummingbird
import Logging
import ProvisionerCore
import ProvisionerPlatform
import ProvisionerStore

/// `provisioner serve` as one supervised service: preflight, the boot
/// daemons, the HTTP server, the lost-node sweep and the dnsmasq config
/// watch; on SIGTERM or SIGINT everything it started is stopped.
public struct ServeRunner: Sendable {
    public var state: ServeState
    public var daemons: DaemonStarter
    public var host: String
    public var port: Int

    public init(state: ServeState, daemons: DaemonStarter, host: String, port: Int) {
        self.state = state
        self.daemons = daemons
        self.host = host
        self.port = port
    }

    /// Runs until SIGTERM/SIGINT.
    /// - Throws: `SystemError` when a preflight check fails or a daemon does not come up (nothing is left running).
    public func run() async throws {
        let logger = state.logger
        if let problem = daemons.preflight(httpPort: port) { throw SystemError("cannot start: \(problem)") }
        let sup = Supervisor(logger: logger)
        state.supervisor.withLock { $0 = sup }
        do {
            try daemons.start(sup, logger: logger)
        } catch {
            sup.stopAll()
            throw error
        }
        defer { sup.stopAll() }
        let app = buildApplication(state, host: host, port: port)
        logger.info("serving http://\(host):\(port) (boot scripts, images, node API, status page, metrics)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            group.addTask { await housekeeping(sup) }
            group.addTask { await replicate() }
            // runService returns on SIGTERM/SIGINT (graceful shutdown); then stop the rest.
            try await group.next()
            group.cancelAll()
        }
        logger.info("shutting down: stopping the daemons")
    }

    /// Every heartbeat interval: mark silent nodes lost; restart dnsmasq when
    /// its main config changed (host entries need no restart: dnsmasq reads
    /// new files in dhcp-hostsdir, and node commands SIGHUP it).
    func housekeeping(_ sup: Supervisor) async {
        let conf = Paths.dnsmasqConf(state.config)
        var stamp = Self.mtime(conf)
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(max(0.5, state.heartbeatSeconds)))
            if Task.isCancelled { return }
            state.sweepLost()
            let now = Self.mtime(conf)
            if now != stamp {
                stamp = now
                state.logger.notice("\(conf) changed: restarting dnsmasq")
                sup.signal("dnsmasq", SIGTERM)
            }
        }
    }

    /// The replica and this boot server's node files follow the registry's
    /// change log: at once when the registry rings (PostgreSQL's NOTIFY),
    /// and every second in any case (a lost notification, SQLite, an
    /// outage). Every two seconds the boot server reports itself.
    /// `forSite` made the first round.
    func replicate() async {
        let bell = Doorbell()
        await withDiscardingTaskGroup { group in
            group.addTask { await state.registry.watchChanges { bell.ring() } }
            group.addTask {
                // forSite made the first round and the first report.
                var reported = ContinuousClock.now
                var persisted = ContinuousClock.now
                defer { state.replica.persist() }
                while !Task.isCancelled {
                    await bell.wait(timeout: .seconds(1))
                    if Task.isCancelled { return }
                    // The replica's file is written when a round finds nothing new, or every 15 s under a stream of changes.
                    if state.follow() == 0 || ContinuousClock.now - persisted >= .seconds(15) {
                        state.replica.persist()
                        persisted = ContinuousClock.now
                    }
                    if ContinuousClock.now - reported >= .seconds(2) {
                        state.reportBootServer()
                        reported = ContinuousClock.now
                    }
                }
            }
        }
    }

    static func mtime(_ path: String) -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { return 0 }
        return Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)
    }
}
