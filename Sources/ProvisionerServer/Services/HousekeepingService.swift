import Foundation
import ProvisionerCore
import ServiceLifecycle

/// Every heartbeat interval: marks silent nodes lost, and restarts dnsmasq
/// when its main config changed (host entries need no restart: dnsmasq reads
/// new files in dhcp-hostsdir, and node commands SIGHUP it). It starts once
/// the boot daemons are up.
struct HousekeepingService: Service {
    let state: ServeState

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // Nothing is swept before the daemons and the server are up: no heartbeat could have come.
            await state.waitForDaemons()
            let conf = Paths.dnsmasqConf(state.config)
            var stamp = Self.mtime(conf)
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(max(0.5, state.heartbeatSeconds)))
                if Task.isCancelled { return }
                _ = try? await blocking { state.sweepLost() }
                let now = Self.mtime(conf)
                if now != stamp {
                    stamp = now
                    state.logger.notice("\(conf) changed: restarting dnsmasq")
                    _ = state.supervisor.signal("dnsmasq", SIGTERM)
                }
            }
        }
    }

    /// A file's modification time in nanoseconds (0 when it is missing).
    static func mtime(_ path: String) -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { return 0 }
        return Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)
    }
}
