import Foundation
import ProvisionerCore
import Synchronization

/// The heartbeat credentials serve knows, by their secret value: one per node
/// (a new enrollment replaces the node's old one). The registry keeps each
/// node's current one as a digest, so a restarted serve, or another boot
/// server sharing the registry, takes a node's heartbeats without a new
/// enrollment: a value not known here is looked up there, and one known here
/// is checked there again after `recheckSeconds` (another boot server may have
/// enrolled the node since, which makes this one worthless).
final class CredentialStore: Sendable {
    /// Seconds a credential is taken on this server's word before the registry is asked again.
    static let recheckSeconds: Double = 60

    private struct Entry {
        var credential: NodeAgentRules.Credential
        var checkedAt: Date
    }

    private struct Credentials {
        var byValue: [String: Entry] = [:]
        /// Each node's current credential value, so that replacing it is one look-up.
        var valueOf: [Hostname: String] = [:]
    }

    private let state = Mutex(Credentials())

    /// Makes `value` (issued here) the credential of `hostname` at `ip`,
    /// checked at `now`; the node's earlier one here stops working.
    func issue(_ value: String, hostname: Hostname, ip: IPv4Address, at now: Date) {
        _ = adopt(value, hostname: hostname, ip: ip, asked: .distantFuture, at: now)
    }

    /// The credential with this value as known here, and whether the registry must be asked again.
    func lookup(_ value: String, at now: Date) -> (credential: NodeAgentRules.Credential, recheck: Bool)? {
        state.withLock { s in
            s.byValue[value].map { ($0.credential, now.timeIntervalSince($0.checkedAt) > Self.recheckSeconds) }
        }
    }

    /// Takes `value`, found in the registry for `hostname` by a look-up that
    /// began at `asked`, unless this server issued the node a newer one
    /// meanwhile (checked after `asked`); the node's earlier one here stops
    /// working, and a credential already known keeps its heartbeat count.
    /// Returns whether it was taken.
    func adopt(_ value: String, hostname: Hostname, ip: IPv4Address, asked: Date, at now: Date) -> Bool {
        state.withLock { s in
            if let current = s.valueOf[hostname], current != value, let entry = s.byValue[current], entry.checkedAt >= asked { return false }
            if let old = s.valueOf[hostname], old != value { s.byValue[old] = nil }
            let sequence = s.byValue[value].map(\.credential.sequence) ?? -1
            s.byValue[value] = Entry(credential: NodeAgentRules.Credential(hostname: hostname, ip: ip, sequence: sequence), checkedAt: now)
            s.valueOf[hostname] = value
            return true
        }
    }

    /// Forgets a credential the registry no longer has.
    func forget(_ value: String) {
        state.withLock { s in
            guard let entry = s.byValue.removeValue(forKey: value) else { return }
            if s.valueOf[entry.credential.hostname] == value { s.valueOf[entry.credential.hostname] = nil }
        }
    }

    /// Takes heartbeat `sequence` on the credential when it is fresh
    /// (`NodeAgentRules.isFresh`); false for a replay or one out of order.
    func advance(_ value: String, to sequence: Int) -> Bool {
        state.withLock { s in
            guard let c = s.byValue[value], NodeAgentRules.isFresh(sequence, after: c.credential.sequence) else { return false }
            s.byValue[value]?.credential.sequence = sequence
            return true
        }
    }
}
