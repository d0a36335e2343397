import ProvisionerCore
import Synchronization

/// The heartbeat credentials serve handed out since it started, by their
/// secret value: one per node (a new enrollment replaces the node's old one).
final class CredentialStore: Sendable {
    private struct Credentials {
        var byValue: [String: NodeAgentRules.Credential] = [:]
        /// Each node's current credential value, so that replacing it is one look-up.
        var valueOf: [Hostname: String] = [:]
    }

    private let state = Mutex(Credentials())

    /// A new credential for `hostname` at `ip`; the node's earlier one stops working.
    func issue(hostname: Hostname, ip: IPv4Address) -> String {
        let value = randomHex(32)
        state.withLock { s in
            if let old = s.valueOf[hostname] { s.byValue[old] = nil }
            s.byValue[value] = NodeAgentRules.Credential(hostname: hostname, ip: ip)
            s.valueOf[hostname] = value
        }
        return value
    }

    /// The credential with this value, if serve gave it and it still holds.
    func lookup(_ value: String) -> NodeAgentRules.Credential? { state.withLock { $0.byValue[value] } }

    /// Takes heartbeat `sequence` on the credential when it is fresh
    /// (`NodeAgentRules.isFresh`); false for a replay or one out of order.
    func advance(_ value: String, to sequence: Int) -> Bool {
        state.withLock { s in
            guard let c = s.byValue[value], NodeAgentRules.isFresh(sequence, after: c.sequence) else { return false }
            s.byValue[value]?.sequence = sequence
            return true
        }
    }
}
