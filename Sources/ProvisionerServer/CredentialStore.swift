import ProvisionerCore
import Synchronization

/// The heartbeat credentials serve handed out since it started, by their
/// secret value: one per node (a new enrollment replaces the node's old one).
final class CredentialStore: Sendable {
    private let byValue = Mutex<[String: NodeAgentRules.Credential]>([:])

    /// A new credential for `hostname` at `ip`; the node's earlier one stops working.
    func issue(hostname: Hostname, ip: IPv4Address) -> String {
        let value = randomHex(32)
        byValue.withLock { creds in
            creds = creds.filter { $0.value.hostname != hostname }
            creds[value] = NodeAgentRules.Credential(hostname: hostname, ip: ip)
        }
        return value
    }

    /// The credential with this value, if serve gave it and it still holds.
    func lookup(_ value: String) -> NodeAgentRules.Credential? { byValue.withLock { $0[value] } }

    /// Takes heartbeat `sequence` on the credential when it is fresh
    /// (`NodeAgentRules.isFresh`); false for a replay or one out of order.
    func advance(_ value: String, to sequence: Int) -> Bool {
        byValue.withLock { creds in
            guard let c = creds[value], NodeAgentRules.isFresh(sequence, after: c.sequence) else { return false }
            creds[value]?.sequence = sequence
            return true
        }
    }
}
