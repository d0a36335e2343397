import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore

/// What `instance run` asks for.
public struct InstanceRequest: Sendable {
    /// A VM type name (`VMType.defaults`).
    public var type: String
    /// Place it on this node only.
    public var node: String?
    /// Direct kernel boot (paths on the node; default: the image's own kernel and initrd), or a disk image.
    public var kernel: String?, initrd: String?, cmdline: String?, disk: String?

    public init(type: String, node: String? = nil, kernel: String? = nil, initrd: String? = nil, cmdline: String? = nil, disk: String? = nil) {
        self.type = type
        self.node = node
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
        self.disk = disk
    }
}

extension Site {
    /// Places a new VM instance on a node with room (greedy first fit, in one
    /// registry transaction); its node starts it at its next heartbeat.
    /// - Parameter id: the new instance's id (`i-` and 8 hex digits; the caller brings the randomness).
    /// - Throws: `ValidationError` for an unknown type or a bad path, `ConflictError` when no node has room, `NotFoundError` for an unknown node.
    public func runInstance(_ request: InstanceRequest, id: String, now: String) throws -> InstanceRecord {
        guard let type = VMType.defaults.first(where: { $0.name == request.type }) else {
            throw ValidationError(field: "VM type", value: request.type, reason: "expected one of \(VMType.defaults.map(\.name).joined(separator: ", "))")
        }
        if request.disk != nil && (request.kernel != nil || request.initrd != nil) {
            throw ValidationError(field: "disk", value: request.disk ?? "", reason: "give a disk or a kernel/initrd, not both")
        }
        for (field, value) in [("kernel", request.kernel), ("initrd", request.initrd), ("disk", request.disk)] {
            if let value, !value.hasPrefix("/") || value.contains("\n") {
                throw ValidationError(field: field, value: value, reason: "must be an absolute path on the node")
            }
        }
        let spec = request.disk != nil
            ? InstanceSpec(id: id, vcpus: type.cpus, memoryMiB: type.memoryMiB, disk: request.disk)
            : InstanceSpec(id: id, vcpus: type.cpus, memoryMiB: type.memoryMiB, kernel: request.kernel ?? "/vmlinuz",
                           initrd: request.initrd ?? "/initrd.img", cmdline: request.cmdline ?? "console=ttyS0")
        return try openRegistry().runInstance(id: id, type: type, spec: spec, only: request.node, now: now)
    }
}
