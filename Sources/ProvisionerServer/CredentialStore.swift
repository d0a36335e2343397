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

    /// A new credential value (256 random bits as hex); `issue` makes it the node's.
    static func makeValue() -> String { Secret.random(bytes: 32) }

    /// Makes `value` the credential of `hostname` at `ip`, checked at `now`
    /// (issued here, or found in the registry); the node's earlier one here
    /// stops working. A credential already known keeps its heartbeat count.
    func issue(_ value: String, hostname: Hostname, ip: IPv4Address, at now: Date) {
        state.withLock { s in
            if let old = s.valueOf[hostname], old != value { s.byValue[old] = nil }
            let sequence = s.byValue[value].map(\.credential.sequence) ?? -1
            s.byValue[value] = Entry(credential: NodeAgentRules.Credential(hostname: hostname, ip: ip, sequence: sequence), checkedAt: now)
            s.valueOf[hostname] = value
        }
    }

    /// The credential with this value as known here, and whether the registry must be asked again.
    func lookup(_ value: String, at now: Date) -> (credential: NodeAgentRules.Credential, recheck: Bool)? {
        state.withLock { s in
            s.byValue[value].map { ($0.credential, now.timeIntervalSince($0.checkedAt) > Self.recheckSeconds) }
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
