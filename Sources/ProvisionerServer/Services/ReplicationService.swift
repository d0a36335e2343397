import ServiceLifecycle

/// The boot replica and this boot server's node files follow the registry's
/// change log: at once when the registry rings (PostgreSQL's NOTIFY), and
/// every second in any case (a lost notification, SQLite, an outage). Every
/// two seconds the boot server reports itself. `ServeRunner.forSite` made the
/// first round and the first report; it goes on once the boot daemons are up.
struct ReplicationService: Service {
    let state: ServeState
    /// How long a round may wait on the registry before boots stop asking it.
    static let deadline: Duration = .seconds(2)

    func run() async throws {
        let state = self.state
        await cancelWhenGracefulShutdown {
            // The node files are not rewritten while DaemonStarter brings dnsmasq up.
            await state.waitForDaemons()
            let bell = Doorbell()
            await withDiscardingTaskGroup { group in
                group.addTask { await state.registry.watchChanges { bell.ring() } }
                group.addTask {
                    var reported = ContinuousClock.now
                    var persisted = ContinuousClock.now
                    defer { state.replica.persist() }  // at shutdown
                    while !Task.isCancelled {
                        await bell.wait(timeout: .seconds(1))
                        if Task.isCancelled { break }
                        // The replica's file is written when a round finds nothing new, or every 15 s under a stream of changes.
                        // A registry that hangs (a stopped database host, a dead link) answers nothing:
                        // after two seconds without an answer boots go on from the replica, and this
                        // round waits for its answer (or the connection's end) before the next.
                        let watchdog = Task {
                            try await Task.sleep(for: Self.deadline)
                            state.replica.markUnreachable("no answer within \(Self.deadline)", logger: state.logger)
                        }
                        let changed = (try? await blocking { state.follow() }) ?? 0
                        watchdog.cancel()
                        if changed == 0 || ContinuousClock.now - persisted >= .seconds(15) {
                            _ = try? await blocking { state.replica.persist() }
                            persisted = ContinuousClock.now
                        }
                        if ContinuousClock.now - reported >= .seconds(2) {
                            _ = try? await blocking { state.reportBootServer() }
                            reported = ContinuousClock.now
                        }
                    }
                }
            }
        }
    }
}
