import Foundation
import Logging
import ProvisionerCore
import ProvisionerBoot
import ProvisionerPlatform
import ProvisionerStore
import Synchronization

/// The nodes as this boot server last read them from the registry, and the
/// change log's sequence number they are at: what a boot needs (a MAC's
/// node, an address's node) when the registry cannot be reached, and what
/// this boot server's node files were last rendered from.
///
/// It follows the registry's change log: each round reads only the nodes
/// changed since its sequence number (the whole registry the first time,
/// and when the log no longer reaches back that far), renders their boot
/// files with this server's own config (its address, paths and range), then
/// moves on. It is kept in a file, so a boot server restarted during an
/// outage still knows its nodes, and one restarted after changes catches up
/// from the log.
final class NodeReplica: Sendable {
    struct Snapshot: Codable {
        var sequence: Int64
        var nodes: [Node]
    }

    private struct State {
        /// nil until the first read (or a replica file) says where it is.
        var sequence: Int64?
        var byHostname: [String: Node] = [:]
        var byMAC: [MACAddress: Node] = [:]
        var byIP: [IPv4Address: Node] = [:]
        /// Whether the registry answered the last time it was asked.
        var reachable = true
        /// The last failure to write boot files, logged once until it changes.
        var lastFileError: String?
        /// Changed since the file was last written.
        var dirty = false
    }

    private let state = Mutex(State())
    /// Where the replica is kept between runs (nil: memory only).
    let file: String?
    /// Whether it read a replica file at start (a restarted boot server).
    let restored: Bool

    init(file: String?) {
        self.file = file
        if let file, let data = FileSystem.read(file), let snapshot = try? JSONDecoder().decode(Snapshot.self, from: data) {
            restored = true
            state.withLock { Self.install(Self.byHostname(snapshot.nodes), sequence: snapshot.sequence, into: &$0) }
        } else {
            restored = false
        }
    }

    var count: Int { state.withLock { $0.byHostname.count } }
    /// The change log's sequence number it is at (0 before its first read).
    var sequence: Int64 { state.withLock { $0.sequence ?? 0 } }
    var isReachable: Bool { state.withLock { $0.reachable } }

    /// The registry did not answer a round in time (it hangs rather than
    /// refusing): boots go on from the replica until a round succeeds.
    func markUnreachable(_ why: String, logger: Logger) {
        if state.withLock({ s in defer { s.reachable = false }; return s.reachable }) {
            logger.error("registry unreachable: booting goes on from the replica of \(count) nodes (\(why))")
        }
    }

    func node(mac: MACAddress) -> Node? { state.withLock { $0.byMAC[mac] } }
    func node(ip: IPv4Address) -> Node? { state.withLock { $0.byIP[ip] } }
    func node(hostname: String) -> Node? { state.withLock { $0.byHostname[hostname] } }

    /// Catches up with the registry: the nodes changed since its sequence
    /// number (or all of them), their boot files written through `files`
    /// (old and new node per change), then the new state installed. When
    /// the registry cannot be reached, or the files cannot be written, it
    /// stays where it was and the next round tries again; the change of
    /// reachability is logged once each way.
    /// - Returns: how many nodes changed (0 when nothing did or it failed).
    @discardableResult
    func follow(_ registry: Registry, files: ([(old: Node?, new: Node?)]) throws -> Void, logger: Logger) -> Int {
        let (known, current) = state.withLock { ($0.sequence, $0.byHostname) }
        var changes: [(old: Node?, new: Node?)] = []
        var full: [String: Node]?
        let sequence: Int64
        do {
            if let known, let log = try registry.nodeChanges(since: known, limit: 5_000) {
                sequence = log.latest
                for (hostname, new) in log.changed where current[hostname] != new { changes.append((current[hostname], new)) }
            } else {
                let all = try registry.nodesAtSequence()
                sequence = all.sequence
                let next = Self.byHostname(all.nodes)
                for hostname in Set(current.keys).union(next.keys) where current[hostname] != next[hostname] {
                    changes.append((current[hostname], next[hostname]))
                }
                full = next
            }
            if state.withLock({ s in defer { s.reachable = true }; return !s.reachable }) {
                logger.notice("registry reachable again: catching up from change \(known ?? 0)")
            }
        } catch {
            if state.withLock({ s in defer { s.reachable = false }; return s.reachable }) {
                logger.error("registry unreachable: booting goes on from the replica of \(count) nodes (\(error))")
            }
            return 0
        }
        if !changes.isEmpty {
            do {
                try files(changes)
                if state.withLock({ s in defer { s.lastFileError = nil }; return s.lastFileError != nil }) {
                    logger.notice("boot files of changed nodes written again")
                }
            } catch {
                let message = "\(error)"
                if state.withLock({ s in defer { s.lastFileError = message }; return s.lastFileError != message }) {
                    logger.error("boot files of \(changes.count) changed nodes not written (tried again each round): \(message)")
                }
                return 0
            }
        }
        if changes.isEmpty && known == sequence { return 0 }
        state.withLock { s in
            if let full {
                Self.install(full, sequence: sequence, into: &s)
            } else {
                // Only what changed: a change costs the same in a replica of ten nodes or of ten thousand.
                for (old, _) in changes {
                    if let old {
                        s.byHostname[old.hostname.value] = nil
                        if let mac = old.mac, s.byMAC[mac]?.hostname == old.hostname { s.byMAC[mac] = nil }
                        if s.byIP[old.ip]?.hostname == old.hostname { s.byIP[old.ip] = nil }
                    }
                }
                for (_, new) in changes {
                    if let new {
                        s.byHostname[new.hostname.value] = new
                        if let mac = new.mac { s.byMAC[mac] = new }
                        s.byIP[new.ip] = new
                    }
                }
                s.sequence = sequence
            }
            s.dirty = true
        }
        return changes.count
    }

    /// Writes the replica's file when it changed since the last write (the
    /// follower calls it when a round found nothing new, and when it stops:
    /// writing ten thousand nodes is kept off the path of a change).
    func persist() {
        guard let file else { return }
        guard let snapshot = state.withLock({ s -> Snapshot? in
            guard s.dirty, let sequence = s.sequence else { return nil }
            s.dirty = false
            return Snapshot(sequence: sequence, nodes: s.byHostname.values.sorted { $0.hostname.value < $1.hostname.value })
        }) else { return }
        do {
            try FileSystem.writeAtomically(try JSONEncoder().encode(snapshot), to: file, mode: 0o600)
        } catch {
            state.withLock { $0.dirty = true }
        }
    }

    private static func byHostname(_ nodes: [Node]) -> [String: Node] {
        Dictionary(nodes.map { ($0.hostname.value, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Replaces the whole replica with `byHostname` (its MAC and address indexes made from it).
    private static func install(_ byHostname: [String: Node], sequence: Int64, into s: inout State) {
        var byMAC: [MACAddress: Node] = [:], byIP: [IPv4Address: Node] = [:]
        for n in byHostname.values {
            if let mac = n.mac { byMAC[mac] = n }
            byIP[n.ip] = n
        }
        s.sequence = sequence
        s.byHostname = byHostname
        s.byMAC = byMAC
        s.byIP = byIP
    }
}

/// A wake-up call for a waiting task: `ring` from anywhere; `wait` returns
/// when it was rung since the last wait, or after its timeout.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter { s.waiter = nil; return w }
            s.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// One waiter at a time.
    func wait(timeout: Duration) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.ring()
        }
        defer { timer.cancel() }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.rung { s.rung = false; return true }
                s.waiter = c
                return false
            }
            if now { c.resume() }
        }
    }
}
