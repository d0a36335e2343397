import Foundation
import ProvisionerCore
import ProvisionerStore

extension Site {
    /// A node's TPM binding (nil: not bound), by hostname or MAC.
    /// - Throws: `NotFoundError` for an unknown node.
    public func tpmBinding(_ key: String) throws -> (node: ProvisionerCore.Node, binding: TPMKeyRecord?) {
        let registry = try openRegistry()
        guard let node = try registry.node(key) else { throw NotFoundError("node", key) }
        return (node, try registry.tpmKey(hostname: node.hostname))
    }

    /// Binds the node to the key its last refused enrollment brought (the
    /// operator replaced its TPM, or cleared it): that key enrolls from now on.
    /// - Throws: `NotFoundError`; `ConflictError` when no other key waits.
    public func acceptTPMKey(_ key: String) throws -> TPMKeyRecord {
        let (node, binding) = try tpmBinding(key)
        guard let pending = binding?.pending else {
            throw ConflictError("\(node.hostname) has no other TPM key waiting (one comes with an enrollment refused for its key)")
        }
        let record = TPMKeyRecord(fingerprint: pending, pinnedAt: Timestamp.iso(Date()))
        try openRegistry().setTPMKey(hostname: node.hostname, record, action: "node.tpm.accept", now: record.pinnedAt)
        return record
    }

    /// Unbinds the node: its next enrollment that proves a key is bound to that key.
    /// - Throws: `NotFoundError`.
    public func clearTPMKey(_ key: String) throws -> ProvisionerCore.Node {
        let (node, _) = try tpmBinding(key)
        try openRegistry().setTPMKey(hostname: node.hostname, nil, action: "node.tpm.clear", now: Timestamp.iso(Date()))
        return node
    }
}
