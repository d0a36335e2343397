import Foundation
import Logging
import ProvisionerCore
import ProvisionerServices
import ProvisionerStore
import Synchronization

/// The nodes as this boot server last read them from the registry: what a
/// boot needs (a MAC's node, an address's node) when the registry cannot be
/// reached. The boot files themselves are on disk already; with this, a
/// registered node keeps getting its iPXE script, kernel and root while the
/// database is down. Refreshed when the registry's nodes token changes, and
/// kept in a file so that a boot server restarted during the outage still
/// knows its nodes.
final class NodeReplica: Sendable {
    struct Snapshot: Codable {
        var token: String
        var nodes: [Node]
    }

    private struct State {
        var token: String?
        var byMAC: [MACAddress: Node] = [:]
        var byIP: [IPv4Address: Node] = [:]
        /// Whether the registry answered the last time it was asked.
        var reachable = true
    }

    private let state = Mutex(State())
    /// Where the replica is kept between runs (nil: memory only).
    let file: String?

    init(file: String?) {
        self.file = file
        if let file, let data = FileSystem.read(file), let snapshot = try? JSONDecoder().decode(Snapshot.self, from: data) {
            install(snapshot)
        }
    }

    var count: Int { state.withLock { $0.byMAC.count } }

    func node(mac: MACAddress) -> Node? { state.withLock { $0.byMAC[mac] } }
    func node(ip: IPv4Address) -> Node? { state.withLock { $0.byIP[ip] } }

    /// Reads the registry's nodes when its token changed. When the registry
    /// cannot be reached the replica stays as it was; the change of
    /// reachability is logged once each way.
    func refresh(_ registry: Registry, logger: Logger) {
        do {
            let token = try registry.nodesToken()
            let known = state.withLock { $0.token }
            if token != known {
                let snapshot = Snapshot(token: token, nodes: try registry.nodes())
                install(snapshot)
                if let file { try? FileSystem.writeAtomically(try JSONEncoder().encode(snapshot), to: file, mode: 0o600) }
            }
            if state.withLock({ s in defer { s.reachable = true }; return !s.reachable }) {
                logger.notice("registry reachable again: boot replica of \(count) nodes current")
            }
        } catch {
            if state.withLock({ s in defer { s.reachable = false }; return s.reachable }) {
                logger.error("registry unreachable: booting goes on from the replica of \(count) nodes (\(error))")
            }
        }
    }

    private func install(_ snapshot: Snapshot) {
        var byMAC: [MACAddress: Node] = [:]
        var byIP: [IPv4Address: Node] = [:]
        for n in snapshot.nodes {
            if let mac = n.mac { byMAC[mac] = n }
            byIP[n.ip] = n
        }
        state.withLock { s in
            s.token = snapshot.token
            s.byMAC = byMAC
            s.byIP = byIP
        }
    }
}
